"""Citations between documents (法条联想) over a corpus: what was found, how it resolved, what it costs an ingest.

    python benchmarks/citations.py [CORPUS_FOLDER] [--repeat N] [--unresolved N]

Ingests the corpus (default ../shared/corpus/docs) into a fresh temporary SQLite home, then prints the references
found by kind and how they resolved, the most frequent unresolved ones (documents the library lacks), the most
cited documents, and the time citations add to an ingest: the same ingest with the citation step switched off,
alternating runs, best of N each, and a rebuild of every citation from the stored passages.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import select

import study_hub.store.citations as citations_module
from study_hub.config import Settings
from study_hub.pipeline import collect_files, ingest_paths
from study_hub.store import open_store
from study_hub.store.models import Citation, Document

REPO = Path(__file__).resolve().parents[1]


def _ingest_seconds(corpus: Path, with_citations: bool) -> float:
    real = citations_module.refresh
    if not with_citations:
        citations_module.refresh = lambda session, doc_id, passages: None
    try:
        with tempfile.TemporaryDirectory() as home:
            settings = Settings(home=Path(home))
            store = open_store(settings)
            started = time.perf_counter()
            report = ingest_paths([corpus], store, settings)
            seconds = time.perf_counter() - started
            store.engine.dispose()
        assert report.ok, report.failures
        return seconds
    finally:
        citations_module.refresh = real


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=REPO.parent / "shared" / "corpus" / "docs")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--unresolved", type=int, default=20, help="How many unresolved surfaces to list.")
    args = parser.parse_args()

    files = collect_files([args.corpus])
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    print(f"corpus: {args.corpus} — {len(files)} files")
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(home=Path(home))
        store = open_store(settings)
        report = ingest_paths([args.corpus], store, settings)
        assert report.ok, report.failures
        print(f"ingested: {report.documents} documents, {report.passages:,} passages, "
              f"{report.characters:,} characters")
        print()
        counts = store.citations.counts(unresolved_limit=args.unresolved)
        for line in counts.lines():
            print(line)

        with store.sessions() as session:
            pairs = session.execute(select(Citation.document_id, Citation.to_document_id)
                                    .where(Citation.to_document_id.is_not(None),
                                           Citation.to_document_id != Citation.document_id)).all()
            titles = dict(session.execute(select(Document.id, Document.title)).all())
        cited = Counter(to for _, to in set(pairs))
        print()
        print(f"documents citing another document of the library: {len({doc for doc, _ in pairs})}; "
              f"documents cited by another: {len(cited)}")
        print("most cited (by how many documents):")
        for doc_id, count in cited.most_common(8):
            print(f"{count:>5}  {titles[doc_id]} ({doc_id})")

        rebuilds = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            total = store.citations.rebuild()
            rebuilds.append(time.perf_counter() - started)
        assert total == counts.total
        store.engine.dispose()

    with_citations, without = [], []
    for _ in range(args.repeat):  # alternating, so a busy machine weighs on both alike
        without.append(_ingest_seconds(args.corpus, with_citations=False))
        with_citations.append(_ingest_seconds(args.corpus, with_citations=True))
    print()
    print(f"ingest of the corpus, best of {args.repeat}: {min(without):.2f} s without citations, "
          f"{min(with_citations):.2f} s with them (+{min(with_citations) - min(without):.2f} s); median "
          f"{statistics.median(without):.2f} s / {statistics.median(with_citations):.2f} s "
          f"(+{statistics.median(with_citations) - statistics.median(without):.2f} s)")
    print(f"  runs without: {', '.join(f'{s:.2f}' for s in without)}; with: "
          f"{', '.join(f'{s:.2f}' for s in with_citations)}")
    print(f"rebuild of every citation from the stored passages (find + resolve + write), best of {args.repeat}: "
          f"{min(rebuilds):.2f} s")


if __name__ == "__main__":
    main()
