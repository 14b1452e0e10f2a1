"""Ingest throughput: the full ../shared/corpus into a fresh SQLite store (no embeddings, no indexes).

    python benchmarks/ingest.py [CORPUS_FOLDER] [--repeat N]

Prints documents/s, passages/s and MB/s per run and the best run, with the machine and corpus size.
Each run starts from an empty home folder, so it measures a first ingest (read, detect encoding,
parse metadata, segment, write to SQLite in one transaction per document). A second, no-op run over the
same files measures the idempotent re-ingest.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

from study_hub.config import Settings
from study_hub.pipeline import collect_files, ingest_paths
from study_hub.store import open_store

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=REPO.parent / "shared" / "corpus" / "docs")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    files = collect_files([args.corpus])
    size = sum(f.stat().st_size for f in files)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    print(f"corpus: {args.corpus} — {len(files)} files, {size / 1e6:.2f} MB")
    print(f"{'run':>6} {'docs':>5} {'passages':>8} {'chars':>10} {'seconds':>8} {'docs/s':>7} {'passages/s':>10} "
          f"{'MB/s':>6}")
    best = None
    for run in range(1, args.repeat + 1):
        with tempfile.TemporaryDirectory() as home:
            settings = Settings(home=Path(home))
            store = open_store(settings)
            started = time.perf_counter()
            report = ingest_paths([args.corpus], store, settings)
            seconds = time.perf_counter() - started
            again = time.perf_counter()
            repeat = ingest_paths([args.corpus], store, settings)
            noop_seconds = time.perf_counter() - again
            store.engine.dispose()
        assert report.ok and repeat.outcomes["unchanged"] == report.documents, (report.failures, repeat.outcomes)
        print(f"{run:>6} {report.documents:>5} {report.passages:>8} {report.characters:>10,} {seconds:>8.2f} "
              f"{report.documents / seconds:>7.1f} {report.passages / seconds:>10.0f} "
              f"{report.bytes_read / 1e6 / seconds:>6.2f}   (re-ingest, all unchanged: {noop_seconds:.2f} s)")
        best = seconds if best is None else min(best, seconds)
    print(f"best: {best:.2f} s for {report.characters:,} characters (target: under 10 s)")


if __name__ == "__main__":
    main()
