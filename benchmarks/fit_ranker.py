"""Fit the hybrid ranking model (study_hub/search/ranking.py) on the development sets, cross-validated.

    python benchmarks/fit_ranker.py [--home DIR] [--folds 6] [--save]

Every query of ../shared/eval/policy/dev.jsonl and dev2.jsonl that goes through the fitted ranking (Chinese
questions without exact wording) gives its candidates (both rankers' best 100) with their features, labelled
relevant as ../shared/eval/score.py judges a passage. Logistic regression (scikit-learn) is fitted on the
candidates of some queries and scores the others: the folds are split by query, so a setting chosen on a
query never scores that query. Printed: the cross-validated R@k / MRR@10 per category next to the
fixed-weight fusion (RRF 1 : 1 : 1) on the same candidates, and the in-sample figure (if it runs far ahead
of the cross-validated one, the model is overfitting). ``--save`` fits on every query and writes
study_hub/search/data/ranker.json, which the service loads.

DIR (default ~/.cache/study_hub/eval/policy) is prepared as benchmarks/eval_retrieval.py prepares it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from eval_retrieval import EVAL, FILTER_NAMES, load_scorer, prepare

from study_hub.config import Settings
from study_hub.embedding.encoder import Embedder
from study_hub.ingest.metadata import guess_language
from study_hub.search import ranking
from study_hub.search.query import QueryError, parse_query
from study_hub.search.service import SearchRequest, SearchService, analyze

DEV_SETS = (EVAL / "policy" / "dev.jsonl", EVAL / "policy" / "dev2.jsonl")
C = 0.03  # inverse L2 strength: the best cross-validated of 0.01, 0.03, 0.1, 0.3, 1


@dataclass
class Example:
    query: dict
    found: ranking.Candidates | None  # None: answered without the fitted ranking (exact wording, English)
    relevant: np.ndarray | None  # bool per candidate
    texts: list[dict] | None  # {"doc_id", "text"} per candidate, for the scorer


def load_queries() -> list[dict]:
    return [json.loads(line) for path in DEV_SETS for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def request_of(query: dict, **options) -> SearchRequest:
    filters = {FILTER_NAMES[k]: str(v) for k, v in (query.get("filters") or {}).items()}
    return SearchRequest(query["query"], limit=10, facets=False, **filters, **options)


def collect(service: SearchService, queries: list[dict], scorer) -> list[Example]:
    """Each query's candidates, features and labels (or None where the fitted ranking is not used)."""
    current = service.generation()
    examples = []
    for query in queries:
        request = request_of(query)
        try:
            parsed = parse_query(request.q)
        except QueryError:
            examples.append(Example(query, None, None, None))
            continue
        analyzed = analyze(parsed, service.analyzer, service.synonyms)
        filters = service.filters_for(parsed, request)
        text = " ".join(c.text for g in parsed.groups for c in g)
        if analyzed.query.phrases:
            examples.append(Example(query, None, None, None))
            continue
        english = not filters.languages and guess_language(text) == "en"
        vector = service.encoder.encode_queries([text])[0]
        found = service.hybrid_candidates(current, text, vector, analyzed, filters, english=english)
        rows = service.store.passages_by_id(found.ids)
        texts = [{"doc_id": rows[pid][1].id, "text": rows[pid][0].text} if pid in rows else {"doc_id": "", "text": ""}
                 for pid in found.ids]
        relevant = np.array([scorer.score_query(query, [t])["first_rank"] == 1 for t in texts])
        examples.append(Example(query, found, relevant, texts))
    return examples


def fit(examples: list[Example], c: float = C) -> ranking.RankingModel:
    """Logistic regression over the candidates of ``examples``; every query weighs the same."""
    from sklearn.linear_model import LogisticRegression

    used = [e for e in examples if e.found is not None and e.relevant.any()]
    x = np.vstack([e.found.features for e in used])
    y = np.concatenate([e.relevant for e in used])
    # Per query, its relevant candidates weigh 1 in all and its others 1 in all.
    weight = np.concatenate([np.where(e.relevant, 1 / e.relevant.sum(), 1 / max((~e.relevant).sum(), 1))
                             for e in used])
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=c, max_iter=5000).fit((x - mean) / scale, y, sample_weight=weight)
    return ranking.RankingModel(ranking.FEATURES, mean, scale, model.coef_[0], float(model.intercept_[0]),
                                fitted_on=f"{len(used)} development queries ({', '.join(p.name for p in DEV_SETS)})")


