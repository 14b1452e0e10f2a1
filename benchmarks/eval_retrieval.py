"""Retrieval quality on the evaluation sets, per mode: R@1, R@5, R@10, MRR@10 per category and overall.

    python benchmarks/eval_retrieval.py [--set policy|cmrc|all] [--modes keyword,semantic,hybrid]
                                        [--folds 6] [--home DIR] [--per-query] [--json FILE]

policy: the development queries of ../shared/eval/policy (dev.jsonl + dev2.jsonl) over the shared corpus.
Hybrid mode there is **cross-validated**: each query is answered by a ranking model fitted on the other
folds of queries only (``evalkit.cross_validated``), so the figure is what a question nobody tuned for
gets; the shipped model (fitted on all of them) is also scored, as the in-sample figure. cmrc: the CMRC 2018
trial questions, which the model never saw, answered by the shipped model.

Each set is ingested into its own home (default ~/.cache/study_hub/eval/<set>; vectors are cached there
by text, so a second run encodes nothing) and indexed with the configured embedding model
(STUDY_HUB_EMBEDDING_MODEL, default the built-in multilingual-e5-small). Scoring is ../shared/eval/score.py's.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import evalkit as kit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--set", default="all", choices=[*kit.SETS, "all"])
    parser.add_argument("--modes", default="keyword,semantic,hybrid")
    parser.add_argument("--folds", type=int, default=kit.FOLDS, help="cross-validation folds for hybrid on policy")
    parser.add_argument("--home", type=Path, default=None)
    parser.add_argument("--per-query", action="store_true")
    parser.add_argument("--json", type=Path, help="write all metrics here")
    args = parser.parse_args()

    encoder = kit.embedder()
    scorer = kit.load_scorer()
    everything = {}
    for name in (kit.SETS if args.set == "all" else [args.set]):
        service = kit.prepare(name, args.home / name if args.home else kit.default_home(name), encoder)
        queries = kit.load_queries(name)
        runs = []
        for mode in args.modes.split(","):
            if mode == "hybrid" and name == "policy":
                examples = kit.collect(service, queries, scorer)
                scored, latencies = kit.cross_validated(service, examples, scorer, args.folds)
                runs.append((f"hybrid, cross-validated ({args.folds} folds by query)", scored, latencies))
                runs.append(("hybrid, shipped model (in-sample: fitted on these queries)",
                             *kit.answer(service, queries, mode, scorer)))
            else:
                runs.append((mode, *kit.answer(service, queries, mode, scorer)))
        for label, scored, latencies in runs:
            metrics = kit.metrics_of(queries, scored, scorer)
            everything[f"{name}/{label}"] = metrics
            latencies = sorted(latencies)
            p50, p95 = latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.95)]
            kit.print_table(f"{name} / {label}  ({len(queries)} queries; latency p50 {p50:.0f} ms, p95 {p95:.0f} ms)",
                        metrics)
            kit.print_per_file(queries, scored, scorer)  # R@10/MRR@10 per query file
            if args.per_query:
                for query, result in zip(queries, scored, strict=True):
                    print(f"  {query['id']:<24}{query['category']:<11} first relevant at {result['first_rank']}")
    if args.json:
        args.json.write_text(json.dumps(everything, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
