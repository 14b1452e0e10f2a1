"""SearchService: query text in, hydrated and highlighted hits out.

parse (``query``) -> analyze into a ``KeywordQuery`` (analyzer, sub-word covers, synonyms) -> resolve
filters (issuer and 文号 through the store) -> the keyword index returns ids and scores -> the store
hydrates them in rank order -> highlights and snippets from the analyzer's offsets.

When every word is required and fewer results than a page contain all of them, the page is filled with
passages that contain some of the words, ranked after the full matches (``SearchResponse.partial_from``
says where they start), so a long question still gets an answer.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from study_hub.errors import StudyHubError
from study_hub.index.builder import check_compatible
from study_hub.index.generations import current_generation, read_manifest
from study_hub.index.keyword import KeywordQuery, KeywordResults, SearchFilters, TermGroup, WhooshKeywordIndex
from study_hub.search.highlight import match_spans, render_snippet
from study_hub.search.query import ParsedQuery, QueryError, parse_filters, parse_query
from study_hub.search.synonyms import Synonyms, default_synonyms
from study_hub.segment.tokens import Analyzer, default_analyzer
from study_hub.store import DocumentStore

SORTS = ("relevance", "date")
MAX_LIMIT = 100
MAX_PAGE = 1000


class IndexNotBuiltError(StudyHubError):
    pass


@dataclass(frozen=True)
class SearchRequest:
    q: str
    level: str | None = None
    kind: str | None = None
    issuer: str | None = None
    year: str | None = None  # 2021, 2019..2023
    doc: str | None = None
    doc_number: str | None = None
    language: str | None = None
    sort: str = "relevance"
    page: int = 1
    limit: int = 10
    facets: bool = True


@dataclass
class SearchHit:
    passage_id: str
    doc_id: str
    title: str
    doc_number: str | None
    level: str | None
    kind: str | None
    issuer: str | None
    date: str | None
    heading_path: str
    text: str
    snippet: str  # HTML: escaped text with <mark> around matches
    highlights: list[tuple[int, int]]  # matches as offsets into text
    score: float
    rankers: tuple[str, ...] = ("keyword",)

    @property
    def url(self) -> str:
        return f"/documents/{self.doc_id}#p-{self.passage_id}"


@dataclass
class SearchResponse:
    query: str
    total: int
    page: int
    limit: int
    results: list[SearchHit]
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    partial_from: int | None = None  # rank (0-based, overall) where partial matches begin, if any
    generation: str | None = None
    took_ms: float = 0.0


@dataclass
class _Analyzed:
    query: KeywordQuery
    terms: set[str]  # tokens to highlight
    phrases: list[str]


def analyze(parsed: ParsedQuery, analyzer: Analyzer, synonyms: Synonyms) -> _Analyzed:
    """Turn parsed clauses into token groups: each word's tokens, their sub-word covers and synonyms."""
    required: list[TermGroup] = []
    phrases: list[str] = []
    scoring: list[str] = []

    def alternatives_of(token: str) -> list[tuple[str, ...]]:
        found = [(token,), *synonyms.expand(token)]
        cover = analyzer.cover(token)
        if cover:
            found.append(cover)
        return list(dict.fromkeys(found))

    for group in parsed.groups:
        if len(group) == 1:
            clause = group[0]
            tokens = analyzer.query_words(clause.text)
            if clause.exact or not tokens:  # a word with nothing to index (的, 。) is matched exactly
                phrases.append(clause.text)
                scoring.extend(tokens)
                continue
            required.extend(TermGroup(tuple(alternatives_of(t))) for t in tokens)
        else:
            alternatives: list[tuple[str, ...]] = []
            for clause in group:
                tokens = tuple(analyzer.query_words(clause.text))
                if len(tokens) == 1:
                    alternatives.extend(alternatives_of(tokens[0]))
                elif tokens:
                    alternatives.append(tokens)
            if alternatives:
                required.append(TermGroup(tuple(dict.fromkeys(alternatives))))

    excluded = []
    excluded_phrases = []
    for clause in parsed.excluded:
        tokens = tuple(analyzer.query_words(clause.text))
        if clause.exact or not tokens:
            excluded_phrases.append(clause.text)
        else:
            excluded.append(TermGroup((tokens,)))
    terms = {t for g in required for t in g.tokens}  # phrase-only queries highlight the phrase, not its words
    query = KeywordQuery(required=tuple(required), excluded=tuple(excluded), phrases=tuple(phrases),
                         excluded_phrases=tuple(excluded_phrases), scoring_tokens=tuple(dict.fromkeys(scoring)))
    return _Analyzed(query, terms, phrases)


