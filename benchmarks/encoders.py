"""The built-in embedding model on each runtime, side by side in one run: torch (sentence-transformers),
ONNX Runtime float32, ONNX Runtime int8.

    python benchmarks/encoders.py [--passages 800] [--queries 100] [--retrieval] [--home DIR]

Speed: passages/s encoding a sample of the shared corpus's passages (every k-th, as the index builder
embeds them: title and heading line, then the text), and query embedding ms (one question at a time, as a
search does; p50 and p95). Agreement: cosine of each runtime's vectors to torch float32's on that sample.
With --retrieval: R@10 and MRR@10 on the policy development set (dev + dev2; semantic, and hybrid with the
shipped ranking model) and the CMRC 2018 trial set, each runtime indexing its own copy of each set, so
no vector is shared between runtimes (the first run encodes each set once per runtime: ~25 minutes on 2 cores
for torch and int8).
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import evalkit as kit
import numpy as np

from study_hub.config import Settings
from study_hub.embedding.encoder import Embedder, onnx_embedder
from study_hub.index.semantic import embedded_text
from study_hub.pipeline import ingest_paths
from study_hub.store import open_store

RUNTIMES = ("torch", "onnx-float32", "onnx-int8")


def load(runtime: str, models_dir: Path):
    if runtime == "torch":
        return Embedder("builtin", models_dir)
    return onnx_embedder(models_dir, runtime.split("-", 1)[1])


def sample_texts(count: int) -> list[str]:
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(home=Path(home), semantic=False)
        store = open_store(settings)
        ingest_paths([kit.SETS["policy"]["docs"]], store, settings)
        records = list(store.iter_index_records())
    step = max(1, len(records) // count)
    return [embedded_text(r) for r in records[::step][:count]]


def speed(encoders: dict, texts: list[str], questions: list[str]) -> dict[str, np.ndarray]:
    vectors = {}
    print(f"\n{'runtime':<14}{'passages/s':>11}{'x torch':>9}{'query p50 ms':>14}{'p95 ms':>8}")
    base = None
    for name, encoder in encoders.items():
        encoder.encode_passages(texts[:16])  # warm: first-call allocations
        started = time.perf_counter()
        vectors[name] = encoder.encode_passages(texts)
        rate = len(texts) / (time.perf_counter() - started)
        base = base or rate
        timings = []
        for question in questions:
            started = time.perf_counter()
            encoder.encode_queries([question])
            timings.append((time.perf_counter() - started) * 1000)
        timings.sort()
        print(f"{name:<14}{rate:>11.1f}{rate / base:>9.2f}{timings[len(timings) // 2]:>14.1f}"
              f"{timings[int(len(timings) * 0.95)]:>8.1f}")
    return vectors


def agreement(vectors: dict[str, np.ndarray]) -> None:
    reference = vectors["torch"]
    print(f"\n{'runtime':<14}{'cosine to torch: min':>22}{'mean':>8}")
    for name, found in vectors.items():
        cosine = (reference * found).sum(axis=1)
        print(f"{name:<14}{cosine.min():>22.4f}{cosine.mean():>8.4f}")


def retrieval(encoders: dict, home: Path) -> None:
    scorer = kit.load_scorer()
    rows = []
    for name, encoder in encoders.items():
        for set_name in kit.SETS:
            started = time.perf_counter()
            service = kit.prepare(set_name, home / name / set_name, encoder)
            queries = kit.load_queries(set_name)
            for mode in ("semantic", "hybrid"):
                scored, _ = kit.answer(service, queries, mode, scorer)
                m = kit.metrics_of(queries, scored, scorer)["ALL"]
                rows.append((name, set_name, mode, m["R@10"], m["MRR@10"]))
            print(f"  {name} / {set_name}: indexed and answered in {time.perf_counter() - started:.0f} s")
    print(f"\n{'runtime':<14}{'set':<8}{'mode':<10}{'R@10':>7}{'MRR@10':>8}{'ΔR@10':>8}{'ΔMRR':>8}")
    reference = {(s, m): (r, mrr) for n, s, m, r, mrr in rows if n == "torch"}
    for name, set_name, mode, r10, mrr in rows:
        base = reference[(set_name, mode)]
        print(f"{name:<14}{set_name:<8}{mode:<10}{r10:>7.3f}{mrr:>8.3f}{r10 - base[0]:>+8.3f}{mrr - base[1]:>+8.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--passages", type=int, default=800)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--retrieval", action="store_true")
    parser.add_argument("--retrieval-runtimes", default="torch,onnx-int8",
                        help="onnx-float32 gives torch's vectors (cosine 1.0000), so by default it is not re-run")
    parser.add_argument("--home", type=Path, default=Path.home() / ".cache" / "study_hub" / "eval-runtimes")
    args = parser.parse_args()
    models_dir = Settings().models_dir
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"built-in model in {models_dir}")
    encoders = {name: load(name, models_dir) for name in RUNTIMES}
    texts = sample_texts(args.passages)
    questions = [q["query"] for q in kit.load_queries("policy")][:args.queries]
    print(f"sample: {len(texts)} passages of the shared corpus (mean {np.mean([len(t) for t in texts]):.0f} "
          f"characters), {len(questions)} development questions")
    agreement(speed(encoders, texts, questions))
    if args.retrieval:
        retrieval({name: encoders[name] for name in args.retrieval_runtimes.split(",")}, args.home)


if __name__ == "__main__":
    main()
