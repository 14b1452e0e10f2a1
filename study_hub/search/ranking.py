"""The hybrid ranking: one fitted linear model over the candidates of both rankers, adapted to each query.

Fixed-weight fusion (reciprocal ranks 1 : 1 : 1) let a colloquial question's everyday words (怎么, 可以,
有没有 …), matched here and there by the keyword ranker, outvote a clear answer by meaning. So a query's
candidates (the best ``POOL`` of search by meaning and of the keyword ranking, full then partial matches)
are described by what each ranker says of them *and* by what the query is and how the keyword side answers
it: a question or a list of terms, how much of the question any passage holds, how rare the held words
are. The model's score is linear in those features and in their products with the query's, so how much
each ranker counts is decided per query (the weights are printed by ``benchmarks/fit_ranker.py``).

Second-stage evidence comes with the candidate: the similarity of its best sentence window next to its own
vector's (a passage whose one sentence answers rises above a long passage that mentions the words), the
share of the query's weight it holds, in the body or in its document's title.

The model is fitted by ``benchmarks/fit_ranker.py`` on the development sets (logistic regression, one
query's candidates at a time, cross-validated over queries) and ships as ``data/ranker.json``: feature
names, standardisation and weights. Only numpy is needed to apply it.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

from study_hub.index.keyword import GroupPresence

MODEL_PATH = Path(__file__).resolve().parent / "data" / "ranker.json"
POOL = 100  # candidates taken from each ranker
DOCUMENT_TOP = 20  # a document that holds many of the best passages by meaning is likely the one asked about

# Question forms of spoken Chinese: a question asks for an answer, a list of terms for the passages that hold them.
_QUESTION = re.compile(r"(?i)^\s*(?:how|what|which|who|whom|when|where|why|can|could|is|are|does|do|should|"
                       r"must|may|will)\b|[?？吗呢嘛]|怎么|怎样|如何|能不能|能否|可不可以|可以吗|有没有|是不是|会不会|要不要|该不该|"
                       r"行不行|算不算|多少|几[个名人户年天岁次]|什么|哪些|哪个|哪里|哪儿|谁|为什么|为啥|啥|咋")


@dataclass(frozen=True)
class QuerySignals:
    """What the query is, and how the keyword side answers it (one value each, for every candidate)."""

    question: float  # 1: asked as a question (怎么, 能不能, 多少, 吗 …)
    term_list: float  # 1: several space-separated terms and no question form (keyword style)
    words: float  # log(1 + number of word groups the keyword side looks for)
    full_matches: float  # log(1 + passages holding every word), up to the pool
    best_coverage: float  # the largest share of the query's word weight one candidate holds
    filtered: float  # 1: filters narrow the search
    english: float  # 1: an English question over Chinese passages (its words come from the glossary)


@dataclass
class Evidence:
    """What the indexes say of each candidate, in candidate order."""

    presence: GroupPresence  # which of the query's word groups each holds
    semantic: np.ndarray  # similarity: the best of the passage's vector and its windows'
    own: np.ndarray  # similarity of the passage's own vector
    years: np.ndarray  # the document's year (0: undated)
    levels: list[str]  # the document's level
    documents: list[str]  # the document's id


@dataclass
class Candidates:
    """One query's candidates with their features (rows in ``ids`` order) and which rankers found each."""

    ids: list[str]
    features: np.ndarray  # float [candidates, len(FEATURES)]
    rankers: list[tuple[str, ...]]
    signals: QuerySignals
    semantic: list[str] = field(default_factory=list)  # the rankers' own orders, best first
    keyword_full: list[str] = field(default_factory=list)
    keyword: list[str] = field(default_factory=list)  # full then partial matches


