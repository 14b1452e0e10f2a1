"""Retrieval-quality floors of the default mode, so regressions show: on the policy development sets
(../shared/eval/policy dev + dev2) and on the CMRC 2018 trial questions (../shared/eval/cmrc2018).

Every floor runs in every test run. The hybrid ones encode the shared corpus and the CMRC paragraphs once
(minutes on two cores; STUDY_HUB_TEST_VECTOR_CACHE keeps the vectors between the SQLite and PostgreSQL runs of
`make test`, and between runs on one machine). Its floors sit at the cross-validated figures of `benchmarks/eval_retrieval.py` (each query answered
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
from study_hub.domain import DocumentMeta
from study_hub.index.builder import build_indexes
from study_hub.pipeline import ingest_paths
from study_hub.search.query import QueryError
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
    """Both development sets, each query marked with the set it comes from (``set``)."""
    return [{**json.loads(line), "set": name} for name in ("dev.jsonl", "dev2.jsonl")
            for line in (shared_corpus.parent / "eval" / "policy" / name).read_text(encoding="utf-8").splitlines()
            if line.strip()]


def _first_set(queries: list[dict]) -> list[dict]:
    """The 30 queries of dev.jsonl, on which issue 18 measured the levels it asked the floors to hold."""
    return [query for query in queries if query["set"] == "dev.jsonl"]


@pytest.fixture(scope="module")
def cmrc_queries(shared_corpus: Path) -> list[dict]:
    path = shared_corpus.parent / "eval" / "cmrc2018" / "trial.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _metrics(service: SearchService, queries: list[dict], mode: str, scorer) -> dict[str, dict]:
    rows: dict[str, list] = {}
    for query in queries:
        filters = {FILTERS[k]: str(v) for k, v in (query.get("filters") or {}).items()}
        try:
            hits = service.search(SearchRequest(query["query"], mode=mode, limit=10, facets=False, **filters)).results
        except QueryError:  # CMRC's trial set has a few empty questions: the user gets a message, the scorer a miss
            hits = []
        scored = scorer.score_query(query, [{"doc_id": h.doc_id, "text": h.text} for h in hits])
        rows.setdefault(query["category"], []).append(scored)
        rows.setdefault("ALL", []).append(scored)
    metrics = {category: scorer.aggregate(found) for category, found in rows.items()}
    for category, figures in sorted(metrics.items()):  # shown with -s, and in the report of a failing floor
        print(f"{mode:<8} {category:<11} n={len(rows[category]):<4} " +
              " ".join(f"{name} {value:.3f}" for name, value in figures.items() if isinstance(value, float)))
    return metrics


def _indexed_corpus(tmp_path_factory, docs: Path, encoder=None, overrides: DocumentMeta | None = None
                    ) -> SearchService:
    settings = Settings(home=tmp_path_factory.mktemp("eval-home"))
    store = open_store(settings)
    assert ingest_paths([docs], store, settings, overrides).ok
    # STUDY_HUB_TEST_VECTOR_CACHE reuses vectors between runs (they are keyed by model and text).
    cache = Path(os.environ.get("STUDY_HUB_TEST_VECTOR_CACHE") or settings.vector_cache_dir)
    build_indexes(store, settings.indexes_dir, encoder=encoder, cache_dir=cache)
    return SearchService(store, settings.indexes_dir, encoder=encoder)


def test_keyword_floor(tmp_path_factory, shared_corpus, dev_queries, scorer) -> None:
    service = _indexed_corpus(tmp_path_factory, shared_corpus / "docs")
    metrics = _metrics(service, dev_queries, "keyword", scorer)
    for category in ("keyword", "exact", "filtered"):
        assert metrics[category]["R@10"] == 1.0, (category, metrics[category])
        assert metrics[category]["R@1"] >= 0.875, (category, metrics[category])
    # Measured (tantivy, the default engine): R@10 0.681, MRR@10 0.596; English queries cannot match Chinese words.
    assert metrics["ALL"]["R@10"] >= 0.68, metrics["ALL"]
    assert metrics["ALL"]["MRR@10"] >= 0.59, metrics["ALL"]
    # On dev.jsonl alone (measured 0.767 / 0.705): the level issue 18 measured, 0.70.
    assert _metrics(service, _first_set(dev_queries), "keyword", scorer)["ALL"]["R@10"] >= 0.70


def test_hybrid_floor(tmp_path_factory, shared_corpus, dev_queries, scorer, embedder) -> None:
    service = _indexed_corpus(tmp_path_factory, shared_corpus / "docs", encoder=embedder)
    metrics = _metrics(service, dev_queries, "hybrid", scorer)
    for category in ("keyword", "exact", "filtered"):
        assert metrics[category]["R@10"] == 1.0, (category, metrics[category])
        assert metrics[category]["MRR@10"] >= 0.95, (category, metrics[category])
    # Measured (2026-12-04, the shipped ranking model, CPU float32): all R@10 0.944 / MRR@10 0.865, paraphrase
    # 0.862 / 0.682, English 1.000 / 0.958 (cross-validated in benchmarks/eval_retrieval.py: 0.944 / 0.864). The
    # recall floors leave one query's slack (a near-tie may flip on another CPU), the MRR floors about 0.02.
    assert metrics["paraphrase"]["R@10"] >= 0.82, metrics["paraphrase"]
    assert metrics["paraphrase"]["MRR@10"] >= 0.66, metrics["paraphrase"]
    assert metrics["english"]["R@10"] >= 0.91, metrics["english"]
    assert metrics["english"]["MRR@10"] >= 0.90, metrics["english"]
    assert metrics["ALL"]["R@10"] >= 0.93, metrics["ALL"]
    assert metrics["ALL"]["MRR@10"] >= 0.85, metrics["ALL"]
    # On dev.jsonl alone, the floors issue 18 set at the level it measured there (now: R@10 0.967, MRR@10 0.913,
    # paraphrase 0.900, English 1.000, keyword/exact/filtered 1.000; one paraphrase query missed).
    first = _metrics(service, _first_set(dev_queries), "hybrid", scorer)
    assert first["ALL"]["R@10"] >= 0.96 and first["ALL"]["MRR@10"] >= 0.83, first["ALL"]
    assert first["paraphrase"]["R@10"] >= 0.90, first["paraphrase"]
    assert first["english"]["R@10"] >= 0.75, first["english"]
    assert all(first[category]["R@10"] == 1.0 for category in ("keyword", "exact", "filtered")), first


def test_cmrc_floor(tmp_path_factory, shared_corpus, cmrc_queries, scorer, embedder) -> None:
    """Questions about encyclopedia paragraphs that no ranking model was fitted on: hybrid must beat keywords.

    benchmarks/eval_retrieval.py (997 questions): keyword MRR@10 0.922, semantic 0.935, hybrid 0.965."""
    # CMRC's catalog says kind "reference", which study_hub does not know: its paragraphs come in as documents.
    service = _indexed_corpus(tmp_path_factory, shared_corpus.parent / "eval" / "cmrc2018" / "docs",
                              encoder=embedder, overrides=DocumentMeta(kind="document"))
    keyword = _metrics(service, cmrc_queries, "keyword", scorer)["ALL"]
    hybrid = _metrics(service, cmrc_queries, "hybrid", scorer)["ALL"]
    assert hybrid["MRR@10"] >= 0.95, hybrid
    assert hybrid["R@10"] >= 0.98, hybrid
    assert hybrid["MRR@10"] >= keyword["MRR@10"] + 0.02, (hybrid, keyword)
