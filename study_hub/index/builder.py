"""Build and update index generations from the store (the store stays the truth).

``build_indexes`` writes a whole new generation. ``update_indexes`` compares the store's document
fingerprints with the current generation's manifest and re-indexes only the documents that were added,
changed or removed, in a copy of the current generation; it falls back to a full build when there is no
generation yet, the analyzer (or its dictionary) changed since it was built, or the generation's indexes lack a
field filters need now (its ``index_format`` is older than ``keyword.INDEX_FORMAT``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from study_hub.domain import IndexRecord
from study_hub.errors import StudyHubError
from study_hub.index import keyword_engines as keyword
from study_hub.index.generations import current_generation, new_generation, read_manifest
from study_hub.index.keyword import INDEX_FORMAT
from study_hub.index.semantic import EMBEDDED_TEXT_VERSION
from study_hub.segment.tokens import Analyzer, default_analyzer
from study_hub.store import DocumentStore

Progress = Callable[[int, int], None]  # (passages done, passages in all)


class PassageEncoder(Protocol):
    """What the builder needs of an embedding model (``study_hub.embedding.encoder.Embedder``)."""

    info: dict[str, Any]
    fingerprint: str
    dimension: int
    chunk_size: int  # texts per encode call; the vector cache is saved after each

    def encode_passages(self, texts: list[str]) -> Any: ...
PARALLEL_FROM = 4000  # passages; below this a second process costs more than it gives


class IndexMismatchError(StudyHubError):
    pass


@dataclass
class BuildReport:
    generation: str
    mode: str  # full, incremental, unchanged
    documents: int
    passages: int
    changed_documents: int
    seconds: float


def _counting(records: Iterable[IndexRecord], total: int, progress: Progress | None) -> Iterator[IndexRecord]:
    for done, record in enumerate(records, 1):
        yield record
        if progress and (done % 500 == 0 or done == total):
            progress(done, total)


def analyzer_manifest(engine: str = keyword.DEFAULT_ENGINE, analyzer: Analyzer | None = None) -> dict[str, Any]:
    analyzer = analyzer or default_analyzer()
    return {
        "analyzer_version": analyzer.version,
        "dictionary": {"entries": analyzer.dictionary.entries, "sha256": analyzer.dictionary.sha256},
        "keyword_engine": keyword.engine_label(engine),
        "index_format": INDEX_FORMAT,
    }


def check_compatible(manifest: dict[str, Any], analyzer: Analyzer | None = None) -> None:
    """Refuse an index built by another analyzer than ``analyzer`` (default: the shipped one): its tokens would
    not match the queries."""
    expected = (analyzer or default_analyzer()).version
    if manifest.get("analyzer_version") != expected:
        raise IndexMismatchError(
            f"the index {manifest.get('generation')} was built with analyzer {manifest.get('analyzer_version')}, "
            f"but the analyzer in use is {expected}, whose tokens would not match it: run `study-hub index build` "
            "to rebuild it with this one"
        )


def check_semantic_compatible(manifest: dict[str, Any], encoder: PassageEncoder) -> None:
    """Refuse vectors made by another model: query and passage vectors would not be comparable."""
    built = manifest.get("semantic")
    if not built:
        raise IndexMismatchError(f"the index {manifest.get('generation')} has no embedding vectors: run "
                                 "`study-hub index build` with STUDY_HUB_SEMANTIC=true to add them")
    if built.get("fingerprint") != encoder.fingerprint:
        raise IndexMismatchError(
            f"the index {manifest.get('generation')} holds vectors of {built.get('model')} "
            f"(converter {built.get('converter_version')}, source {str(built.get('source_sha256'))[:12]}), "
            f"but the configured model is {encoder.info.get('model')}: run `study-hub index build` to re-encode"
        )


def _semantic(folder: Path, store: DocumentStore, encoder: PassageEncoder | None, cache_dir: Path | None,
              progress: Progress | None, previous: dict[str, Any] | None = None,
              deadline: float | None = None) -> dict[str, Any] | None:
    """Vectors for the store's passages (cached by text), or None when there are none to give.

    With an ``encoder`` every passage gets its vector. Without one (a web process, ``--no-wait``) the vectors
    of the ``previous`` generation's model that the cache holds are carried forward, and the passages still
    lacking one are recorded as pending (``semantic["pending"]``) for the job worker to encode.
    """
    from study_hub.index.approximate import FILE as APPROXIMATE
    from study_hub.index.approximate import TRAINED
    from study_hub.index.semantic import PENDING, ROWS, VECTORS, VectorCache, build_vectors

    if encoder is not None:
        info = {**encoder.info, "fingerprint": encoder.fingerprint}
    elif previous and previous.get("fingerprint") and previous.get("embedded_text") == EMBEDDED_TEXT_VERSION:
        info = {k: v for k, v in previous.items() if k not in ("passages", "windows", "encoded", "reused", "pending")}
    else:
        info = None
    if info is None or cache_dir is None:  # no model and nothing to carry: no vectors in this generation
        for name in (VECTORS, ROWS, PENDING, APPROXIMATE, TRAINED):
            (folder / name).unlink(missing_ok=True)
        return None
    cache = VectorCache(cache_dir, info["fingerprint"], int(info["dimension"]))
    try:
        counts = build_vectors(folder, list(store.iter_index_records()),
                               encoder.encode_passages if encoder is not None else None, cache, progress,
                               chunk=encoder.chunk_size if encoder is not None else 256, deadline=deadline)
    finally:
        cache.close()
    return {**info, "embedded_text": EMBEDDED_TEXT_VERSION, **counts}


def vector_coverage(manifest: dict[str, Any]) -> tuple[int, int]:
    """(passages with a vector, passages) in a generation: search by meaning is complete when they are equal."""
    passages = int((manifest.get("counts") or {}).get("passages") or 0)
    semantic = manifest.get("semantic") or {}
    return max(0, passages - int(semantic.get("pending", 0))) if semantic else 0, passages


def build_indexes(store: DocumentStore, root: Path, progress: Progress | None = None,
                  procs: int | None = None, encoder: PassageEncoder | None = None, cache_dir: Path | None = None,
                  embed_progress: Progress | None = None, engine: str = keyword.DEFAULT_ENGINE,
                  analyzer: Analyzer | None = None) -> BuildReport:
    """A whole new generation of the store's passages, tokenised by ``analyzer`` (default: the shipped one;
    search it with the same)."""
    started = time.perf_counter()
    analyzer = analyzer or default_analyzer()
    fingerprints = store.document_fingerprints()
    total = store.counts()[1]
    if procs is None:
        procs = min(2, os.cpu_count() or 1) if total >= PARALLEL_FROM else 1
    current = current_generation(root)
    previous = (read_manifest(current).get("semantic") if current is not None else None)
    with new_generation(root) as build:
        count = keyword.build_keyword(engine, build.folder,
                                      lambda: _counting(store.iter_index_records(), total, progress),
                                      store.document_titles(), procs=procs, analyzer=analyzer)
        semantic = _semantic(build.folder, store, encoder, cache_dir, embed_progress, previous)
        build.publish(_manifest(store, fingerprints, count, semantic, engine, analyzer))
    return BuildReport(build.name, "full", len(fingerprints), count, len(fingerprints),
                       time.perf_counter() - started)


def _manifest(store: DocumentStore, fingerprints: dict[str, str], passages: int,
              semantic: dict[str, Any] | None, engine: str, analyzer: Analyzer) -> dict[str, Any]:
    return {
        **analyzer_manifest(engine, analyzer),
        "corpus_fingerprint": store.corpus_fingerprint(fingerprints),
        "counts": {"documents": len(fingerprints), "passages": passages},
        "semantic": semantic,
        "documents": fingerprints,
    }


def update_indexes(store: DocumentStore, root: Path, progress: Progress | None = None,
                   encoder: PassageEncoder | None = None, cache_dir: Path | None = None,
                   embed_progress: Progress | None = None, embed_until: float | None = None,
                   engine: str = keyword.DEFAULT_ENGINE, analyzer: Analyzer | None = None) -> BuildReport:
    """``embed_until`` (``time.monotonic()``): encode until then and publish, the rest of the passages left
    pending for the next call (the job worker publishes every minute of a long encoding). A generation built
    by another keyword ``engine``, or another ``analyzer`` (default: the shipped one), than the one asked for
    is rebuilt whole."""
    started = time.perf_counter()
    analyzer = analyzer or default_analyzer()
    current = current_generation(root)
    rebuild = {"progress": progress, "encoder": encoder, "cache_dir": cache_dir, "embed_progress": embed_progress,
               "engine": engine, "analyzer": analyzer}
    if current is None:
        return build_indexes(store, root, **rebuild)
    manifest = read_manifest(current)
    try:
        check_compatible(manifest, analyzer)
    except IndexMismatchError:
        return build_indexes(store, root, **rebuild)
    if keyword.engine_of(manifest) != engine or int(manifest.get("index_format") or 1) < INDEX_FORMAT:
        return build_indexes(store, root, **rebuild)
    built = manifest.get("semantic") or {}
    # With a model at hand: vectors of another model, or passages still waiting for theirs, are work to do.
    vectors_stale = encoder is not None and ((built.get("fingerprint"), built.get("embedded_text")) != (
        encoder.fingerprint, EMBEDDED_TEXT_VERSION) or built.get("pending", 0) > 0)

    fingerprints = store.document_fingerprints()
    indexed: dict[str, str] = manifest.get("documents", {})
    changed = {d for d, fp in fingerprints.items() if indexed.get(d) != fp}
    removed = set(indexed) - set(fingerprints)
    if not changed and not removed and not vectors_stale:
        return BuildReport(manifest["generation"], "unchanged", len(fingerprints),
                           manifest["counts"]["passages"], 0, time.perf_counter() - started)

    with new_generation(root, copy_from=current) as build:
        stale = sorted(changed | removed)
        records = list(store.iter_index_records(sorted(changed)))
        passages = keyword.update_keyword(engine, build.folder, stale, list(_counting(records, len(records), progress)),
                                          store.document_titles(), analyzer)
        semantic = _semantic(build.folder, store, encoder, cache_dir, embed_progress, built, embed_until)
        build.publish(_manifest(store, fingerprints, passages, semantic, engine, analyzer))
    return BuildReport(build.name, "incremental", len(fingerprints), passages, len(changed | removed),
                       time.perf_counter() - started)
