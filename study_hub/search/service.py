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

import contextlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from study_hub.domain import LEVELS, passage_url
from study_hub.errors import NotFoundError, StudyHubError
from study_hub.index.builder import check_compatible, vector_coverage
from study_hub.index.generations import ReaderHold, current_generation, hold, read_manifest
from study_hub.index.keyword import (
    KeywordIndex,
    KeywordQuery,
    KeywordResults,
    SearchFilters,
    TermGroup,
    open_keyword_index,
)
from study_hub.index.semantic import SemanticIndex, Similarities
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
    meaning: MeaningState | None = None  # for a hybrid or semantic request: whether meaning could rank it


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


class _Generation:
    """One published generation as this process serves it: opened, warmed, then used by many requests.

    ``users`` counts the requests using it (``SearchService.using``); once a newer generation is served it is
    ``retired`` and closed by the last request that releases it, never under one. ``hold`` keeps other
    processes' sweeps from removing its folder meanwhile.
    """

    def __init__(self, folder: Path, manifest: dict, hold: ReaderHold, with_vectors: bool):
        self.name = folder.name
        self.manifest = manifest
        self.hold = hold
        self.keyword = open_keyword_index(folder, manifest)
        semantic = manifest.get("semantic")
        try:
            self.semantic: SemanticIndex | None = SemanticIndex(folder) if with_vectors and semantic and \
                semantic.get("passages") else None
        except BaseException:
            self.keyword.close()
            raise
        self.fingerprint = (semantic or {}).get("fingerprint")
        self.coverage = vector_coverage(manifest)  # (passages with a vector, passages)
        self.users = 0
        self.retired = False

    def warm(self, analyzer: Analyzer) -> None:
        """One query through each part before any request comes: postings, columns, facets, vectors."""
        tokens = analyzer.query_words("发展")
        query = KeywordQuery(required=(TermGroup((tuple(tokens),)),)) if tokens else KeywordQuery()
        found = self.keyword.search(query, SearchFilters(), limit=10, facets=True)
        self.keyword.search(query, SearchFilters(), limit=10, sort="date", facets=False)
        self.keyword.presence(query.required, [pid for pid, _ in found.hits])
        if self.semantic is not None and len(self.semantic):
            self.semantic.similarities(np.asarray(self.semantic.vectors[0], dtype=np.float32)).top(SearchFilters())

    def close(self) -> None:
        self.keyword.close()
        self.semantic = None  # the mapping goes with the last reference
        self.hold.release()


@dataclass(frozen=True)
class MeaningState:
    """Whether search by meaning can answer now, and if not, why (the pages and the API say so)."""

    ready: bool
    reason: str | None = None  # off | loading_model | model_failed | no_vectors | other_model
    coverage: tuple[int, int] = (0, 0)  # (passages with a vector, passages) in the generation served

    @property
    def complete(self) -> bool:
        return self.ready and self.coverage[0] >= self.coverage[1]


