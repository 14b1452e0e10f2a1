"""SearchService: query text in, hydrated and highlighted hits out.

parse (``query``) -> analyze into a ``KeywordQuery`` (analyzer, sub-word covers, synonyms) -> resolve
filters (issuer and 文号 through the store) -> the keyword index returns ids and scores -> the store
hydrates them in rank order -> highlights and snippets from the analyzer's offsets.

When every word is required and fewer results than a page contain all of them, the page is filled with
passages that contain some of the words, ranked after the full matches (``SearchResponse.partial_from``
says where they start), so a long question still gets an answer.

Hybrid search (the default) takes the candidates of both rankers and orders them with the fitted ranking
model (``ranking``), whose weight for each ranker depends on the query; semantic search ranks by meaning
alone. A Chinese question is embedded with the official words for its everyday ones appended (``synonyms``);
an English one is answered per language (``_english_question``).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from study_hub.domain import LEVELS, passage_url
from study_hub.errors import NotFoundError, StudyHubError
from study_hub.index.builder import check_compatible, check_semantic_compatible
from study_hub.index.generations import current_generation, read_manifest
from study_hub.index.keyword import KeywordQuery, KeywordResults, SearchFilters, TermGroup, WhooshKeywordIndex
from study_hub.index.semantic import SemanticIndex
from study_hub.ingest.metadata import guess_language
from study_hub.search import ranking
from study_hub.search.crosslingual import default_glossary
from study_hub.search.fusion import RankedList, interleave, weighted_rrf
from study_hub.search.highlight import match_spans, render_snippet
from study_hub.search.query import ParsedQuery, QueryError, parse_filters, parse_query
from study_hub.search.synonyms import Synonyms, default_synonyms
from study_hub.segment.tokens import Analyzer, default_analyzer
from study_hub.store import DocumentStore

SORTS = ("relevance", "date")
MODES = ("keyword", "semantic", "hybrid")
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
    mode: str = "hybrid"
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
        return passage_url(self.doc_id, self.passage_id)


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
    mode: str = "keyword"  # the mode that ranked these results (hybrid falls back to keyword for exact wording)
    took_ms: float = 0.0


@dataclass(frozen=True)
class FusionWeights:
    """Weighted reciprocal-rank fusion: the English passages of an English question, and hybrid search when the
    service runs without the fitted ranking (``ranking``), as before it."""

    semantic: float = 1.0
    keyword_full: float = 1.0  # passages with every word of the query
    keyword_partial: float = 1.0  # the keyword ranking including passages with only some words
    k: float = 60.0
    pool: int = 100  # candidates taken from each ranker


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

    unindexed: list[str] = []  # words with nothing to index: stop words (the, 的) and punctuation
    for group in parsed.groups:
        if len(group) == 1:
            clause = group[0]
            tokens = analyzer.query_words(clause.text)
            if clause.exact:
                phrases.append(clause.text)
                scoring.extend(tokens)
            elif not tokens:
                unindexed.append(clause.text)
            else:
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

    if unindexed and not required and not phrases:  # only such words (a query for 的): match them exactly
        phrases.extend(unindexed)
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


class _Answers:
    """A bounded, thread-safe LRU of answers (``size`` 0: keeps nothing)."""

    def __init__(self, size: int):
        self.size = size
        self._kept: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            value = self._kept.get(key)
            if value is not None:
                self._kept.move_to_end(key)
            return value

    def put(self, key, value) -> None:
        if not self.size:
            return
        with self._lock:
            self._kept[key] = value
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)


@dataclass
class _Generation:
    name: str
    keyword: WhooshKeywordIndex
    semantic: SemanticIndex | None


class SearchService:
    """One per process. Follows ``indexes/current``: a newly published generation is used at once.

    ``encoder`` (an ``Embedder``) enables the semantic and hybrid modes; without it, or when the
    generation has no vectors, hybrid falls back to keyword search and semantic mode is refused.
    """

    def __init__(self, store: DocumentStore, indexes_root: Path, analyzer: Analyzer | None = None,
                 synonyms: Synonyms | None = None, encoder=None, fusion: FusionWeights | None = None,
                 cache_size: int = 0, ranking_model: ranking.RankingModel | None = None, fitted_ranking: bool = True):
        self.store = store
        self.indexes_root = indexes_root
        self.analyzer = analyzer or default_analyzer()
        self.synonyms = synonyms or default_synonyms()
        self.encoder = encoder
        self.fusion = fusion or FusionWeights()
        # The fitted hybrid ranking (``ranking_model``, by default the shipped one); with ``fitted_ranking``
        # false, weighted reciprocal-rank fusion as before it (what benchmarks/fit_ranker.py compares with).
        self.ranking = (ranking_model or ranking.default_model()) if fitted_ranking else None
        self._lock = threading.Lock()
        self._current: _Generation | None = None
        # Answers per index generation: a published generation never changes, so an answer stays right until
        # the next one; members of a branch search the same words, and read the same passages, in the same week.
        self._answers = _Answers(cache_size)
        self._related = _Answers(cache_size)
        # Query vectors by text: the next page, another filter or mode of the same words is a new answer but
        # the same 15–40 ms of CPU to embed (the model is fixed for the process, so no generation in the key).
        self._query_vectors = _Answers(cache_size)
        self._embedding = ThreadPoolExecutor(max_workers=2, thread_name_prefix="query-embedding")

    def generation(self) -> _Generation:
        folder = current_generation(self.indexes_root)
        if folder is None:
            raise IndexNotBuiltError(f"no search index in {self.indexes_root} yet: run `study-hub index build` "
                                     "(or `study-hub ingest`, which builds it)")
        with self._lock:
            if self._current is None or folder.name != self._current.name:
                manifest = read_manifest(folder)
                check_compatible(manifest)
                semantic = None
                if self.encoder is not None and manifest.get("semantic"):
                    check_semantic_compatible(manifest, self.encoder)
                    semantic = SemanticIndex(folder)
                previous = self._current
                self._current = _Generation(folder.name, WhooshKeywordIndex(folder), semantic)
                if previous is not None:
                    previous.keyword.close()
            return self._current

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
        if not self._answers.size:
            return self._search(request)
        started = time.perf_counter()
        key = (self.generation().name, request)
        cached = self._answers.get(key)
        if cached is not None:
            return replace(cached, took_ms=round((time.perf_counter() - started) * 1000, 1))
        response = self._search(request)
        if response.generation == key[0]:
            self._answers.put(key, response)
        return response

    def _search(self, request: SearchRequest) -> SearchResponse:
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
        if not parsed.has_terms and filters.empty:
            raise QueryError("type some words to search for, or choose a filter")
        analyzed = analyze(parsed, self.analyzer, self.synonyms)
        current = self.generation()
        if request.mode == "semantic" and current.semantic is None:
            raise IndexNotBuiltError("search by meaning needs the embedding index: run `study-hub index build` "
                                     "with STUDY_HUB_SEMANTIC=true")
        # Exact wording stays exact, browsing by filters has nothing to embed, date order is not a ranking.
        by_meaning = (request.mode != "keyword" and current.semantic is not None and parsed.has_terms
                      and not analyzed.query.phrases and request.sort == "relevance")
        if by_meaning:
            hits, total, partial_from, facets = self._meaningful(current, parsed, analyzed, filters, request)
        else:
            hits, total, partial_from, facets = self._keyword(current.keyword, parsed, analyzed, filters, request)
        results = self._hydrate(hits, analyzed)
        return SearchResponse(
            query=request.q, total=total, page=request.page, limit=request.limit, results=results, facets=facets,
            partial_from=partial_from, generation=current.name, mode=request.mode if by_meaning else "keyword",
            took_ms=round((time.perf_counter() - started) * 1000, 1),
        )

    def _keyword(self, index: WhooshKeywordIndex, parsed: ParsedQuery, analyzed: _Analyzed,
                 filters: SearchFilters, request: SearchRequest):
        offset = (request.page - 1) * request.limit
        sort = request.sort if parsed.has_terms else "date"  # browsing by filters: newest first
        found = index.search(analyzed.query, filters, offset=offset, limit=request.limit, sort=sort,
                             facets=request.facets)
        hits = [(pid, score, ("keyword",)) for pid, score in found.hits]
        total, partial_from, facets = found.total, None, found.facets
        if found.total < offset + request.limit and len(analyzed.query.required) > 1 and sort == "relevance":
            full, partial, relaxed = self._keyword_pool(index, analyzed, filters, offset + request.limit,
                                                        request.facets, strict=found if offset == 0 else None)
            combined = [(pid, score, ("keyword",)) for pid, score in full + partial]
            hits, total, partial_from, facets = combined[offset:offset + request.limit], relaxed.total, len(full), \
                relaxed.facets
        return hits, total, partial_from, facets

    @staticmethod
    def _keyword_pool(index: WhooshKeywordIndex, analyzed: _Analyzed, filters: SearchFilters, size: int,
                      facets: bool, strict: KeywordResults | None = None) -> tuple[list, list, KeywordResults]:
        """Full matches (every word) then partial ones (some words), up to ``size`` in all.

        ``strict``: the full-match search's first ``size`` results, when the caller already has them.
        """
        if strict is None:
            strict = index.search(analyzed.query, filters, offset=0, limit=size, facets=facets)
        full = strict.hits
        if len(full) >= size or len(analyzed.query.required) < 2:
            return full, [], strict
        relaxed_query = KeywordQuery(**{**analyzed.query.__dict__, "match_any": True})
        relaxed = index.search(relaxed_query, filters, offset=0, limit=size + len(full), facets=facets)
        seen = {pid for pid, _ in full}
        return full, [hit for hit in relaxed.hits if hit[0] not in seen][: size - len(full)], relaxed

    def _meaningful(self, current: _Generation, parsed: ParsedQuery, analyzed: _Analyzed,
                    filters: SearchFilters, request: SearchRequest):
        """Semantic or hybrid ranking over a pool of candidates from each ranker."""
        weights = self.fusion
        text = " ".join(clause.text for group in parsed.groups for clause in group)
        english = not filters.languages and guess_language(text) == "en"
        # The query embeds (torch, without the GIL) while the keyword ranking is worked out (numpy).
        embedding = self._embedding.submit(self.query_vector, text, english)
        if english:
            fused = self._english_question(current, text, embedding.result(), analyzed, filters, request.mode)
        elif request.mode == "semantic":
            hits = current.semantic.search(embedding.result(), filters, limit=weights.pool)
            fused = [(hit.passage_id, round(hit.score, 6), ("semantic",)) for hit in hits]
        elif self.ranking is not None:
            fused = self.ranking.rank(self.hybrid_candidates(current, text, embedding, analyzed, filters))
        else:
            full, partial, _ = self._keyword_pool(current.keyword, analyzed, filters, weights.pool, False)
            semantic_ids = [hit.passage_id for hit in
                            current.semantic.search(embedding.result(), filters, limit=weights.pool)]
            fused = weighted_rrf([RankedList("semantic", semantic_ids, weights.semantic),
                                  RankedList("keyword", [pid for pid, _ in full], weights.keyword_full),
                                  RankedList("keyword", [pid for pid, _ in full + partial], weights.keyword_partial)],
                                 k=weights.k)
        offset = (request.page - 1) * request.limit
        # The facets count what this ranking holds (its ``total``), so a facet's number is what choosing it shows.
        facets = current.keyword.facets_for([pid for pid, _, _ in fused]) if request.facets else {}
        return fused[offset:offset + request.limit], len(fused), None, facets

    def hybrid_candidates(self, current: _Generation, text: str, vector, analyzed: _Analyzed,
                          filters: SearchFilters, english: bool = False,
                          similarities: tuple[np.ndarray, np.ndarray] | None = None) -> ranking.Candidates:
        """Both rankers' candidates for a question, with the features the ranking model scores.

        ``vector``: the query's embedding, or a future of it (the keyword side is worked out meanwhile).
        ``english``: an English question, answered here over the Chinese passages; its keyword side looks for
        the Chinese words of the governance terms it names (``crosslingual``). ``similarities``: the
        generation's ``scores_and_own(vector)`` when the caller has them (one product over every vector).
        """
        filtered = not filters.empty
        if english:
            filters, analyzed = replace(filters, languages=("zh",)), self._translated(text)
        if analyzed.query.required:
            full, partial, _ = self._keyword_pool(current.keyword, analyzed, filters, ranking.POOL, False)
        else:
            full, partial = [], []
        if isinstance(vector, Future):
            vector = vector.result()
        best, own = similarities or current.semantic.scores_and_own(vector)
        semantic = [hit.passage_id for hit in current.semantic.top(best, filters, limit=ranking.POOL)]

        def evidence_of(ids: list[str]) -> ranking.Evidence:
            rows = current.semantic.rows(ids)
            known = rows >= 0
            return ranking.Evidence(
                presence=current.keyword.presence(analyzed.query.required, ids),
                semantic=np.where(known, best[rows], 0.0), own=np.where(known, own[rows], 0.0),
                years=np.where(known, current.semantic.years[rows], 0), levels=current.semantic.levels_of(rows),
                documents=[str(current.semantic.doc_ids[row]) if row >= 0 else "" for row in rows.tolist()])

        return ranking.candidates(text, semantic, full, partial, evidence_of, filtered=filtered, english=english)

    def _translated(self, text: str) -> _Analyzed:
        """The Chinese words of the terms an English question names, as the keyword side's word groups."""
        groups = []
        for words in default_glossary().translate(text):
            tokenized = (tuple(self.analyzer.query_words(word)) for word in words)
            alternatives = tuple(dict.fromkeys(tokens for tokens in tokenized if tokens))
            if alternatives:
                groups.append(TermGroup(alternatives))
        query = KeywordQuery(required=tuple(groups))
        return _Analyzed(query, {t for g in groups for t in g.tokens}, [])

    def query_vector(self, text: str, english: bool = False):
        """The embedding of a query: a Chinese one with the official words for its everyday ones appended.

        The model matches 做过义工 with 志愿服务 poorly; "做过义工…（志愿者、志愿服务）" it matches (the same
        lexicon the keyword side expands with, ``synonyms``). On the development questions this moved the answer
        into the top 10 by meaning for 2 more of 29 paraphrased questions (benchmarks/eval_retrieval.py).
        """
        if not english:
            text = self.synonyms.annotate(text, self.analyzer)
        vector = self._query_vectors.get(text)
        if vector is None:
            vector = self.encoder.encode_queries([text])[0]
            self._query_vectors.put(text, vector)
        return vector

    def _english_question(self, current: _Generation, text: str, vector, analyzed: _Analyzed,
                          filters: SearchFilters, mode: str) -> list[tuple[str, float, tuple[str, ...]]]:
        """An English question, answered per language and merged three Chinese results to one English.

        In one mixed ranking the few English documents win on language alone, ahead of the Chinese passages
        that answer the question. The Chinese side fuses search by meaning with a keyword search for the
        Chinese words of the governance terms the question names (``crosslingual``).
        """
        weights = self.fusion
        chinese, english = replace(filters, languages=("zh",)), replace(filters, languages=("en",))
        similarities = current.semantic.scores_and_own(vector)
        sides, scores = [], similarities[0]
        for side_filters in (chinese, english):
            if mode == "hybrid" and side_filters is chinese and self.ranking is not None:
                sides.append(self.ranking.rank(self.hybrid_candidates(
                    current, text, vector, analyzed, filters, english=True, similarities=similarities)))
                continue
            semantic = [h.passage_id for h in current.semantic.top(scores, side_filters, limit=weights.pool)]
            lists = [RankedList("semantic", semantic, weights.semantic)]
            if mode == "hybrid" and side_filters is chinese:
                translated = self._translated(text).query
                if translated.required:
                    found = current.keyword.search(replace(translated, match_any=True), side_filters,
                                                   limit=weights.pool, facets=False)
                    lists.append(RankedList("keyword", [pid for pid, _ in found.hits], weights.keyword_partial))
            elif mode == "hybrid":
                full, partial, _ = self._keyword_pool(current.keyword, analyzed, side_filters, weights.pool, False)
                lists.append(RankedList("keyword", [pid for pid, _ in full + partial], weights.keyword_partial))
            sides.append(weighted_rrf(lists, k=weights.k))
        by_id = {pid: (pid, round(score, 6), rankers) for side in sides for pid, score, rankers in side}
        order = interleave([[pid for pid, _, _ in side] for side in sides], shares=(3, 1))
        return [by_id[pid] for pid in order]

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
        current = self.generation()
        key = (current.name, passage_id, per_level)
        cached = self._related.get(key)
        if cached is None:
            cached = self._related_in(current, passage_id, per_level)
            self._related.put(key, cached)
        return cached

    def _related_in(self, current: _Generation, passage_id: str, per_level: int) -> dict[str, list[SearchHit]]:
        if current.semantic is None:
            raise IndexNotBuiltError("related passages need the embedding index: run `study-hub index build`")
        rows = self.store.passages_by_id([passage_id])
        if passage_id not in rows:
            raise NotFoundError(f"no passage with id {passage_id!r}")
        _, document = rows[passage_id]
        vector = current.semantic.vector_of(passage_id)
        if vector is None:
            raise IndexNotBuiltError("this passage is newer than the index: run `study-hub index update`")
        no_terms = _Analyzed(KeywordQuery(), set(), [])
        related: dict[str, list[SearchHit]] = {}
        scores = current.semantic.scores(vector)
        for level in LEVELS:
            if level == document.level:
                continue
            hits = current.semantic.top(scores, SearchFilters(levels=(level,)), limit=per_level,
                                        exclude_doc=document.id)
            found = self._hydrate([(h.passage_id, h.score, ("semantic",)) for h in hits], no_terms)
            if found:
                related[level] = found
        return related

    def _hydrate(self, hits: list[tuple[str, float, tuple[str, ...]]], analyzed: _Analyzed) -> list[SearchHit]:
        rows = self.store.passages_by_id(pid for pid, _, _ in hits)
        results = []
        for passage_id, score, rankers in hits:
            if passage_id not in rows:
                continue  # removed from the store since the index was built; the next update drops it
            passage, document = rows[passage_id]
            spans = match_spans(passage.text, analyzed.terms, analyzed.phrases, self.analyzer)
            results.append(SearchHit(
                passage_id=passage.id, doc_id=document.id, title=document.title, doc_number=document.doc_number,
                level=document.level, kind=document.kind, issuer=document.issuer, date=document.date,
                heading_path=passage.heading_path, text=passage.text, snippet=render_snippet(passage.text, spans),
                highlights=spans, score=round(score, 4), rankers=rankers,
            ))
        return results