CANDIDATE_FEATURES = (
    "semantic",  # similarity (best of passage and windows) minus the best candidate's
    "semantic_rank",  # -log(1 + rank) by meaning (the pool size when not found)
    "window_gain",  # best window's similarity over the passage vector's own
    "keyword_rank",  # -log(1 + rank) in the keyword ranking, full then partial matches
    "keyword_score",  # BM25 score over the best in the pool (0 when not found)
    "full_match",  # holds every word
    "coverage",  # share of the query's word weight (idf) held in the body, heading or title
    "title_coverage",  # share of the query's word weight held in the document's title
    "year_named",  # the query names a year: +1 the document is of that year, -1 another (0: names none)
    "level_named",  # the query names a level (中央, 省里, 市级 …): +1 the document is of it, -1 not (0: names none)
    "document_semantic",  # the best similarity of any candidate of the same document, minus the best candidate's
    "document_share",  # share of the best DOCUMENT_TOP by meaning that are of the same document
)
QUERY_FEATURES = ("question", "term_list", "words", "full_matches", "best_coverage", "filtered", "english")
# Products of a candidate's and the query's features: how much each ranker counts depends on the query (the
# semantic similarity and the keyword rank weigh differently for a question, a list of terms, an English
# question, and when some passage holds most of the query's words). A few chosen products, not all of them:
# with ~70 development queries more products only fitted noise (benchmarks/fit_ranker.py).
INTERACTIONS = (
    ("semantic", "question"), ("keyword_rank", "question"), ("coverage", "question"),
    ("keyword_rank", "term_list"), ("full_match", "term_list"),
    ("semantic", "english"), ("keyword_rank", "english"), ("coverage", "english"),
    ("keyword_rank", "best_coverage"),
)
FEATURES = (*CANDIDATE_FEATURES, *QUERY_FEATURES, *(f"{c}*{q}" for c, q in INTERACTIONS))


_YEAR = re.compile(r"(?<![\d.])((?:19[4-9]|20\d)\d)(?![\d.%万亿元人户个名米])")
# Words that name the level of government a question is about (a filter does this exactly; these are hints).
_LEVEL_WORDS = {
    "central": re.compile(r"(?i)中央|国务院|全国人大|\bcentral\b|\bstate council\b|\bnational\b"),
    "provincial": re.compile(r"(?i)省里|省级|全省|省政府|省委|\bprovinc"),
    "municipal": re.compile(r"(?i)市里|市级|全市|市政府|市委|\bmunicipal|\bcity\b"),
    "district": re.compile(r"(?i)区里|区级|全区|区政府|区委|县里|县级|\bdistrict\b|\bcounty\b"),
}


def named_years(text: str) -> set[int]:
    return {int(year) for year in _YEAR.findall(text)}


def named_levels(text: str) -> set[str]:
    return {level for level, pattern in _LEVEL_WORDS.items() if pattern.search(text)}


def _agreement(named: set, values) -> np.ndarray:
    """+1 where the value is one the query names, -1 where it names others, 0 everywhere when it names none."""
    if not named:
        return np.zeros(len(values))
    return np.array([1.0 if value in named else -1.0 for value in values])


def query_signals(text: str, presence: GroupPresence, full_count: int, filtered: bool,
                  english: bool = False) -> QuerySignals:
    coverage = _coverage(presence.held, presence.idf)
    question = bool(_QUESTION.search(text))
    chunks = [c for c in re.split(r"[\s\u3000]+", text.strip()) if c]
    return QuerySignals(
        question=float(question),
        term_list=float(len(chunks) > 1 and not question),
        words=math.log1p(presence.held.shape[1]),
        full_matches=math.log1p(min(full_count, POOL)),
        best_coverage=float(coverage.max()) if len(coverage) else 0.0,
        filtered=float(filtered),
        english=float(english),
    )


def _coverage(held: np.ndarray, idf: np.ndarray) -> np.ndarray:
    total = float(idf.sum())
    if not held.shape[1] or total <= 0:
        return np.zeros(held.shape[0])
    return (held * idf).sum(axis=1) / total


