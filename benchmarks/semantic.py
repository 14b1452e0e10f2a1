"""Search by meaning: encoding speed, and semantic/hybrid query latency at 10 k and 100 k passages.

    python benchmarks/semantic.py [--sizes 10000,100000] [--encode 128]

1. Encoding: the same shared-corpus passages through study_hub's Embedder and through the bare
   SentenceTransformer.encode (same batch size), in the same run, plus variants (batch size, maximum
   sequence length) to see what helps on this CPU.
2. Queries: for each size a generation is built the way `study-hub index build` lays it out: the whoosh
   index of the shared corpus replicated with new ids, and synthetic unit vectors (random, normalised; the
   search cost does not depend on their values) for every passage and every sentence window. 60 queries
   from the development set run through SearchService in semantic and hybrid mode, query embedding included.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from study_hub.config import Settings
from study_hub.embedding.encoder import Embedder
from study_hub.index import keyword_engines as keyword
from study_hub.index.builder import analyzer_manifest
from study_hub.index.generations import new_generation
from study_hub.index.semantic import passage_windows, write_vectors
from study_hub.pipeline import ingest_paths
from study_hub.search.service import SearchRequest, SearchService
from study_hub.store import open_store

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def percentiles(values):
    values = sorted(values)
    return values[len(values) // 2], values[min(len(values) - 1, int(len(values) * 0.95))]


def encoding(embedder: Embedder, texts: list[str]) -> None:
    model = embedder.model
    print(f"\nencoding {len(texts)} passages (mean {np.mean([len(t) for t in texts]):.0f} characters), "
          f"device {embedder.device}, {os.cpu_count()} threads")
    rows = []

    def timed(label, run):
        started = time.perf_counter()
        run()
        seconds = time.perf_counter() - started
        rows.append((label, len(texts) / seconds))
        print(f"  {label:<48} {len(texts) / seconds:6.1f} passages/s")

    timed("bare SentenceTransformer.encode, batch 32", lambda: model.encode(
        texts, prompt="passage: ", batch_size=32, normalize_embeddings=True))
    timed("study_hub Embedder.encode_passages", lambda: embedder.encode_passages(texts))
    for batch in (8, 64):
        timed(f"bare encode, batch {batch}", lambda b=batch: model.encode(
            texts, prompt="passage: ", batch_size=b, normalize_embeddings=True))
    original = model.max_seq_length
    model.max_seq_length = 256
    timed("bare encode, batch 32, max_seq_length 256", lambda: model.encode(
        texts, prompt="passage: ", batch_size=32, normalize_embeddings=True))
    model.max_seq_length = original
    print(f"  overhead of study_hub over the bare model: {rows[0][1] / rows[1][1]:.2f}x")


def build_generation(root: Path, records, embedder: Embedder) -> None:
    with new_generation(root) as build:
        keyword.build_keyword(keyword.DEFAULT_ENGINE, build.folder, lambda: records,
                              {r.doc_id: r.title for r in records}, procs=2)
        # One row per passage, then one per sentence window of the long ones, as build_vectors lays them out.
        window_of = [row for row, r in enumerate(records) for _ in passage_windows(r.text)]
        rng = np.random.default_rng(7)
        vectors = rng.standard_normal((len(records) + len(window_of), embedder.dimension)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        write_vectors(build.folder, records, window_of, vectors)
        build.publish({**analyzer_manifest(), "counts": {"passages": len(records)}, "documents": {},
                       "semantic": {**embedder.info, "fingerprint": embedder.fingerprint}})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--encode", type=int, default=128, help="passages to encode in the encoding test")
    args = parser.parse_args()
    settings = Settings()
    embedder = Embedder(settings.embedding_model, settings.models_dir)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"model {embedder.info['model']}")

    with tempfile.TemporaryDirectory() as home:
        local = Settings(home=Path(home))
        store = open_store(local)
        ingest_paths([SHARED / "corpus" / "docs"], store, local)
        base = list(store.iter_index_records())
        rng = np.random.default_rng(3)
        sample = [base[i].text for i in rng.choice(len(base), size=args.encode, replace=False)]
        encoding(embedder, sample)

        queries = [json.loads(line)["query"] for name in ("dev.jsonl", "dev2.jsonl") for line in
                   (SHARED / "eval" / "policy" / name).read_text(encoding="utf-8").splitlines() if line.strip()]
        queries = [q for q in queries if not q.startswith('"')] * 2
        for size in (int(s) for s in args.sizes.split(",")):
            records = [base[i % len(base)] if i < len(base) else dataclasses.replace(
                base[i % len(base)], passage_id=f"{base[i % len(base)].passage_id}~{i // len(base)}",
                doc_id=f"{base[i % len(base)].doc_id}~{i // len(base)}") for i in range(size)]
            root = Path(home) / f"indexes-{size}"
            started = time.perf_counter()
            build_generation(root, records, embedder)
            service = SearchService(store, root, encoder=embedder)
            # The fixed-weight fusion the fitted ranking replaced, measured in the same run for the ratio.
            fixed = SearchService(store, root, encoder=embedder, fitted_ranking=False)
            print(f"\n== {size:,} passages (generation built in {time.perf_counter() - started:.0f} s) ==")
            measured = {}
            for label, mode, runner in (("semantic", "semantic", service), ("hybrid", "hybrid", service),
                                        ("hybrid, fixed RRF (before)", "hybrid", fixed)):
                runner.search(SearchRequest(queries[0], mode=mode))
                times = []
                for query in queries:
                    t0 = time.perf_counter()
                    runner.search(SearchRequest(query, mode=mode, limit=10))
                    times.append((time.perf_counter() - t0) * 1000)
                measured[label] = p50, p95 = percentiles(times)
                print(f"  {label:<27} {len(times)} queries: p50 {p50:.0f} ms, p95 {p95:.0f} ms (query embedding, "
                      f"search, fusion or ranking, hydration, facets)")
            ratio = [now / before for now, before in zip(measured["hybrid"], measured["hybrid, fixed RRF (before)"],
                                                           strict=True)]
            print(f"  fitted ranking / fixed RRF: p50 x{ratio[0]:.2f}, p95 x{ratio[1]:.2f}")
            t0 = time.perf_counter()
            for query in queries:
                embedder.encode_queries([query])
            print(f"  of which query embedding alone: {(time.perf_counter() - t0) * 1000 / len(queries):.0f} ms")
            product_timings(service, embedder.encode_queries(queries[:20]))


def product_timings(service: SearchService, vectors: np.ndarray) -> None:
    """The product over every vector row as stored (float16, torch; with each passage's best window) and as
    float32 with numpy (before this change; the product alone)."""
    index = service.generation().semantic
    as_float32 = np.asarray(index.vectors, dtype=np.float32)
    for label, product in (("float16 (stored), torch", index.scores),
                           ("float32, numpy", lambda v: as_float32 @ v)):
        started = time.perf_counter()
        for vector in vectors:
            product(vector)
        print(f"  product over {len(as_float32):,} rows, {label}: "
              f"{(time.perf_counter() - started) * 1000 / len(vectors):.1f} ms")


if __name__ == "__main__":
    main()
