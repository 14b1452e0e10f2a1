"""Build and update index generations from the store (the store stays the truth).

``build_indexes`` writes a whole new generation. ``update_indexes`` compares the store's document
fingerprints with the current generation's manifest and re-indexes only the documents that were added,
changed or removed, in a copy of the current generation; it falls back to a full build when there is no
generation yet or the analyzer (or its dictionary) changed since it was built.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

from study_hub.domain import IndexRecord
from study_hub.errors import StudyHubError
from study_hub.index import keyword
from study_hub.index.exact import ExactIndex
from study_hub.index.generations import current_generation, new_generation, read_manifest
from study_hub.segment.tokens import default_analyzer
from study_hub.store import DocumentStore

Progress = Callable[[int, int], None]  # (passages done, passages in all)
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


def analyzer_manifest() -> dict[str, Any]:
    analyzer = default_analyzer()
    return {
        "analyzer_version": analyzer.version,
        "dictionary": {"entries": analyzer.dictionary.entries, "sha256": analyzer.dictionary.sha256},
        "keyword_engine": f"whoosh-reloaded {version('whoosh-reloaded')}",
    }


def check_compatible(manifest: dict[str, Any]) -> None:
    """Refuse an index built by another analyzer: its tokens would not match this version's queries."""
    expected = default_analyzer().version
    if manifest.get("analyzer_version") != expected:
        raise IndexMismatchError(
            f"the index {manifest.get('generation')} was built with analyzer {manifest.get('analyzer_version')}, "
            f"this version uses {expected}: run `study-hub index build` to rebuild it"
        )


def build_indexes(store: DocumentStore, root: Path, progress: Progress | None = None,
                  procs: int | None = None) -> BuildReport:
    started = time.perf_counter()
    fingerprints = store.document_fingerprints()
    total = store.counts()[1]
    if procs is None:
        procs = min(2, os.cpu_count() or 1) if total >= PARALLEL_FROM else 1
    with new_generation(root) as build:
        count = keyword.build_whoosh(build.folder, _counting(store.iter_index_records(), total, progress),
                                     procs=procs)
        keyword.write_titles(build.folder, store.document_titles())
        exact = ExactIndex(build.folder, writable=True)
        exact.add(store.iter_index_records())
        exact.optimize()
        exact.close()
        build.publish(_manifest(store, fingerprints, count))
    return BuildReport(build.name, "full", len(fingerprints), count, len(fingerprints),
                       time.perf_counter() - started)


def _manifest(store: DocumentStore, fingerprints: dict[str, str], passages: int) -> dict[str, Any]:
    return {
        **analyzer_manifest(),
        "corpus_fingerprint": store.corpus_fingerprint(fingerprints),
        "counts": {"documents": len(fingerprints), "passages": passages},
        "documents": fingerprints,
    }


def update_indexes(store: DocumentStore, root: Path, progress: Progress | None = None) -> BuildReport:
    started = time.perf_counter()
    current = current_generation(root)
    if current is None:
        return build_indexes(store, root, progress)
    manifest = read_manifest(current)
    try:
        check_compatible(manifest)
    except IndexMismatchError:
        return build_indexes(store, root, progress)

    fingerprints = store.document_fingerprints()
    indexed: dict[str, str] = manifest.get("documents", {})
    changed = {d for d, fp in fingerprints.items() if indexed.get(d) != fp}
    removed = set(indexed) - set(fingerprints)
    if not changed and not removed:
        return BuildReport(manifest["generation"], "unchanged", len(fingerprints),
                           manifest["counts"]["passages"], 0, time.perf_counter() - started)

    with new_generation(root, copy_from=current) as build:
        stale = sorted(changed | removed)
        records = list(store.iter_index_records(sorted(changed)))
        keyword.update_whoosh(build.folder, stale, _counting(records, len(records), progress))
        keyword.write_titles(build.folder, store.document_titles())
        exact = ExactIndex(build.folder, writable=True)
        exact.delete_documents(stale)
        exact.add(records)
        passages = exact.count()
        exact.close()
        build.publish(_manifest(store, fingerprints, passages))
    return BuildReport(build.name, "incremental", len(fingerprints), passages, len(changed | removed),
                       time.perf_counter() - started)
