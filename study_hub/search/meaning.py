"""The query side of search by meaning: the embedding model (perhaps still loading), query vectors, readiness.

``QueryEmbedder`` wraps the injected encoder source: an ``Embedder``, an ``EncoderLoader`` (the model loads in
the background while keyword search already answers), or None for keyword search only. ``state`` says whether
meaning can rank a generation now, and if not why (``MeaningState``). Query vectors are cached by text: the
model is fixed for the process, so they outlive generations.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from study_hub.search.cache import Lru
from study_hub.search.synonyms import Synonyms
from study_hub.segment.tokens import Analyzer

if TYPE_CHECKING:
    from study_hub.search.served import Generation


@dataclass(frozen=True)
class MeaningState:
    """Whether search by meaning can answer now, and if not, why (the pages and the API say so)."""

    ready: bool
    reason: str | None = None  # off | loading_model | model_failed | no_vectors | other_model
    coverage: tuple[int, int] = (0, 0)  # (passages with a vector, passages) in the generation served

    @property
    def complete(self) -> bool:
        return self.ready and self.coverage[0] >= self.coverage[1]


class QueryEmbedder:
    """The encoder source, query vectors (cached) and the threads that embed them."""

    def __init__(self, source, analyzer: Analyzer, synonyms: Synonyms, cache_size: int):
        self.source = source
        self.analyzer = analyzer
        self.synonyms = synonyms
        # The next page, another filter or mode of the same words is a new answer but the same 15–40 ms of CPU
        # to embed.
        self._vectors = Lru(cache_size)
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="query-embedding")

    @property
    def encoder(self):
        """The embedding model when it is loaded (None while an ``EncoderLoader`` is still loading it)."""
        source = self.source
        return source.get() if hasattr(source, "get") else source

    def state(self, generation: Generation) -> MeaningState:
        source = self.source
        if source is None:
            return MeaningState(False, "off", generation.coverage)
        encoder = self.encoder
        if encoder is None:
            failed = getattr(source, "failed", False)
            return MeaningState(False, "model_failed" if failed else "loading_model", generation.coverage)
        if generation.semantic is None:
            return MeaningState(False, "no_vectors", generation.coverage)
        if generation.fingerprint != encoder.fingerprint:
            return MeaningState(False, "other_model", generation.coverage)
        return MeaningState(True, None, generation.coverage)

    def vector(self, text: str, english: bool = False):
        """The embedding of a query: a Chinese one with the official words for its everyday ones appended.

        The model matches 做过义工 with 志愿服务 poorly; "做过义工…（志愿者、志愿服务）" it matches (the same
        lexicon the keyword side expands with, ``synonyms``). On the development questions this moved the answer
        into the top 10 by meaning for 2 more of 29 paraphrased questions (benchmarks/eval_retrieval.py).
        """
        if not english:
            text = self.synonyms.annotate(text, self.analyzer)
        vector = self._vectors.get(text)
        if vector is None:
            vector = self.encoder.encode_queries([text])[0]
            self._vectors.put(text, vector)
        return vector

    def submit(self, text: str, english: bool = False) -> Future:
        """``vector`` on the embedding threads: the query embeds (torch, without the GIL) while the keyword side
        is worked out (numpy)."""
        return self._pool.submit(self.vector, text, english)
