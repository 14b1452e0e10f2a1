"""SearchService: query text in, hydrated and highlighted hits out (the façade the web, CLI and study use).

parse (``query``) -> validate -> resolve filters (issuer and 文号 through the store; validity: what is in force
or unrated unless the request asks for a status or for history, ``CURRENT_STATUSES``) -> analyze
(``analysis``) -> rank, on the generation this request holds (``served``): by keyword (``keyword``), or by
meaning when it can (``meaning``, ``hybrid``) -> hydrate the ids in rank order (``hydrate``). Answers are cached
on the served generation.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import replace
from pathlib import Path

from study_hub.domain import CURRENT_STATUSES, HISTORY_STATUSES, LEVELS
from study_hub.errors import NotFoundError
from study_hub.index.filters import SearchFilters
from study_hub.index.keyword import KeywordQuery
from study_hub.search import ranking
from study_hub.search.analysis import Analyzed, analyze
from study_hub.search.highlight import match_spans
from study_hub.search.hybrid import FusionWeights, Hybrid
from study_hub.search.hydrate import hydrate
from study_hub.search.keyword import keyword_page
from study_hub.search.meaning import MeaningState, QueryEmbedder
from study_hub.search.query import ParsedQuery, QueryError, parse_filters, parse_query
from study_hub.search.served import Generation, IndexNotBuiltError, ServedGenerations
from study_hub.search.synonyms import Synonyms, default_synonyms
from study_hub.search.types import SearchHit, SearchRequest, SearchResponse
from study_hub.segment.tokens import Analyzer, default_analyzer
from study_hub.store import DocumentStore

__all__ = ["MAX_LIMIT", "MAX_PAGE", "MODES", "SORTS", "FusionWeights", "IndexNotBuiltError", "MeaningState",
           "SearchHit", "SearchRequest", "SearchResponse", "SearchService", "analyze"]

SORTS = ("relevance", "date")
MODES = ("keyword", "semantic", "hybrid")
MAX_LIMIT = 100
MAX_PAGE = 1000


class SearchService:
    """One per process. Follows ``indexes/current``: a newly published generation is used at once.

    ``analyzer``: the one the served generations were built with (default: the shipped one); a generation built
    by another is refused (``IndexMismatchError``). ``encoder``: an ``Embedder``, an ``EncoderLoader`` (the
    model loads in the background while keyword search already answers), or None for keyword search only.
    Until the model and the generation's vectors are both there, hybrid and semantic requests are answered by
    keyword ranking and say so (``SearchResponse.meaning``); with some passages still waiting for their
    vectors, search by meaning ranks over those it has. ``cache_size``: answers kept per generation, and query
    vectors. ``fitted_ranking`` false: hybrid search by weighted reciprocal-rank fusion alone, as before the
    fitted ranking (what benchmarks/fit_ranker.py compares with).
    """

    def __init__(self, store: DocumentStore, indexes_root: Path, analyzer: Analyzer | None = None,
                 synonyms: Synonyms | None = None, encoder=None, fusion: FusionWeights | None = None,
                 cache_size: int = 0, ranking_model: ranking.RankingModel | None = None, fitted_ranking: bool = True):
        self.store = store
        self.analyzer = analyzer or default_analyzer()
        self.synonyms = synonyms or default_synonyms()
        self.embedder = QueryEmbedder(encoder, self.analyzer, self.synonyms, cache_size)
        self.hybrid = Hybrid(self.analyzer, self.embedder, fusion or FusionWeights(),
                             (ranking_model or ranking.default_model()) if fitted_ranking else None)
        self.served = ServedGenerations(indexes_root, self.analyzer, with_vectors=encoder is not None,
                                        cache_size=cache_size)

    def using(self) -> AbstractContextManager[Generation]:
        """The generation to answer one request with, kept open (and unchanged) until the request ends."""
        return self.served.using()

    def generation(self) -> Generation:
        """The generation served now, opened if need be (to warm a process up, or to inspect it; requests
        use ``using``, which keeps it open for them)."""
        with self.using() as current:
            return current

    def meaning(self, current: Generation) -> MeaningState:
        """Whether search by meaning can rank ``current`` now."""
        return self.embedder.state(current)

    def filters_for(self, parsed: ParsedQuery, request: SearchRequest) -> SearchFilters:
        """The request's filters as the indexes take them. Validity: the statuses asked for (query or parameter),
        else every status with ``history``, else ``CURRENT_STATUSES``: an amended or repealed text shows only
        when asked for, and the index applies it, so totals and facets count what is shown."""
        extra = parse_filters(level=request.level, kind=request.kind, issuer=request.issuer, year=request.year,
                              doc=request.doc, doc_number=request.doc_number, language=request.language,
                              status=request.status)
        year_from = max((y for y in (parsed.year_from, extra.year_from) if y is not None), default=None)
        year_to = min((y for y in (parsed.year_to, extra.year_to) if y is not None), default=None)
        if year_from is not None and year_to is not None and year_from > year_to:
            raise QueryError(f"the year filters leave nothing between {year_from} and {year_to}")

        doc_ids: set[str] | None = None
        for ids in (
            *(self.store.document_ids_where(issuer=i) for i in (*parsed.issuers, *extra.issuers)),
            *(self.store.document_ids_where(doc_number=n) for n in (*parsed.doc_numbers, *extra.doc_numbers)),
            *({d} for d in (*parsed.doc_ids, *extra.doc_ids)),
        ):
            doc_ids = set(ids) if doc_ids is None else doc_ids & ids

        def both(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
            if a and b:
                return tuple(v for v in a if v in b) or ("(none)",)
            return a or b

        statuses = both(parsed.statuses, extra.statuses)
        return SearchFilters(
            levels=both(parsed.levels, extra.levels), kinds=both(parsed.kinds, extra.kinds),
            languages=both(parsed.languages, extra.languages), year_from=year_from, year_to=year_to,
            doc_ids=frozenset(doc_ids) if doc_ids is not None else None,
            statuses=statuses or (() if request.history else CURRENT_STATUSES),
        )

    def search(self, request: SearchRequest) -> SearchResponse:
        started = time.perf_counter()
        with self.using() as current:
            if not current.answers.size:
                return self._search_in(current, request)
            key = (self.meaning(current), request)
            cached = current.answers.get(key)
            if cached is not None:
                return replace(cached, took_ms=round((time.perf_counter() - started) * 1000, 1))
            response = self._search_in(current, request)
            current.answers.put(key, response)
            return response

    def _search_in(self, current: Generation, request: SearchRequest) -> SearchResponse:
        started = time.perf_counter()
        if request.sort not in SORTS:
            raise QueryError(f"sort must be one of {', '.join(SORTS)}")
        if request.mode not in MODES:
            raise QueryError(f"mode must be one of {', '.join(MODES)}")
        if not 1 <= request.limit <= MAX_LIMIT:
            raise QueryError(f"limit must be between 1 and {MAX_LIMIT}")
        if not 1 <= request.page <= MAX_PAGE:
            raise QueryError(f"page must be between 1 and {MAX_PAGE}")
        parsed = parse_query(request.q) if request.q.strip() else ParsedQuery()
        filters = self.filters_for(parsed, request)
        chosen = filters if parsed.statuses or request.status else replace(filters, statuses=())  # not the default
        if not parsed.has_terms and chosen.empty:
            raise QueryError("type some words to search for, or choose a filter")
        analyzed = analyze(parsed, self.analyzer, self.synonyms)
        meaning = self.meaning(current)
        offset = (request.page - 1) * request.limit
        # Exact wording stays exact, browsing by filters has nothing to embed, date order is not a ranking.
        # Until search by meaning is ready (model loading, vectors being encoded) keyword ranking answers.
        by_meaning = (request.mode != "keyword" and meaning.ready and parsed.has_terms
                      and not analyzed.query.phrases and request.sort == "relevance")
        if by_meaning:
            text = " ".join(clause.text for group in parsed.groups for clause in group)
            ranked = self.hybrid.rank(current, text, analyzed, filters, request.mode)
            hits, total, partial_from = ranked[offset:offset + request.limit], len(ranked), None
            # The facets count what this ranking holds (its ``total``): a facet's number is what choosing it shows.
            facets = current.keyword.facets_for([pid for pid, _, _ in ranked]) if request.facets else {}
        else:
            hits, total, partial_from, facets = keyword_page(
                current.keyword, analyzed, filters, offset=offset, limit=request.limit,
                sort=request.sort if parsed.has_terms else "date",  # browsing by filters: newest first
                facets=request.facets)
        in_history = None
        if parsed.has_terms and not (parsed.statuses or request.status or request.history):
            # One keyword count over what the default leaves out (milliseconds; no facets, no hits kept).
            in_history = current.keyword.search(analyzed.query, replace(filters, statuses=HISTORY_STATUSES),
                                                offset=0, limit=1, sort="relevance", facets=False).total
        return SearchResponse(
            in_history=in_history, query=request.q, total=total, page=request.page, limit=request.limit,
            results=hydrate(self.store, self.analyzer, hits, analyzed), facets=facets, partial_from=partial_from,
            generation=current.name, mode=request.mode if by_meaning else "keyword",
            took_ms=round((time.perf_counter() - started) * 1000, 1),
            meaning=meaning if request.mode != "keyword" else None,
        )

    def highlighter(self, q: str) -> Callable[[str], list[tuple[int, int]]]:
        """Where the words of the query ``q`` occur in a text (the reader marks a search's words in a document).

        A query that does not parse marks nothing: the reader must open whatever link brought a person there.
        """
        try:
            analyzed = analyze(parse_query(q), self.analyzer, self.synonyms)
        except QueryError:
            return lambda text: []
        return lambda text: match_spans(text, analyzed.terms, analyzed.phrases, self.analyzer)

    def related(self, passage_id: str, per_level: int = 3) -> dict[str, list[SearchHit]]:
        """Cross-level tracing: the passages most like this one in documents of each other level."""
        with self.using() as current:
            key = (passage_id, per_level)
            cached = current.related.get(key)
            if cached is None:
                cached = self._related_in(current, passage_id, per_level)
                current.related.put(key, cached)
            return cached

    def _related_in(self, current: Generation, passage_id: str, per_level: int) -> dict[str, list[SearchHit]]:
        if not self.meaning(current).ready:
            raise IndexNotBuiltError("related passages need search by meaning, which is not ready yet (the model "
                                     "is loading or the passages are being encoded): try again in a few minutes")
        rows = self.store.passages_by_id([passage_id])
        if passage_id not in rows:
            raise NotFoundError(f"no passage with id {passage_id!r}")
        _, document = rows[passage_id]
        vector = current.semantic.vector_of(passage_id)
        if vector is None:
            raise IndexNotBuiltError("this passage is newer than the index: run `study-hub index update`")
        no_terms = Analyzed(KeywordQuery(), set(), [])
        related: dict[str, list[SearchHit]] = {}
        similarities = current.semantic.similarities(vector)
        for level in LEVELS:
            if level == document.level:
                continue
            # traced to texts in force (or unrated): an amended or repealed one is history, not an implementation
            hits = similarities.top(SearchFilters(levels=(level,), statuses=CURRENT_STATUSES), limit=per_level,
                                    exclude_doc=document.id)
            found = hydrate(self.store, self.analyzer, [(h.passage_id, h.score, ("semantic",)) for h in hits],
                            no_terms)
            if found:
                related[level] = found
        return related