class SearchService:
    """One per process. Follows ``indexes/current``: a newly published generation is used at once."""

    def __init__(self, store: DocumentStore, indexes_root: Path, analyzer: Analyzer | None = None,
                 synonyms: Synonyms | None = None):
        self.store = store
        self.indexes_root = indexes_root
        self.analyzer = analyzer or default_analyzer()
        self.synonyms = synonyms or default_synonyms()
        self._lock = threading.Lock()
        self._index: WhooshKeywordIndex | None = None
        self._generation: str | None = None

    def keyword_index(self) -> tuple[WhooshKeywordIndex, str]:
        folder = current_generation(self.indexes_root)
        if folder is None:
            raise IndexNotBuiltError(f"no search index in {self.indexes_root} yet: run `study-hub index build` "
                                     "(or `study-hub ingest`, which builds it)")
        with self._lock:
            if folder.name != self._generation or self._index is None:
                check_compatible(read_manifest(folder))
                previous = self._index
                self._index, self._generation = WhooshKeywordIndex(folder), folder.name
                if previous is not None:
                    previous.close()
            return self._index, self._generation

    def filters_for(self, parsed: ParsedQuery, request: SearchRequest) -> SearchFilters:
        extra = parse_filters(level=request.level, kind=request.kind, issuer=request.issuer, year=request.year,
                              doc=request.doc, doc_number=request.doc_number, language=request.language)
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

        return SearchFilters(
            levels=both(parsed.levels, extra.levels), kinds=both(parsed.kinds, extra.kinds),
            languages=both(parsed.languages, extra.languages), year_from=year_from, year_to=year_to,
            doc_ids=frozenset(doc_ids) if doc_ids is not None else None,
        )

    def search(self, request: SearchRequest) -> SearchResponse:
        started = time.perf_counter()
        if request.sort not in SORTS:
            raise QueryError(f"sort must be one of {', '.join(SORTS)}")
        if not 1 <= request.limit <= MAX_LIMIT:
            raise QueryError(f"limit must be between 1 and {MAX_LIMIT}")
        if not 1 <= request.page <= MAX_PAGE:
            raise QueryError(f"page must be between 1 and {MAX_PAGE}")
        parsed = parse_query(request.q) if request.q.strip() else ParsedQuery()
        filters = self.filters_for(parsed, request)
        if not parsed.has_terms and filters.empty:
            raise QueryError("type some words to search for, or choose a filter")
        analyzed = analyze(parsed, self.analyzer, self.synonyms)
        index, generation = self.keyword_index()
        offset = (request.page - 1) * request.limit
        sort = request.sort if parsed.has_terms else "date"  # browsing by filters: newest first
        found = index.search(analyzed.query, filters, offset=offset, limit=request.limit, sort=sort,
                             facets=request.facets)
        hits, total, partial_from = found.hits, found.total, None
        if found.total < offset + request.limit and len(analyzed.query.required) > 1 and sort == "relevance":
            hits, total, partial_from, found = self._with_partial_matches(index, analyzed, filters, request, found)
        results = self._hydrate(hits, analyzed)
        return SearchResponse(
            query=request.q, total=total, page=request.page, limit=request.limit, results=results,
            facets=found.facets, partial_from=partial_from, generation=generation,
            took_ms=round((time.perf_counter() - started) * 1000, 1),
        )

    @staticmethod
    def _with_partial_matches(index, analyzed: _Analyzed, filters: SearchFilters, request: SearchRequest,
                              strict: KeywordResults):
        """All full matches (fewer than a page's end), then the passages that match only some words."""
        offset = (request.page - 1) * request.limit
        full = index.search(analyzed.query, filters, offset=0, limit=max(strict.total, 1), facets=False).hits
        relaxed_query = KeywordQuery(**{**analyzed.query.__dict__, "match_any": True})
        relaxed = index.search(relaxed_query, filters, offset=0, limit=offset + request.limit + strict.total,
                               facets=request.facets)
        seen = {pid for pid, _ in full}
        combined = full + [hit for hit in relaxed.hits if hit[0] not in seen]
        return combined[offset:offset + request.limit], relaxed.total, strict.total, relaxed

    def _hydrate(self, hits: list[tuple[str, float]], analyzed: _Analyzed) -> list[SearchHit]:
        rows = self.store.passages_by_id(pid for pid, _ in hits)
        results = []
        for passage_id, score in hits:
            if passage_id not in rows:
                continue  # removed from the store since the index was built; the next update drops it
            passage, document = rows[passage_id]
            spans = match_spans(passage.text, analyzed.terms, analyzed.phrases, self.analyzer)
            results.append(SearchHit(
                passage_id=passage.id, doc_id=document.id, title=document.title, doc_number=document.doc_number,
                level=document.level, kind=document.kind, issuer=document.issuer, date=document.date,
                heading_path=passage.heading_path, text=passage.text, snippet=render_snippet(passage.text, spans),
                highlights=spans, score=round(score, 4),
            ))
        return results
