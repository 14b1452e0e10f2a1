"""Fit the hybrid ranking model (study_hub/search/ranking.py) on the development sets, cross-validated.

    python benchmarks/fit_ranker.py [--home DIR] [--folds 6] [--c 0.01,0.03,0.1,0.3,1] [--save]

Every query of ../shared/eval/policy/dev.jsonl and dev2.jsonl that the fitted ranking answers (all but exact
wording) gives its candidates (both rankers' best 100) with their features, labelled relevant as
../shared/eval/score.py judges a passage. Logistic regression (scikit-learn) is fitted on the candidates of
some queries and answers the others (``evalkit.cross_validated``). Printed for each regularisation strength
C: the cross-validated figures, and beside them the in-sample figure (far ahead of the cross-validated one
means overfitting) and the fixed-weight fusion used before (RRF 1 : 1 : 1) on the same service. ``--save``
fits on every query with ``evalkit.C`` and writes study_hub/search/data/ranker.json, which the service loads.

DIR (default ~/.cache/study_hub/eval/policy) is prepared as benchmarks/eval_retrieval.py prepares it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import evalkit as kit

from study_hub.search import ranking


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", type=Path, default=kit.default_home("policy"))
    parser.add_argument("--folds", type=int, default=kit.FOLDS)
    parser.add_argument("--c", default="0.01,0.03,0.1,0.3,1", help="regularisation strengths to compare")
    parser.add_argument("--save", action="store_true", help=f"fit on every query (C={kit.C}); write the model")
    args = parser.parse_args()

    service = kit.prepare("policy", args.home, kit.embedder(), fitted_ranking=False)
    scorer = kit.load_scorer()
    queries = kit.load_queries("policy")
    examples = kit.collect(service, queries, scorer)
    fitted = [e for e in examples if e.found is not None]
    print(f"{len(examples)} queries, {len(fitted)} answered by the fitted ranking: "
          f"{sum(len(e.found.ids) for e in fitted)} candidates, {sum(int(e.relevant.sum()) for e in fitted)} "
          f"relevant; {sum(not e.relevant.any() for e in fitted)} queries with no relevant candidate")

    fixed = kit.answer(service, queries, "hybrid", scorer)[0]
    kit.print_table("rrf 1:1:1 (before)", kit.metrics_of(queries, fixed, scorer))
    print(f"\n{'C':>6}  {'cross-validated R@10 / MRR@10 per category':<70}in-sample R@10 / MRR@10")
    for c in (float(v) for v in args.c.split(",")):
        cv = kit.metrics_of(queries, kit.cross_validated(service, examples, scorer, args.folds, c)[0], scorer)
        service.hybrid.ranking = kit.fit(examples, c)
        inside = kit.metrics_of(queries, kit.answer(service, queries, "hybrid", scorer)[0], scorer)
        service.hybrid.ranking = None
        cells = "  ".join(f"{k[:4]} {m['R@10']:.2f}/{m['MRR@10']:.2f}" for k, m in cv.items() if k != "ALL")
        print(f"{c:>6}  {cells}  ALL {cv['ALL']['R@10']:.3f}/{cv['ALL']['MRR@10']:.3f}   "
              f"{inside['ALL']['R@10']:.3f}/{inside['ALL']['MRR@10']:.3f}")

    if args.save:
        model = kit.fit(examples)
        model.save()
        print(f"\nwrote {ranking.MODEL_PATH} ({model.fitted_on}); the largest weights (standardised features):")
        for name, weight in sorted(zip(model.features, model.weights, strict=True), key=lambda p: -abs(p[1]))[:12]:
            print(f"  {name:<32}{weight:+.3f}")


if __name__ == "__main__":
    main()
