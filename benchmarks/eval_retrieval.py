"""Retrieval quality on the evaluation sets, per mode: R@1, R@5, R@10, MRR@10 per category and overall.

    python benchmarks/eval_retrieval.py [--set policy|cmrc|all] [--modes keyword,semantic,hybrid]
                                        [--home DIR] [--per-query]

Each set is ingested into its own home (default ~/.cache/study_hub/eval/<set>; vectors are cached there
by text, so a second run encodes nothing), indexed with the configured embedding model
(STUDY_HUB_EMBEDDING_MODEL, default the built-in multilingual-e5-small), and every query runs in each mode
through SearchService, as `study-hub search --queries` does. Scoring is ../shared/eval/score.py's own.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import time
from collections import defaultdict
from pathlib import Path

from study_hub.config import Settings
from study_hub.domain import DocumentMeta
from study_hub.embedding.encoder import Embedder
from study_hub.index.builder import update_indexes
from study_hub.pipeline import ingest_paths
from study_hub.search.query import QueryError
from study_hub.search.service import SearchRequest, SearchService
from study_hub.store import open_store

REPO = Path(__file__).resolve().parents[1]
EVAL = REPO.parent / "shared" / "eval"
SETS = {
    "policy": {"docs": REPO.parent / "shared" / "corpus" / "docs", "queries": EVAL / "policy" / "dev.jsonl",
               "overrides": DocumentMeta()},
    # CMRC's catalog says kind "reference", which study_hub does not know: ingest its paragraphs as documents.
    "cmrc": {"docs": EVAL / "cmrc2018" / "docs", "queries": EVAL / "cmrc2018" / "trial.jsonl",
             "overrides": DocumentMeta(kind="document")},
}
FILTER_NAMES = {"level": "level", "kind": "kind", "doc_kind": "kind", "issuer": "issuer", "year": "year"}


def load_scorer():
    spec = importlib.util.spec_from_file_location("score", EVAL / "score.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def prepare(name: str, home: Path, encoder: Embedder, **service_options) -> tuple[Settings, SearchService]:
    settings = Settings(home=home)
    store = open_store(settings)
    spec = SETS[name]
    report = ingest_paths([spec["docs"]], store, settings, spec["overrides"])
    if not report.ok:
        raise SystemExit(f"ingest failed: {report.failures[:3]}")
    started = time.perf_counter()
    build = update_indexes(store, settings.indexes_dir, encoder=encoder, cache_dir=settings.vector_cache_dir)
    print(f"{name}: {store.counts()[0]} documents, {store.counts()[1]} passages; index {build.mode} in "
          f"{time.perf_counter() - started:.0f} s")
    return settings, SearchService(store, settings.indexes_dir, encoder=encoder, **service_options)


def evaluate(service: SearchService, queries: list[dict], mode: str, scorer) -> tuple[dict, list]:
    per_category = defaultdict(list)
    per_query = []
    latencies = []
    for query in queries:
        filters = {FILTER_NAMES[k]: str(v) for k, v in (query.get("filters") or {}).items()}
        started = time.perf_counter()
        try:
            response = service.search(SearchRequest(query["query"], mode=mode, limit=10, facets=False, **filters))
            results = [{"doc_id": hit.doc_id, "text": hit.text} for hit in response.results]
        except QueryError:  # an empty query in the set: the user gets a message, the scorer a miss
            results = []
        latencies.append((time.perf_counter() - started) * 1000)
        scored = scorer.score_query(query, results)
        per_category[query["category"]].append(scored)
        per_category["ALL"].append(scored)
        per_query.append((query["id"], query["category"], scored["first_rank"]))
    metrics = {c: dict(scorer.aggregate(rows), n=len(rows)) for c, rows in per_category.items()}
    latencies.sort()
    metrics["_latency_ms"] = {"p50": latencies[len(latencies) // 2], "p95": latencies[int(len(latencies) * 0.95)]}
    return metrics, per_query


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--set", default="policy", choices=[*SETS, "all"])
    parser.add_argument("--modes", default="keyword,semantic,hybrid")
    parser.add_argument("--home", type=Path, default=None)
    parser.add_argument("--per-query", action="store_true")
    parser.add_argument("--json", type=Path, help="write all metrics here")
    args = parser.parse_args()

    settings = Settings()
    encoder = Embedder(settings.embedding_model, settings.models_dir)
    scorer = load_scorer()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"model {encoder.info['model']} (converter {encoder.info.get('converter_version')}), device {encoder.device}")
    everything = {}
    for name in (SETS if args.set == "all" else [args.set]):
        home = args.home / name if args.home else Path.home() / ".cache" / "study_hub" / "eval" / name
        _, service = prepare(name, home, encoder)
        queries = [json.loads(line) for line in SETS[name]["queries"].read_text(encoding="utf-8").splitlines()
                   if line.strip()]
        for mode in args.modes.split(","):
            metrics, per_query = evaluate(service, queries, mode, scorer)
            everything[f"{name}/{mode}"] = metrics
            latency = metrics.pop("_latency_ms")
            print(f"\n{name} / {mode}  ({len(queries)} queries; latency p50 {latency['p50']:.0f} ms, "
                  f"p95 {latency['p95']:.0f} ms)")
            print(f"{'category':<11}{'n':>5}{'R@1':>8}{'R@5':>8}{'R@10':>8}{'MRR@10':>9}")
            order = ["keyword", "paraphrase", "exact", "english", "filtered"]
            for category in [c for c in order if c in metrics] + sorted(set(metrics) - {*order, "ALL"}) + ["ALL"]:
                m = metrics[category]
                print(f"{category:<11}{m['n']:>5}{m['R@1']:>8.3f}{m['R@5']:>8.3f}{m['R@10']:>8.3f}"
                      f"{m['MRR@10']:>9.3f}")
            if args.per_query:
                for qid, category, first in per_query:
                    print(f"  {qid:<24}{category:<11} first relevant at {first}")
    if args.json:
        args.json.write_text(json.dumps(everything, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
