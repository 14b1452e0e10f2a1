"""Retrieval-quality floors on the policy development sets (../shared/eval/policy dev + dev2), so regressions show.

Both floors run in every test run. The hybrid one encodes the whole shared corpus once (about five minutes on
two cores; STUDY_HUB_TEST_VECTOR_CACHE keeps the vectors between the SQLite and PostgreSQL runs of `make
test`). Its floors sit at the cross-validated figures of `benchmarks/eval_retrieval.py` (each query answered
by a ranking model fitted without it), a little below, so a change that makes search worse for questions
nobody tuned for fails here, not on the held-out set.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import pytest

from study_hub.config import Settings
from study_hub.index.builder import build_indexes
from study_hub.pipeline import ingest_paths
from study_hub.search.service import SearchRequest, SearchService
from study_hub.store import open_store

FILTERS = {"level": "level", "kind": "kind", "doc_kind": "kind", "issuer": "issuer", "year": "year"}


@pytest.fixture(scope="module")
def scorer(shared_corpus: Path):
    spec = importlib.util.spec_from_file_location("score", shared_corpus.parent / "eval" / "score.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def dev_queries(shared_corpus: Path) -> list[dict]:
    return [json.loads(line) for name in ("dev.jsonl", "dev2.jsonl")
            for line in (shared_corpus.parent / "eval" / "policy" / name).read_text(encoding="utf-8").splitlines()
            if line.strip()]


def _metrics(service: SearchService, queries: list[dict], mode: str, scorer) -> dict[str, dict]:
    rows: dict[str, list] = {}
    for query in queries:
        filters = {FILTERS[k]: str(v) for k, v in (query.get("filters") or {}).items()}
        response = service.search(SearchRequest(query["query"], mode=mode, limit=10, facets=False, **filters))
        scored = scorer.score_query(query, [{"doc_id": h.doc_id, "text": h.text} for h in response.results])
        rows.setdefault(query["category"], []).append(scored)
        rows.setdefault("ALL", []).append(scored)
    return {category: scorer.aggregate(found) for category, found in rows.items()}


def _indexed_corpus(tmp_path_factory, shared_corpus: Path, encoder=None) -> SearchService:
    settings = Settings(home=tmp_path_factory.mktemp("eval-home"))
    store = open_store(settings)
    assert ingest_paths([shared_corpus / "docs"], store, settings).ok
    # STUDY_HUB_TEST_VECTOR_CACHE reuses vectors between runs (they are keyed by model and text).
    cache = Path(os.environ.get("STUDY_HUB_TEST_VECTOR_CACHE") or settings.vector_cache_dir)
    build_indexes(store, settings.indexes_dir, encoder=encoder, cache_dir=cache)
    return SearchService(store, settings.indexes_dir, encoder=encoder)


def test_keyword_floor(tmp_path_factory, shared_corpus, dev_queries, scorer) -> None:
    service = _indexed_corpus(tmp_path_factory, shared_corpus)
    metrics = _metrics(service, dev_queries, "keyword", scorer)
    for category in ("keyword", "exact", "filtered"):
        assert metrics[category]["R@10"] == 1.0, (category, metrics[category])
        assert metrics[category]["R@1"] >= 0.875, (category, metrics[category])
    assert metrics["ALL"]["R@10"] >= 0.66


def test_hybrid_floor(tmp_path_factory, shared_corpus, dev_queries, scorer, embedder) -> None:
    service = _indexed_corpus(tmp_path_factory, shared_corpus, encoder=embedder)
    metrics = _metrics(service, dev_queries, "hybrid", scorer)
    for category in ("keyword", "exact", "filtered"):
        assert metrics[category]["R@10"] == 1.0, (category, metrics[category])
        assert metrics[category]["MRR@10"] >= 0.95, (category, metrics[category])
    # Cross-validated (benchmarks/eval_retrieval.py, 72 queries): paraphrase R@10 0.86 (MRR 0.68), English 1.00
    # (MRR 0.96), all 0.94 (MRR 0.86). The shipped model is fitted on these queries, so it scores at least that.
    assert metrics["paraphrase"]["R@10"] >= 0.82, metrics["paraphrase"]
    assert metrics["paraphrase"]["MRR@10"] >= 0.62, metrics["paraphrase"]
    assert metrics["english"]["R@10"] >= 0.9, metrics["english"]
    assert metrics["english"]["MRR@10"] >= 0.85, metrics["english"]
    assert metrics["ALL"]["R@10"] >= 0.93, metrics["ALL"]
    assert metrics["ALL"]["MRR@10"] >= 0.82, metrics["ALL"]