def candidates(text: str, semantic: list[str], keyword_full: list[tuple[str, float]],
               keyword_partial: list[tuple[str, float]], evidence_of, *, filtered: bool,
               english: bool = False) -> Candidates:
    """The candidates of both rankers with their features.

    ``semantic``: ids by meaning, best first; ``keyword_full``/``keyword_partial``: (id, BM25) of the passages
    holding all / some of the words; ``evidence_of(ids)`` -> ``Evidence`` for those ids.
    """
    keyword = [pid for pid, _ in keyword_full + keyword_partial]
    ids = list(dict.fromkeys([*semantic, *keyword]))
    evidence = evidence_of(ids)
    presence, best, own = evidence.presence, evidence.semantic, evidence.own
    semantic_rank = {pid: rank for rank, pid in enumerate(semantic)}
    keyword_rank = {pid: rank for rank, pid in enumerate(keyword)}
    bm25 = dict(keyword_full + keyword_partial)
    full = {pid for pid, _ in keyword_full}
    top_bm25 = max(bm25.values(), default=0.0) or 1.0
    signals = query_signals(text, presence, len(keyword_full), filtered, english)

    n = len(ids)
    document_best: dict[str, float] = {}
    for document, score in zip(evidence.documents, best.tolist(), strict=True):
        document_best[document] = max(document_best.get(document, -1.0), score)
    top_documents = [evidence.documents[ids.index(pid)] for pid in semantic[:DOCUMENT_TOP]]
    columns: dict[str, np.ndarray] = {
        "semantic": best - (best.max() if n else 0.0),
        "semantic_rank": -np.log1p([semantic_rank.get(pid, POOL) for pid in ids]),
        "window_gain": best - own,
        "keyword_rank": -np.log1p([keyword_rank.get(pid, POOL) for pid in ids]),
        "keyword_score": np.array([bm25.get(pid, 0.0) / top_bm25 for pid in ids]),
        "full_match": np.array([pid in full for pid in ids], dtype=float),
        "coverage": _coverage(presence.held, presence.idf),
        "title_coverage": _coverage(presence.in_title, presence.idf),
        "year_named": _agreement(named_years(text), evidence.years.tolist()),
        "level_named": _agreement(named_levels(text), evidence.levels),
        "document_semantic": np.array([document_best[d] for d in evidence.documents]) - (best.max() if n else 0.0),
        "document_share": np.array([top_documents.count(d) / DOCUMENT_TOP for d in evidence.documents]),
    }
    for name in QUERY_FEATURES:
        columns[name] = np.full(n, getattr(signals, name))
    for c, q in INTERACTIONS:
        columns[f"{c}*{q}"] = columns[c] * columns[q]
    matrix = np.column_stack([columns[name] for name in FEATURES]) if n else np.zeros((0, len(FEATURES)))
    rankers = [tuple(name for name, found in (("semantic", pid in semantic_rank), ("keyword", pid in keyword_rank))
                     if found) for pid in ids]
    return Candidates(ids, matrix, rankers, signals, semantic, [pid for pid, _ in keyword_full], keyword)


@dataclass(frozen=True)
class RankingModel:
    """score = Σ weight × (feature − mean) / scale + bias, over ``features`` (names must match ``FEATURES``)."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float
    fitted_on: str = ""

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> RankingModel:
        data = json.loads(path.read_text(encoding="utf-8"))
        model = cls(tuple(data["features"]), np.array(data["mean"]), np.array(data["scale"]),
                    np.array(data["weights"]), float(data["bias"]), data.get("fitted_on", ""))
        if model.features != FEATURES:
            raise ValueError(f"{path} was fitted on other features; run benchmarks/fit_ranker.py again")
        return model

    def save(self, path: Path = MODEL_PATH) -> None:
        path.write_text(json.dumps({
            "features": list(self.features), "mean": _rounded(self.mean), "scale": _rounded(self.scale),
            "weights": _rounded(self.weights), "bias": round(self.bias, 6), "fitted_on": self.fitted_on,
        }, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

    def score(self, features: np.ndarray) -> np.ndarray:
        return ((features - self.mean) / self.scale) @ self.weights + self.bias

    def rank(self, found: Candidates) -> list[tuple[str, float, tuple[str, ...]]]:
        """(id, score, rankers) best first; ties keep the candidates' order (meaning first, then keyword)."""
        scores = self.score(found.features)
        order = np.argsort(-scores, kind="stable")
        return [(found.ids[i], float(scores[i]), found.rankers[i]) for i in order]


def _rounded(values: np.ndarray) -> list[float]:
    return [round(float(v), 6) for v in values]


@cache
def default_model() -> RankingModel:
    return RankingModel.load()
