"""Tune the hybrid fusion weights on a development set (grid search; prints the best settings).

    python benchmarks/tune_fusion.py --home DIR [--queries ../shared/eval/policy/dev.jsonl]

DIR must hold an ingested and indexed corpus with vectors (e.g. the home that benchmarks/eval_retrieval.py
prepares). For each query the keyword pool (full then partial matches) and the semantic pool are fetched
once; every weight combination is then scored with ../shared/eval/score.py's own functions. Choose
settings from a plateau, not a peak: 30 queries are few.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
from pathlib import Path

from study_hub.config import Settings
from study_hub.embedding.encoder import Embedder
from study_hub.ingest.metadata import guess_language
from study_hub.search.fusion import RankedList, weighted_rrf
from study_hub.search.query import QueryError, parse_query
from study_hub.search.service import SearchRequest, SearchService, analyze
from study_hub.store import open_store

REPO = Path(__file__).resolve().parents[1]
FILTERS = {"level": "level", "kind": "kind", "doc_kind": "kind", "issuer": "issuer", "year": "year"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--queries", type=Path, default=REPO.parent / "shared" / "eval" / "policy" / "dev.jsonl")
    parser.add_argument("--semantic", default="0.5,1,1.5,2", help="semantic weights to try")
    parser.add_argument("--full", default="0.5,1,2,3", help="weights of the all-words keyword list")
    parser.add_argument("--partial", default="0,0.25,0.5,1", help="weights of the some-words keyword list")
    parser.add_argument("--k", default="10,30,60")
    args = parser.parse_args()
    spec = importlib.util.spec_from_file_location("score", REPO.parent / "shared" / "eval" / "score.py")
    scorer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(scorer)

    settings = Settings(home=args.home)
    service = SearchService(open_store(settings), settings.indexes_dir,
                            encoder=Embedder(settings.embedding_model, settings.models_dir))
    current = service.generation()
    queries = [json.loads(line) for line in args.queries.read_text(encoding="utf-8").splitlines() if line.strip()]
    pools = []
    for query in queries:
        request = SearchRequest(query["query"], **{FILTERS[k]: str(v) for k, v in (query.get("filters") or {}).items()})
        try:
            parsed = parse_query(request.q)
        except QueryError:
            pools.append((query, None))
            continue
        analyzed = analyze(parsed, service.analyzer, service.synonyms)
        filters = service.filters_for(parsed, request)
        text = " ".join(c.text for g in parsed.groups for c in g)
        if analyzed.query.phrases or guess_language(text) == "en":
            pools.append((query, None))  # exact wording is not fused; English questions have their own path
            continue
        vector = service.encoder.encode_queries([text])[0]
        semantic = [hit.passage_id for hit in current.semantic.search(vector, filters, limit=100)]
        full, partial, _ = service._keyword_pool(current.keyword, analyzed, filters, 100, False)
        pools.append((query, (semantic, [p for p, _ in full], [p for p, _ in full + partial])))
    texts = {}
    for _, pool in pools:
        if pool:
            for pid, (passage, document) in service.store.passages_by_id({p for lst in pool for p in lst}).items():
                texts[pid] = {"doc_id": document.id, "text": passage.text}
    def fixed(query):  # the queries that do not go through this fusion, scored as the service answers them
        try:
            hits = service.search(SearchRequest(query["query"], limit=10)).results
        except QueryError:
            hits = []
        return scorer.score_query(query, [{"doc_id": h.doc_id, "text": h.text} for h in hits])

    exact_scores = [fixed(q) for q, pool in pools if pool is None]

    results = []
    grid = itertools.product(*([float(v) for v in values.split(",")]
                               for values in (args.semantic, args.full, args.partial, args.k)))
    for semantic_w, full_w, partial_w, k in grid:
        rows = list(exact_scores)
        by_category: dict[str, list] = {}
        for query, pool in pools:
            if pool is None:
                continue
            fused = weighted_rrf([RankedList("semantic", pool[0], semantic_w), RankedList("keyword", pool[1], full_w),
                                  RankedList("keyword", pool[2], partial_w)], k=k)
            scored = scorer.score_query(query, [texts[pid] for pid, _, _ in fused[:10]])
            rows.append(scored)
            by_category.setdefault(query["category"], []).append(scored)
        overall = scorer.aggregate(rows)
        results.append((overall["R@10"], overall["MRR@10"], semantic_w, full_w, partial_w, k,
                        {c: round(scorer.aggregate(r)["R@10"], 2) for c, r in by_category.items()}))
    results.sort(key=lambda r: (-r[0], -r[1]))
    print(f"{'R@10':>6} {'MRR@10':>7}  semantic  full  partial   k  per category R@10")
    for row in results[:15]:
        print(f"{row[0]:>6.3f} {row[1]:>7.3f}  {row[2]:>8} {row[3]:>5} {row[4]:>8} {row[5]:>3}  {row[6]}")


if __name__ == "__main__":
    main()