def folds_of(examples: list[Example], k: int) -> list[int]:
    """A fold per query: queries of each category dealt round-robin, in the sets' order."""
    fold, dealt = [], defaultdict(int)
    for example in examples:
        category = example.query["category"]
        fold.append(dealt[category] % k)
        dealt[category] += 1
    return fold


def evaluate(service: SearchService, examples: list[Example], scorer) -> list[dict]:
    """Each query as the service answers it (hybrid mode, with whatever ranking it holds)."""
    scored = []
    for example in examples:
        try:
            hits = service.search(request_of(example.query)).results
        except QueryError:
            hits = []
        scored.append(scorer.score_query(example.query, [{"doc_id": h.doc_id, "text": h.text} for h in hits]))
    return scored


def cross_validate(examples: list[Example], service: SearchService, scorer, k: int) -> dict[str, dict]:
    """Per method: category -> metrics over all queries, each scored by a model fitted without its fold."""
    folds = folds_of(examples, k)
    scored: dict[str, list] = {"fitted, cross-validated": [None] * len(examples)}
    for fold in range(k):
        service.ranking = fit([e for e, f in zip(examples, folds, strict=True) if f != fold])
        held_out = [i for i, f in enumerate(folds) if f == fold]
        for i, result in zip(held_out, evaluate(service, [examples[i] for i in held_out], scorer), strict=True):
            scored["fitted, cross-validated"][i] = result
    service.ranking = fit(examples)
    scored["fitted, in-sample (optimistic)"] = evaluate(service, examples, scorer)
    service.ranking = None
    scored["rrf 1:1:1 (before)"] = evaluate(service, examples, scorer)
    return {method: metrics_of(examples, rows, scorer) for method, rows in scored.items()}


def metrics_of(examples: list[Example], scored: list[dict], scorer) -> dict[str, dict]:
    by_category: dict[str, list] = defaultdict(list)
    for example, result in zip(examples, scored, strict=True):
        by_category[example.query["category"]].append(result)
        by_category["ALL"].append(result)
    return {c: dict(scorer.aggregate(rows), n=len(rows)) for c, rows in by_category.items()}


def print_table(title: str, metrics: dict[str, dict]) -> None:
    print(f"\n{title}")
    print(f"{'category':<11}{'n':>5}{'R@1':>8}{'R@5':>8}{'R@10':>8}{'MRR@10':>9}")
    order = ["keyword", "paraphrase", "exact", "english", "filtered"]
    for category in [c for c in order if c in metrics] + ["ALL"]:
        m = metrics[category]
        print(f"{category:<11}{m['n']:>5}{m['R@1']:>8.3f}{m['R@5']:>8.3f}{m['R@10']:>8.3f}{m['MRR@10']:>9.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", type=Path, default=Path.home() / ".cache" / "study_hub" / "eval" / "policy")
    parser.add_argument("--folds", type=int, default=6)
    parser.add_argument("--save", action="store_true", help="fit on every query and write the shipped model")
    args = parser.parse_args()

    settings = Settings()
    encoder = Embedder(settings.embedding_model, settings.models_dir)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; model {encoder.info['model']}")
    _, service = prepare("policy", args.home, encoder, fitted_ranking=False)
    scorer = load_scorer()
    examples = collect(service, load_queries(), scorer)
    fitted = [e for e in examples if e.found is not None]
    print(f"{len(examples)} queries, {len(fitted)} through the fitted ranking "
          f"({sum(len(e.found.ids) for e in fitted)} candidates, "
          f"{sum(int(e.relevant.sum()) for e in fitted)} relevant; "
          f"{sum(not e.relevant.any() for e in fitted)} queries with no relevant candidate)")
    for method, metrics in cross_validate(examples, service, scorer, args.folds).items():
        print_table(f"{method}, {args.folds} folds by query", metrics)
    if args.save:
        model = fit(examples)
        model.save()
        print(f"\nwrote {ranking.MODEL_PATH}")
        for name, weight in sorted(zip(model.features, model.weights, strict=True), key=lambda p: -abs(p[1]))[:15]:
            print(f"  {name:<32}{weight:+.3f}")


if __name__ == "__main__":
    main()
