"""Ranking by meaning: semantic alone, or hybrid (both rankers' candidates ordered by the fitted model).

Hybrid search (the default) takes the candidates of both rankers and orders them with the fitted ranking
model (``ranking``), whose weight for each ranker depends on the query; without it (``fitted_ranking=False``),
by weighted reciprocal-rank fusion (``FusionWeights``), as before it. An English question is answered per
language (``Hybrid._english_question``).
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, replace

import numpy as np

from study_hub.index.filters import SearchFilters
from study_hub.index.semantic import Similarities
from study_hub.ingest.metadata import guess_language
from study_hub.search import ranking
from study_hub.search.analysis import Analyzed, translated
from study_hub.search.fusion import RankedList, interleave, weighted_rrf
from study_hub.search.keyword import keyword_pool
from study_hub.search.meaning import QueryEmbedder
from study_hub.search.served import Generation
from study_hub.search.types import RankedHit
from study_hub.segment.tokens import Analyzer


@dataclass(frozen=True)
class FusionWeights:
    """Weighted reciprocal-rank fusion: the English passages of an English question, and hybrid search when the
    service runs without the fitted ranking (``ranking``), as before it."""

    semantic: float = 1.0
    keyword_full: float = 1.0  # passages with every word of the query
    keyword_partial: float = 1.0  # the keyword ranking including passages with only some words
    k: float = 60.0
    pool: int = 100  # candidates taken from each ranker


class Hybrid:
    """Semantic and hybrid ranking over a generation. ``ranking``: the fitted model hybrid search orders
    candidates with (None: weighted reciprocal-rank fusion by ``fusion``)."""

    def __init__(self, analyzer: Analyzer, embedder: QueryEmbedder, fusion: FusionWeights,
                 ranking_model: ranking.RankingModel | None):
        self.analyzer = analyzer
        self.embedder = embedder
        self.fusion = fusion
        self.ranking = ranking_model

    def rank(self, current: Generation, text: str, analyzed: Analyzed, filters: SearchFilters,
             mode: str) -> list[RankedHit]:
        """Every passage the ``mode`` (semantic or hybrid) ranks for the question ``text``, in order."""
        weights = self.fusion
        english = not filters.languages and guess_language(text) == "en"
        embedding = self.embedder.submit(text, english)  # embeds while the keyword side is worked out
        if english:
            return self._english_question(current, text, embedding.result(), analyzed, filters, mode)
        if mode == "semantic":
            hits = current.semantic.search(embedding.result(), filters, limit=weights.pool)
            return [(hit.passage_id, round(hit.score, 6), ("semantic",)) for hit in hits]
        if self.ranking is not None:
            return self.ranking.rank(self.candidates(current, text, embedding, analyzed, filters))
        full, partial, _ = keyword_pool(current.keyword, analyzed, filters, weights.pool, False)
        semantic_ids = [hit.passage_id for hit in
                        current.semantic.search(embedding.result(), filters, limit=weights.pool)]
        return weighted_rrf([RankedList("semantic", semantic_ids, weights.semantic),
                             RankedList("keyword", [pid for pid, _ in full], weights.keyword_full),
                             RankedList("keyword", [pid for pid, _ in full + partial], weights.keyword_partial)],
                            k=weights.k)

    def candidates(self, current: Generation, text: str, vector, analyzed: Analyzed, filters: SearchFilters,
                   english: bool = False, similarities: Similarities | None = None) -> ranking.Candidates:
        """Both rankers' candidates for a question, with the features the ranking model scores.

        ``vector``: the query's embedding, or a future of it (the keyword side is worked out meanwhile).
        ``english``: an English question, answered here over the Chinese passages; its keyword side looks for
        the Chinese words of the governance terms it names (``crosslingual``). ``similarities``: the
        generation's ``similarities(vector)`` when the caller has them.
        """
        filtered = not filters.empty
        if english:
            filters, analyzed = replace(filters, languages=("zh",)), translated(text, self.analyzer)
        if analyzed.query.required:
            full, partial, _ = keyword_pool(current.keyword, analyzed, filters, ranking.POOL, False)
        else:
            full, partial = [], []
        if isinstance(vector, Future):
            vector = vector.result()
        similarities = similarities or current.semantic.similarities(vector)
        semantic = [hit.passage_id for hit in similarities.top(filters, limit=ranking.POOL)]

        def evidence_of(ids: list[str]) -> ranking.Evidence:
            rows = current.semantic.rows(ids)
            known = rows >= 0
            best, own = similarities.at(rows)
            return ranking.Evidence(
                presence=current.keyword.presence(analyzed.query.required, ids),
                semantic=best, own=own,
                years=np.where(known, current.semantic.years[rows], 0), levels=current.semantic.levels_of(rows),
                documents=[str(current.semantic.doc_ids[row]) if row >= 0 else "" for row in rows.tolist()])

        return ranking.candidates(text, semantic, full, partial, evidence_of, filtered=filtered, english=english)

    def _english_question(self, current: Generation, text: str, vector, analyzed: Analyzed,
                          filters: SearchFilters, mode: str) -> list[RankedHit]:
        """An English question, answered per language and merged three Chinese results to one English.

        In one mixed ranking the few English documents win on language alone, ahead of the Chinese passages
        that answer the question. The Chinese side fuses search by meaning with a keyword search for the
        Chinese words of the governance terms the question names (``crosslingual``).
        """
        weights = self.fusion
        chinese, english = replace(filters, languages=("zh",)), replace(filters, languages=("en",))
        similarities = current.semantic.similarities(vector)
        sides = []
        for side_filters in (chinese, english):
            if mode == "hybrid" and side_filters is chinese and self.ranking is not None:
                sides.append(self.ranking.rank(self.candidates(
                    current, text, vector, analyzed, filters, english=True, similarities=similarities)))
                continue
            semantic = [h.passage_id for h in similarities.top(side_filters, limit=weights.pool)]
            lists = [RankedList("semantic", semantic, weights.semantic)]
            if mode == "hybrid" and side_filters is chinese:
                query = translated(text, self.analyzer).query
                if query.required:
                    found = current.keyword.search(replace(query, match_any=True), side_filters,
                                                   limit=weights.pool, facets=False)
                    lists.append(RankedList("keyword", [pid for pid, _ in found.hits], weights.keyword_partial))
            elif mode == "hybrid":
                full, partial, _ = keyword_pool(current.keyword, analyzed, side_filters, weights.pool, False)
                lists.append(RankedList("keyword", [pid for pid, _ in full + partial], weights.keyword_partial))
            sides.append(weighted_rrf(lists, k=weights.k))
        by_id = {pid: (pid, round(score, 6), rankers) for side in sides for pid, score, rankers in side}
        order = interleave([[pid for pid, _, _ in side] for side in sides], shares=(3, 1))
        return [by_id[pid] for pid in order]
