"""What every embedding runtime shares: queries and passages encoded with their prompts, passages in chunks.

sentence-transformers (``encoder.Embedder``) and ONNX Runtime (``onnx_runtime.OnnxEmbedder``) each give the
one method that differs, ``_encode``; neither imports the other.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np


def encode_in_chunks(encode: Callable[[Sequence[str]], np.ndarray], texts: Sequence[str], dimension: int,
                     step: int, progress: Callable[[int], None] | None = None) -> np.ndarray:
    """``encode`` over ``texts`` ``step`` at a time, reporting the number done after each chunk."""
    out = np.zeros((len(texts), dimension), dtype=np.float32)
    for start in range(0, len(texts), step):
        out[start:start + step] = encode(texts[start:start + step])
        if progress:
            progress(min(start + step, len(texts)))
    return out


class PromptedEncoder:
    """Queries and passages encoded with their prompts ("query: ", "passage: "), passages a chunk at a time;
    a runtime gives ``_encode(texts, prompt)``, ``dimension``, ``chunk_size`` and the two prompts."""

    query_prompt: str
    passage_prompt: str
    dimension: int
    chunk_size: int

    def _encode(self, texts: Sequence[str], prompt: str) -> np.ndarray:
        raise NotImplementedError

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self.query_prompt)

    def encode_passages(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Passage vectors, in chunks; ``progress(n)`` is called with the number encoded so far."""
        return encode_in_chunks(lambda part: self._encode(part, self.passage_prompt), texts, self.dimension,
                                self.chunk_size, progress)
