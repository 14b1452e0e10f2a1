"""Approximate vector search libraries side by side on the same vectors and questions.

    python benchmarks/ann.py --corpus DIR [--questions 200]

DIR is a corpus made by ``benchmarks/scale_corpus.py`` (its ``vectors.npy``: passage and window rows,
float16, normalised). Questions: the 72 policy development questions embedded by the built-in model, plus
passage vectors with noise (one question in three), so both real questions and near-duplicate lookups count.
Truth: the exact top 100 rows by inner product. For each candidate: build seconds (2 cores), index bytes,
single-question latency p50/p95 (one thread, as a web worker's request runs), recall@100 of the rows it
returns (what the search re-scores exactly; 300 asked, the exact best 100 of them kept, as study_hub does).

Candidates: faiss IVF with 8-bit codes (``IndexIVFScalarQuantizer``) at several ``nprobe``; faiss HNSW with
8-bit codes (``IndexHNSWSQ``); usearch HNSW (float16 and int8). hnswlib is not a candidate: it has no wheel
for this Python (only a source package needing a compiler at install).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from study_hub.index import approximate

EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval" / "policy"
ASKED, KEPT = 300, 100


def questions(matrix: np.ndarray, count: int) -> np.ndarray:
    from study_hub.config import Settings
    from study_hub.embedding.encoder import load_embedder

    texts = [json.loads(line)["query"] for name in ("dev.jsonl", "dev2.jsonl")
             for line in (EVAL / name).read_text(encoding="utf-8").splitlines() if line.strip()]
    encoder = load_embedder(Settings(), for_queries=True)
    real = np.asarray(encoder.encode_queries(texts), dtype=np.float32)
    chance = np.random.default_rng(3)
    rows = chance.choice(len(matrix), size=max(0, count - len(real)), replace=False)
    near = matrix[np.sort(rows)].astype(np.float32) + chance.normal(0, 0.03, (len(rows), matrix.shape[1]))
    near /= np.linalg.norm(near, axis=1, keepdims=True)
    return np.concatenate([real, near]).astype(np.float32)


def truth(matrix: np.ndarray, queries: np.ndarray) -> list[set[int]]:
    import torch

    tensor = torch.from_numpy(np.ascontiguousarray(matrix))
    found = []
    for query in queries:
        scores = torch.mv(tensor, torch.from_numpy(query.astype(np.float16))).float().numpy()
        found.append(set(np.argpartition(-scores, KEPT)[:KEPT].tolist()))
    return found


def measure(name: str, search, matrix, queries, expected, build_s: float, size: int) -> dict:
    latencies, recalls = [], []
    for query, wanted in zip(queries, expected, strict=True):
        started = time.perf_counter()
        rows = search(query)
        latencies.append((time.perf_counter() - started) * 1000)
        rows = rows[rows >= 0]
        exact = matrix[np.sort(rows)].astype(np.float32) @ query
        best = np.sort(rows)[np.argsort(-exact)[:KEPT]]
        recalls.append(len(wanted & set(best.tolist())) / KEPT)
    latencies.sort()
    row = {"candidate": name, "build_s": build_s, "index_mb": size / 1e6,
           "p50_ms": latencies[len(latencies) // 2], "p95_ms": latencies[int(len(latencies) * 0.95)],
           "recall": float(np.mean(recalls)), "recall_min": float(np.min(recalls))}
    print(f"| {name} | {build_s:.0f} | {row['index_mb']:.0f} | {row['p50_ms']:.2f} | {row['p95_ms']:.2f} | "
          f"{row['recall']:.3f} | {row['recall_min']:.2f} |", flush=True)
    return row


def main() -> None:
    import faiss

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--skip-hnsw", action="store_true", help="only faiss IVF (HNSW builds take long)")
    args = parser.parse_args()
    matrix = np.load(args.corpus / "vectors.npy", mmap_mode="r")
    matrix = np.ascontiguousarray(matrix)
    rows, dimension = matrix.shape
    queries = questions(matrix, args.questions)
    expected = truth(matrix, queries)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"faiss {faiss.__version__}; {rows:,} rows x {dimension} (float16), {len(queries)} questions")
    print("| candidate | build s | index MB | p50 ms | p95 ms | recall@100 | worst |")
    print("| --- | --- | --- | --- | --- | --- | --- |")

    folder = args.corpus / "ann-bench"
    folder.mkdir(exist_ok=True)
    started = time.perf_counter()
    approximate.build(folder, matrix)
    build_s = time.perf_counter() - started
    ivf = faiss.read_index(str(folder / approximate.FILE))
    size = (folder / approximate.FILE).stat().st_size
    faiss.omp_set_num_threads(1)
    for nprobe in (16, 32, 48, 64, 96):
        parameters = faiss.SearchParametersIVF(nprobe=nprobe)
        measure(f"faiss IVF{ivf.nlist},SQ8 nprobe {nprobe}",
                lambda q, p=parameters, i=ivf: i.search(q.reshape(1, -1), ASKED, params=p)[1][0],
                matrix, queries, expected, build_s, size)
    if args.skip_hnsw:
        return
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    started = time.perf_counter()
    hnsw = faiss.IndexHNSWSQ(dimension, faiss.ScalarQuantizer.QT_8bit, 32, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = 80
    hnsw.train(matrix[:100_000].astype(np.float32))
    for start in range(0, rows, 65_536):
        hnsw.add(matrix[start:start + 65_536].astype(np.float32))
    build_s = time.perf_counter() - started
    size = len(faiss.serialize_index(hnsw))
    faiss.omp_set_num_threads(1)
    for ef in (128, 256, 400):
        parameters = faiss.SearchParametersHNSW(efSearch=ef)
        measure(f"faiss HNSW32,SQ8 efSearch {ef}",
                lambda q, p=parameters, i=hnsw: i.search(q.reshape(1, -1), ASKED, params=p)[1][0],
                matrix, queries, expected, build_s, size)
    hnsw = None  # its memory, before usearch builds
    from usearch.index import Index

    for dtype in ("f16", "i8"):
        started = time.perf_counter()
        graph = Index(ndim=dimension, metric="ip", dtype=dtype, connectivity=16, expansion_add=128)
        graph.add(np.arange(rows), matrix, threads=os.cpu_count() or 1)
        build_s = time.perf_counter() - started
        for expansion in (128, 256, 400):
            graph.expansion_search = expansion
            measure(f"usearch HNSW16 {dtype} expansion {expansion}",
                    lambda q, i=graph: np.asarray(i.search(q, ASKED, threads=1).keys, dtype=np.int64),
                    matrix, queries, expected, build_s, graph.memory_usage)


if __name__ == "__main__":
    main()