class SearchService:
    """One per process. Follows ``indexes/current``: a newly published generation is used at once.

    ``encoder``: an ``Embedder``, an ``EncoderLoader`` (the model loads in the background while keyword search
    already answers), or None for keyword search only. Until the model and the generation's vectors are both
    there, hybrid and semantic requests are answered by keyword ranking and say so (``SearchResponse.meaning``);
    with some passages still waiting for their vectors, search by meaning ranks over those it has.
    """

    def __init__(self, store: DocumentStore, indexes_root: Path, analyzer: Analyzer | None = None,
                 synonyms: Synonyms | None = None, encoder=None, fusion: FusionWeights | None = None,
                 cache_size: int = 0, ranking_model: ranking.RankingModel | None = None, fitted_ranking: bool = True):
        self.store = store
        self.indexes_root = indexes_root
        self.analyzer = analyzer or default_analyzer()
        self.synonyms = synonyms or default_synonyms()
        self._encoder_source = encoder
        self.fusion = fusion or FusionWeights()
        # The fitted hybrid ranking (``ranking_model``, by default the shipped one); with ``fitted_ranking``
        # false, weighted reciprocal-rank fusion as before it (what benchmarks/fit_ranker.py compares with).
        self.ranking = (ranking_model or ranking.default_model()) if fitted_ranking else None
        self._lock = threading.Lock()  # guards _current and the use counts
        self._opening = threading.Lock()  # one thread opens a new generation; the others go on with theirs
        self._current: _Generation | None = None
        # Answers per index generation: a published generation never changes, so an answer stays right until
        # the next one; members of a branch search the same words, and read the same passages, in the same week.
        self._answers = _Answers(cache_size)
        self._related = _Answers(cache_size)
        # Query vectors by text: the next page, another filter or mode of the same words is a new answer but
        # the same 15–40 ms of CPU to embed (the model is fixed for the process, so no generation in the key).
        self._query_vectors = _Answers(cache_size)
        self._embedding = ThreadPoolExecutor(max_workers=2, thread_name_prefix="query-embedding")

    @property
    def encoder(self):
        """The embedding model when it is loaded (None while an ``EncoderLoader`` is still loading it)."""
        source = self._encoder_source
        return source.get() if hasattr(source, "get") else source

    def meaning(self, current: _Generation) -> MeaningState:
        source = self._encoder_source
        if source is None:
            return MeaningState(False, "off", current.coverage)
        encoder = self.encoder
        if encoder is None:
            failed = getattr(source, "failed", False)
            return MeaningState(False, "model_failed" if failed else "loading_model", current.coverage)
        if current.semantic is None:
            return MeaningState(False, "no_vectors", current.coverage)
        if current.fingerprint != encoder.fingerprint:
            return MeaningState(False, "other_model", current.coverage)
        return MeaningState(True, None, current.coverage)

    @contextlib.contextmanager
    def using(self) -> Iterator[_Generation]:
        """The generation to answer one request with, kept open (and unchanged) until the request ends."""
        current = self._acquire()
        try:
            yield current
        finally:
            self._release(current)

    def generation(self) -> _Generation:
        """The generation served now, opened if need be (to warm a process up, or to inspect it; requests
        use ``using``, which keeps it open for them)."""
        with self.using() as current:
            return current

    def _acquire(self) -> _Generation:
        while True:
            folder = current_generation(self.indexes_root)
            if folder is None:
                raise IndexNotBuiltError(f"no search index in {self.indexes_root} yet: run `study-hub index "
                                         "build` (or `study-hub ingest`, which builds it)")
            with self._lock:
                current = self._current
                if current is not None and (current.name == folder.name or self._opening.locked()):
                    current.users += 1  # while a newer one opens, requests go on with the one they have
                    return current
            with self._opening:
                with self._lock:
                    current = self._current
                    if current is not None and current.name == folder.name:
                        current.users += 1
                        return current
                fresh = self._open(folder)
                if fresh is None:  # removed while opening: ``current`` has moved on
                    continue
                with self._lock:
                    previous, self._current = self._current, fresh
                    fresh.users += 1
                    if previous is not None:
                        previous.retired = True
                        if previous.users:
                            previous = None  # its last request closes it
                if previous is not None:
                    previous.close()
                return fresh

    def _release(self, generation: _Generation) -> None:
        with self._lock:
            generation.users -= 1
            done = generation.retired and generation.users == 0
        if done:
            generation.close()

    def _open(self, folder: Path) -> _Generation | None:
        reader_hold = hold(folder)
        if reader_hold is None:
            return None
        try:
            manifest = read_manifest(folder)
            check_compatible(manifest)
            generation = _Generation(folder, manifest, reader_hold, with_vectors=self._encoder_source is not None)
        except BaseException:
            reader_hold.release()
            raise
        try:
            generation.warm(self.analyzer)
        except BaseException:
            generation.close()  # its searcher, connection and hold: a generation that fails must not leak them
            raise
        return generation

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
        with self.using() as current:
            key = (current.name, self.meaning(current), request)
            cached = self._answers.get(key)
            if cached is not None:
                return replace(cached, took_ms=round((time.perf_counter() - started) * 1000, 1))
            response = self._search_in(current, request)
        self._answers.put(key, response)
        return response

    def _search(self, request: SearchRequest) -> SearchResponse:
        with self.using() as current:
            return self._search_in(current, request)

    def _search_in(self, current: _Generation, request: SearchRequest) -> SearchResponse:
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
        meaning = self.meaning(current)
        # Exact wording stays exact, browsing by filters has nothing to embed, date order is not a ranking.
        # Until search by meaning is ready (model loading, vectors being encoded) keyword ranking answers.
        by_meaning = (request.mode != "keyword" and meaning.ready and parsed.has_terms
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
            meaning=meaning if request.mode != "keyword" else None,
        )

    def _keyword(self, index: KeywordIndex, parsed: ParsedQuery, analyzed: _Analyzed,
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
    def _keyword_pool(index: KeywordIndex, analyzed: _Analyzed, filters: SearchFilters, size: int,
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
                          similarities: Similarities | None = None) -> ranking.Candidates:
        """Both rankers' candidates for a question, with the features the ranking model scores.

        ``vector``: the query's embedding, or a future of it (the keyword side is worked out meanwhile).
        ``english``: an English question, answered here over the Chinese passages; its keyword side looks for
        the Chinese words of the governance terms it names (``crosslingual``). ``similarities``: the
        generation's ``similarities(vector)`` when the caller has them.
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
        similarities = current.semantic.similarities(vector)
        sides = []
        for side_filters in (chinese, english):
            if mode == "hybrid" and side_filters is chinese and self.ranking is not None:
                sides.append(self.ranking.rank(self.hybrid_candidates(
                    current, text, vector, analyzed, filters, english=True, similarities=similarities)))
                continue
            semantic = [h.passage_id for h in similarities.top(side_filters, limit=weights.pool)]
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
        with self.using() as current:
            key = (current.name, passage_id, per_level)
            cached = self._related.get(key)
            if cached is None:
                cached = self._related_in(current, passage_id, per_level)
                self._related.put(key, cached)
            return cached

    def _related_in(self, current: _Generation, passage_id: str, per_level: int) -> dict[str, list[SearchHit]]:
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
        no_terms = _Analyzed(KeywordQuery(), set(), [])
        related: dict[str, list[SearchHit]] = {}
        similarities = current.semantic.similarities(vector)
        for level in LEVELS:
            if level == document.level:
                continue
            hits = similarities.top(SearchFilters(levels=(level,)), limit=per_level, exclude_doc=document.id)
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
