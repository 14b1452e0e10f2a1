"""Keyword ranking of a request: every word required, the page filled up with passages holding some of them.

When every word is required and fewer results than a page contain all of them, the page is filled with
passages that contain some of the words, ranked after the full matches (``partial_from`` says where they
start), so a long question still gets an answer. Hybrid search takes its keyword candidates from the same
pool of full then partial matches (``keyword_pool``).
"""

from __future__ import annotations

from dataclasses import replace

from study_hub.index.filters import SearchFilters
from study_hub.index.keyword import KeywordIndex, KeywordResults
from study_hub.search.analysis import Analyzed
from study_hub.search.types import RankedHit


def keyword_pool(index: KeywordIndex, analyzed: Analyzed, filters: SearchFilters, size: int, facets: bool,
                 strict: KeywordResults | None = None) -> tuple[list, list, KeywordResults]:
    """Full matches (every word) then partial ones (some words), up to ``size`` in all, and the results of the
    broadest search made (its total and facets).

    ``strict``: the full-match search's first ``size`` results, when the caller already has them.
    """
    if strict is None:
        strict = index.search(analyzed.query, filters, offset=0, limit=size, facets=facets)
    full = strict.hits
    if len(full) >= size or len(analyzed.query.required) < 2:
        return full, [], strict
    relaxed = index.search(replace(analyzed.query, match_any=True), filters, offset=0, limit=size + len(full),
                           facets=facets)
    seen = {pid for pid, _ in full}
    return full, [hit for hit in relaxed.hits if hit[0] not in seen][: size - len(full)], relaxed


def keyword_page(index: KeywordIndex, analyzed: Analyzed, filters: SearchFilters, *, offset: int, limit: int,
                 sort: str, facets: bool) -> tuple[list[RankedHit], int, int | None, dict]:
    """One page by keyword ranking: (hits, total, partial_from, facets)."""
    found = index.search(analyzed.query, filters, offset=offset, limit=limit, sort=sort, facets=facets)
    hits = [(pid, score, ("keyword",)) for pid, score in found.hits]
    if found.total < offset + limit and len(analyzed.query.required) > 1 and sort == "relevance":
        full, partial, relaxed = keyword_pool(index, analyzed, filters, offset + limit, facets,
                                              strict=found if offset == 0 else None)
        combined = [(pid, score, ("keyword",)) for pid, score in full + partial]
        return combined[offset:offset + limit], relaxed.total, len(full), relaxed.facets
    return hits, found.total, None, found.facets
