"""What eval_retrieval.py and fit_ranker.py share: the evaluation sets, their homes, scoring, and the
cross-validated fitting of the hybrid ranking model (study_hub/search/ranking.py).

Cross-validation is by query: the development queries (policy dev + dev2) are dealt into K folds, each
category round-robin; the model that answers a query was fitted on the other folds only, so a setting chosen
on a query never scores that query.
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from study_hub.config import Settings
from study_hub.domain import DocumentMeta
from study_hub.embedding.encoder import Embedder
from study_hub.index.builder import update_indexes
from study_hub.ingest.metadata import guess_language
from study_hub.pipeline import ingest_paths
from study_hub.search import ranking
from study_hub.search.query import QueryError, parse_query
from study_hub.search.service import SearchRequest, SearchService, analyze
from study_hub.store import open_store

REPO = Path(__file__).resolve().parents[1]
EVAL = REPO.parent / "shared" / "eval"
SETS = {
    "policy": {"docs": REPO.parent / "shared" / "corpus" / "docs",
               "queries": (EVAL / "policy" / "dev.jsonl", EVAL / "policy" / "dev2.jsonl"),
               "overrides": DocumentMeta()},
    # CMRC's catalog says kind "reference", which study_hub does not know: ingest its paragraphs as documents.
    "cmrc": {"docs": EVAL / "cmrc2018" / "docs", "queries": (EVAL / "cmrc2018" / "trial.jsonl",),
             "overrides": DocumentMeta(kind="document")},
}
FILTER_NAMES = {"level": "level", "kind": "kind", "doc_kind": "kind", "issuer": "issuer", "year": "year"}
CATEGORIES = ("keyword", "paraphrase", "exact", "english", "filtered")
C = 0.03  # the model's inverse L2 strength: the best cross-validated of 0.01, 0.03, 0.1, 0.3, 1
FOLDS = 6


def embedder() -> Embedder:
    """The configured embedding model (STUDY_HUB_EMBEDDING_MODEL, default the built-in one), and the machine."""
    settings = Settings()
    encoder = Embedder(settings.embedding_model, settings.models_dir)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"model {encoder.info['model']} (converter {encoder.info.get('converter_version')}), device {encoder.device}")
    return encoder


def load_scorer():
    spec = importlib.util.spec_from_file_location("score", EVAL / "score.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_queries(name: str) -> list[dict]:
    """The set's queries, each marked with the file it comes from (``file``)."""
    return [{**json.loads(line), "file": path.name} for path in SETS[name]["queries"]
            for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def default_home(name: str) -> Path:
    return Path.home() / ".cache" / "study_hub" / "eval" / name


def prepare(name: str, home: Path, encoder: Embedder, **service_options) -> SearchService:
    """The set ingested and indexed in ``home`` (vectors cached there by text: a second run encodes nothing)."""
    settings = Settings(home=home)
    store = open_store(settings)
    spec = SETS[name]
    report = ingest_paths([spec["docs"]], store, settings, spec["overrides"])
    if not report.ok:
        raise SystemExit(f"ingest failed: {report.failures[:3]}")
    started = time.perf_counter()
    build = update_indexes(store, settings.indexes_dir, encoder=encoder, cache_dir=settings.vector_cache_dir,
                           engine=settings.keyword_engine)
    print(f"{name}: {store.counts()[0]} documents, {store.counts()[1]} passages; index {build.mode} in "
          f"{time.perf_counter() - started:.0f} s")
    return SearchService(store, settings.indexes_dir, encoder=encoder, **service_options)


def request_of(query: dict, mode: str = "hybrid") -> SearchRequest:
    filters = {FILTER_NAMES[k]: str(v) for k, v in (query.get("filters") or {}).items()}
    return SearchRequest(query["query"], mode=mode, limit=10, facets=False, **filters)


def answer(service: SearchService, queries: list[dict], mode: str, scorer) -> tuple[list[dict], list[float]]:
    """Each query as the service answers it: the scorer's figures and the latency in ms."""
    scored, latencies = [], []
    for query in queries:
        started = time.perf_counter()
        try:
            hits = service.search(request_of(query, mode)).results
        except QueryError:  # an empty query in the set: the user gets a message, the scorer a miss
            hits = []
        latencies.append((time.perf_counter() - started) * 1000)
        scored.append(scorer.score_query(query, [{"doc_id": h.doc_id, "text": h.text} for h in hits]))
    return scored, latencies


def metrics_of(queries: list[dict], scored: list[dict], scorer) -> dict[str, dict]:
    by_category: dict[str, list] = defaultdict(list)
    for query, result in zip(queries, scored, strict=True):
        by_category[query["category"]].append(result)
        by_category["ALL"].append(result)
    return {c: dict(scorer.aggregate(rows), n=len(rows)) for c, rows in by_category.items()}


def print_table(title: str, metrics: dict[str, dict]) -> None:
    print(f"\n{title}")
    print(f"{'category':<11}{'n':>5}{'R@1':>8}{'R@5':>8}{'R@10':>8}{'MRR@10':>9}")
    for category in [c for c in CATEGORIES if c in metrics] + sorted(set(metrics) - {*CATEGORIES, "ALL"}) + ["ALL"]:
        m = metrics[category]
        print(f"{category:<11}{m['n']:>5}{m['R@1']:>8.3f}{m['R@5']:>8.3f}{m['R@10']:>8.3f}{m['MRR@10']:>9.3f}")


def print_per_file(queries: list[dict], scored: list[dict], scorer) -> None:
    """One line per query file of a set made of several (R@10 / MRR@10, all and per category)."""
    files = sorted({query["file"] for query in queries})
    if len(files) < 2:
        return
    for name in files:
        rows = [(query, result) for query, result in zip(queries, scored, strict=True) if query["file"] == name]
        metrics = metrics_of([query for query, _ in rows], [result for _, result in rows], scorer)
        print(f"  {name:<11}" + "  ".join(f"{category} {m['R@10']:.3f}/{m['MRR@10']:.3f}" for category, m in
                                         sorted(metrics.items(), key=lambda item: item[0] != "ALL")))


# --- fitting the hybrid ranking ---------------------------------------------------------------------

@dataclass
class Example:
    """A development query and, when the fitted ranking answers it, its candidates labelled by the scorer."""

    query: dict
    found: ranking.Candidates | None  # None: answered without the model (exact wording, a bad query)
    relevant: np.ndarray | None  # bool per candidate


def collect(service: SearchService, queries: list[dict], scorer) -> list[Example]:
    """Each query's candidates and features, as the service computes them, labelled relevant or not."""
    current = service.generation()
    examples = []
    for query in queries:
        request = request_of(query)
        try:
            parsed = parse_query(request.q)
        except QueryError:
            examples.append(Example(query, None, None))
            continue
        analyzed = analyze(parsed, service.analyzer, service.synonyms)
        filters = service.filters_for(parsed, request)
        if analyzed.query.phrases:
            examples.append(Example(query, None, None))
            continue
        text = " ".join(c.text for g in parsed.groups for c in g)
        english = not filters.languages and guess_language(text) == "en"
        vector = service.embedder.vector(text, english)
        found = service.hybrid.candidates(current, text, vector, analyzed, filters, english=english)
        rows = service.store.passages_by_id(found.ids)
        relevant = np.array([pid in rows and scorer.score_query(
            query, [{"doc_id": rows[pid][1].id, "text": rows[pid][0].text}])["first_rank"] == 1 for pid in found.ids])
        examples.append(Example(query, found, relevant))
    return examples


def fit(examples: list[Example], c: float = C) -> ranking.RankingModel:
    """Logistic regression over the candidates of ``examples`` (scikit-learn); every query weighs the same."""
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
    names = ", ".join(path.name for path in SETS["policy"]["queries"])
    return ranking.RankingModel(ranking.FEATURES, mean, scale, model.coef_[0], float(model.intercept_[0]),
                                fitted_on=f"{len(used)} development queries ({names}), C={c}")


def folds_of(queries: list[dict], k: int = FOLDS) -> list[int]:
    """A fold per query: the queries of each category dealt round-robin, in the sets' order."""
    fold, dealt = [], defaultdict(int)
    for query in queries:
        fold.append(dealt[query["category"]] % k)
        dealt[query["category"]] += 1
    return fold


def cross_validated(service: SearchService, examples: list[Example], scorer, k: int = FOLDS,
                    c: float = C) -> tuple[list[dict], list[float]]:
    """Every query answered in hybrid mode by a model fitted on the other folds (the service's model is put back)."""
    queries = [e.query for e in examples]
    folds = folds_of(queries, k)
    scored: list = [None] * len(examples)
    latencies: list = [None] * len(examples)
    shipped = service.hybrid.ranking
    try:
        for fold in range(k):
            service.hybrid.ranking = fit([e for e, f in zip(examples, folds, strict=True) if f != fold], c)
            held_out = [i for i, f in enumerate(folds) if f == fold]
            results, times = answer(service, [queries[i] for i in held_out], "hybrid", scorer)
            for i, result, took in zip(held_out, results, times, strict=True):
                scored[i], latencies[i] = result, took
    finally:
        service.hybrid.ranking = shipped
    return scored, latencies
