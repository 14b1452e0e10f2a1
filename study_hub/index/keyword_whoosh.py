"""The whoosh keyword engine (``STUDY_HUB_KEYWORD_ENGINE=whoosh``): the engine the design card names.

whoosh holds the index and defines the scores (BM25F, heading field boost 2); queries are evaluated over its
postings with numpy (``vectorised``), which gives the totals and facet counts of all matches in one pass. A
document's title is the same for all its passages, so instead of indexing it once per passage (a quarter of
whoosh's build time) the generation keeps a small title table (``titles.json``: token -> documents). Exact
wording comes from the ``ExactIndex`` (SQLite FTS5 trigram table) beside it.

The body is stored with positions (token ordinals from the analyzer); no text is stored in the index: the store
hydrates hits.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Iterable
from functools import lru_cache, reduce
from pathlib import Path

import numpy as np
from whoosh.analysis import Token, Tokenizer

from study_hub.domain import IndexRecord
from study_hub.index import vectorised
from study_hub.index.exact import ExactIndex
from study_hub.index.filters import SearchFilters
from study_hub.index.keyword import (
    FACET_FIELDS,
    TITLE_SCORE,
    GroupPresence,
    KeywordQuery,
    KeywordResults,
    Records,
    TermGroup,
    group_presence,
)
from study_hub.segment import tokens
from study_hub.segment.tokens import Analyzer, AnalyzerRecipe, default_analyzer

WHOOSH_DIR = "whoosh"
TITLES_FILE = "titles.json"


class StudyHubTokenizer(Tokenizer):
    """The analyzer's tokens as a whoosh tokenizer: ordinal positions, exact character offsets.

    whoosh pickles the schema, this tokenizer included, into the index: it keeps the analyzer's ``recipe``
    (None: the shipped analyzer, as in indexes from before the field), and each process (whoosh's writer
    processes too) builds that analyzer on first use.
    """

    recipe: AnalyzerRecipe | None = None
    _analyzer: Analyzer | None = None

    def __init__(self, analyzer: Analyzer | None = None):
        self.recipe = analyzer.recipe if analyzer is not None else None
        self._analyzer = analyzer

    def __getstate__(self):
        return {"recipe": self.recipe}

    def __eq__(self, other):
        return other.__class__ is self.__class__ and other.recipe == self.recipe

    def __hash__(self):
        return hash((self.__class__.__name__, self.recipe))

    @property
    def analyzer(self) -> Analyzer:
        if self._analyzer is None:
            self._analyzer = self.recipe.build() if self.recipe is not None else default_analyzer()
        return self._analyzer

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        for text, position, start, end in cached_tokens(self.analyzer, value):
            token.text = text
            token.boost = 1.0
            token.stopped = False
            if positions:
                token.pos = start_pos + position
            if chars:
                token.startchar = start_char + start
                token.endchar = start_char + end
            yield token


@lru_cache(maxsize=4096)
def _cached_short_tokens(analyzer: Analyzer, text: str) -> tuple[tokens.Token, ...]:
    return tuple(analyzer.index_tokens(text))


def cached_tokens(analyzer: Analyzer, text: str) -> tuple[tokens.Token, ...] | list[tokens.Token]:
    """The analyzer's index tokens; titles and heading paths repeat for every passage of a document, so short
    texts are tokenized once."""
    return _cached_short_tokens(analyzer, text) if len(text) <= 200 else analyzer.index_tokens(text)


def whoosh_schema(analyzer: Analyzer):
    from whoosh import fields

    tokenizer = StudyHubTokenizer(analyzer)
    return fields.Schema(
        passage_id=fields.ID(stored=True, unique=True, sortable=True),
        doc_id=fields.ID(sortable=True),
        heading=fields.TEXT(analyzer=tokenizer, field_boost=2.0, phrase=False),
        body=fields.TEXT(analyzer=tokenizer, phrase=True),
        level=fields.ID(sortable=True),
        kind=fields.ID(sortable=True),
        issuer=fields.ID(sortable=True),
        language=fields.ID,
        year=fields.NUMERIC(int, bits=16, signed=False, sortable=True),
        date=fields.ID(sortable=True),
        status=fields.ID(sortable=True),  # validity: current, amended, repealed, not_yet_effective, unknown
    )


def _document(record: IndexRecord) -> dict:
    return {
        "passage_id": record.passage_id, "doc_id": record.doc_id,
        "heading": record.heading, "body": record.text, "level": record.level or "",
        "kind": record.kind or "", "issuer": record.issuer or "", "language": record.language,
        "year": record.year or 0, "date": record.date or "", "status": record.status or "unknown",
    }


def write_titles(folder: Path, titles: dict[str, str], analyzer: Analyzer) -> None:
    """Save token -> [doc ids] for the titles (doc id -> title) of the generation's documents."""
    table: dict[str, list[str]] = {}
    for doc_id, title in sorted(titles.items()):
        for token in sorted({t.text for t in analyzer.index_tokens(title)}):
            table.setdefault(token, []).append(doc_id)
    (folder / TITLES_FILE).write_text(json.dumps({"titles": titles, "tokens": table}, ensure_ascii=False),
                                      encoding="utf-8")


def build(folder: Path, records: Records, titles: dict[str, str], *, analyzer: Analyzer, procs: int = 1) -> int:
    """The whoosh index, the title table and the exact-wording table of a new generation."""
    from whoosh import index

    target = folder / WHOOSH_DIR
    target.mkdir(parents=True)
    ix = index.create_in(str(target), whoosh_schema(analyzer))
    options = {"procs": procs, "multisegment": True, "limitmb": 256} if procs > 1 else {"limitmb": 256}
    count = _write(ix.writer(**options), (), records())
    write_titles(folder, titles, analyzer)
    exact = ExactIndex(folder, writable=True)
    try:
        exact.add(records())
        exact.optimize()
    finally:
        exact.close()
    return count


def update(folder: Path, remove_doc_ids: list[str], records: list[IndexRecord], titles: dict[str, str], *,
           analyzer: Analyzer) -> int:
    """Delete the passages of ``remove_doc_ids`` and add ``records`` (one whoosh commit, one SQLite transaction)."""
    from whoosh import index

    writer = index.open_dir(str(folder / WHOOSH_DIR)).writer(limitmb=128)
    for name in ("heading", "body"):  # this analyzer, wherever the one the index was built with was kept
        writer.schema[name].analyzer = StudyHubTokenizer(analyzer)
    _write(writer, remove_doc_ids, records)
    write_titles(folder, titles, analyzer)
    exact = ExactIndex(folder, writable=True)
    try:
        exact.delete_documents(remove_doc_ids)
        exact.add(records)
        return exact.count()
    finally:
        exact.close()


def open_index(folder: Path) -> WhooshKeywordIndex:
    return WhooshKeywordIndex(folder)


def _write(writer, remove_doc_ids: Iterable[str], records: Iterable[IndexRecord]) -> int:
    """Delete, add and commit as one; a failure cancels the writer (its segment files never count)."""
    count = 0
    try:
        for doc_id in remove_doc_ids:
            writer.delete_by_term("doc_id", doc_id)
        for record in records:
            writer.add_document(**_document(record))
            count += 1
    except BaseException:
        writer.cancel()
        raise
    writer.commit()
    return count


def members(sorted_values: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Which of ``wanted`` occur in ``sorted_values`` (ascending): a binary search each."""
    if not len(sorted_values):
        return np.zeros(len(wanted), dtype=bool)
    places = np.searchsorted(sorted_values, wanted).clip(max=len(sorted_values) - 1)
    return sorted_values[places] == wanted


class WhooshKeywordIndex:
    """Searches one generation folder (never modified once published).

    whoosh holds the index and defines the scores; queries are evaluated over its postings with numpy
    (``vectorised``), which gives the totals and facet counts of all matches in the same pass.
    """

    def __init__(self, folder: Path):
        from whoosh import index, scoring

        self.folder = folder
        self._ix = index.open_dir(str(folder / WHOOSH_DIR))
        self._searcher = self._ix.searcher(weighting=scoring.BM25F(B=vectorised.B, K1=vectorised.K1))
        self._arrays = vectorised.PostingArrays(self._searcher)
        self._exact = ExactIndex(folder)
        table = json.loads((folder / TITLES_FILE).read_text(encoding="utf-8"))["tokens"]
        self._title_docs = {token: tuple(doc_ids) for token, doc_ids in table.items()}
        self._lock = self._arrays.lock  # one reader of whoosh's files at a time (columns and postings alike)
        reader = self._searcher.reader()
        self._size = reader.doc_count_all()
        self._live = np.array([not reader.is_deleted(d) for d in range(self._size)], dtype=bool)
        self._columns: dict[str, np.ndarray] = {}
        self._codes: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # facet field -> (values, code per docnum)
        self._docnum_of: dict[str, int] = {}
        self._by_doc: dict[str, np.ndarray] = {}
        self._title_docnums: dict[str, np.ndarray] = {}
        self._date_rank: np.ndarray | None = None

    def close(self) -> None:
        self._searcher.close()
        self._exact.close()

    def _column(self, name: str) -> np.ndarray:
        """The value of a sortable field for every document number, read once.

        An index from before validity was indexed has no ``status``: every passage is ``unknown`` there, as the
        store then had every document (the next update rebuilds it, ``keyword.INDEX_FORMAT``).
        """
        with self._lock:
            if name not in self._columns:
                if name == "status" and name not in self._ix.schema:
                    self._columns[name] = np.full(self._size, "unknown", dtype=object)
                    return self._columns[name]
                column = self._searcher.reader().column_reader(name)
                values = [column[docnum] for docnum in range(self._size)]
                self._columns[name] = np.array(values, dtype=np.int64 if name == "year" else object)
            return self._columns[name]

    def _docnum_map(self) -> dict[str, int]:
        """passage id -> document number of every live passage (built once)."""
        if not self._docnum_of:
            ids = self._column("passage_id")
            self._docnum_of = {ids[d]: int(d) for d in np.flatnonzero(self._live)}
        return self._docnum_of

    def _docnums_of(self, passage_ids) -> np.ndarray:
        known = self._docnum_map()
        return np.fromiter((known[i] for i in passage_ids if i in known), dtype=np.int64)

    def _mask_of(self, docnums: np.ndarray) -> np.ndarray:
        mask = np.zeros(self._size, dtype=bool)
        mask[docnums] = True
        return mask

    def presence(self, groups: Iterable[TermGroup], passage_ids) -> GroupPresence:
        """Which of ``groups`` each of ``passage_ids`` holds, and how rare each is (``group_presence``).

        Postings are sorted document numbers, so membership of a few hundred candidates is a binary search per
        term, never an array over the whole index.
        """
        known = self._docnum_map()
        docnums = np.fromiter((known.get(pid, -1) for pid in passage_ids), dtype=np.int64)
        return group_presence(list(groups), docnums, lambda token: self._token_presence(token, docnums),
                              int(self._live.sum()))

    def _token_presence(self, token: str, docnums: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
        """(in the body or heading, in the document's title) for each document number, and how many passages
        hold the token (a title word counts every passage of the document)."""
        in_fields = np.zeros(len(docnums), dtype=bool)
        count = 0
        for name in vectorised.SCORED_FIELDS:
            postings = self._arrays.docnums(name, token)
            in_fields |= members(postings, docnums)
            count = max(count, len(postings))
        in_title = np.zeros(len(docnums), dtype=bool)
        if token in self._title_docs:
            titled = self._title_passages(token)
            in_title = members(titled, docnums)
            count = max(count, len(titled))
        return in_fields, in_title, count

    def facets_for(self, passage_ids) -> dict[str, dict[str, int]]:
        """Facet counts over the given passages (for result sets that are not a keyword match set)."""
        return self._facets_of(self._mask_of(self._docnums_of(passage_ids)))

    def _facets_of(self, mask: np.ndarray) -> dict[str, dict[str, int]]:
        counts = {}
        for name in FACET_FIELDS:
            if name not in self._codes:
                self._codes[name] = np.unique(self._column(name), return_inverse=True)
            values, codes = self._codes[name]
            found = np.bincount(codes[mask], minlength=len(values))
            counts[name] = {str(values[i]): int(found[i]) for i in sorted(
                np.flatnonzero(found), key=lambda i: (-found[i], str(values[i]))) if values[i] not in ("", 0, None)}
        return counts

    # query evaluation ---------------------------------------------------------------------------

    def _token(self, token: str) -> vectorised.Matches:
        """Passages with ``token`` in the body or heading, or in their document's title (a constant score)."""
        pairs = [self._arrays.term_scores(field, token) for field in vectorised.SCORED_FIELDS]
        if token in self._title_docs:
            docnums = self._title_passages(token)
            pairs.append((docnums, np.full(len(docnums), TITLE_SCORE)))
        return self._arrays.matches(pairs)

    def _title_passages(self, token: str) -> np.ndarray:
        """Document numbers of every passage whose document title contains ``token`` (cached)."""
        if token not in self._title_docnums:
            if not self._by_doc:
                doc_ids = self._column("doc_id")
                grouped: dict[str, list[int]] = {}
                for docnum in np.flatnonzero(self._live):
                    grouped.setdefault(doc_ids[docnum], []).append(int(docnum))
                self._by_doc = {doc: np.array(nums, dtype=np.int64) for doc, nums in grouped.items()}
            parts = [self._by_doc[doc] for doc in self._title_docs[token] if doc in self._by_doc]
            self._title_docnums[token] = np.sort(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)
        return self._title_docnums[token]

    def _group(self, group: TermGroup) -> vectorised.Matches:
        """Any alternative matches (scores of those that do add up); an alternative needs all its tokens."""
        found = self._arrays.nothing()
        for alternative in group.alternatives:
            if alternative:
                found = found | reduce(operator.and_, (self._token(t) for t in alternative))
        return found

    def _filter_mask(self, filters: SearchFilters) -> np.ndarray:
        mask = self._live.copy()
        for name, values in (("level", filters.levels), ("kind", filters.kinds), ("status", filters.statuses)):
            if values:
                mask &= np.isin(self._column(name), list(values))
        if filters.languages:  # not a column: its postings list the passages of each language
            docnums = [self._arrays.docnums("language", value) for value in filters.languages]
            mask &= self._mask_of(np.concatenate(docnums))
        if filters.year_from is not None or filters.year_to is not None:
            years = self._column("year")
            mask &= (years >= (filters.year_from or 1)) & (years <= (filters.year_to or 9999))
        if filters.doc_ids is not None:
            mask &= np.isin(self._column("doc_id"), list(filters.doc_ids))
        return mask

    # searching ----------------------------------------------------------------------------------

    def search(self, query: KeywordQuery, filters: SearchFilters, *, offset: int = 0, limit: int = 10,
               sort: str = "relevance", facets: bool = True) -> KeywordResults:
        """The hits ``offset:offset + limit``, the number of matches and facet counts over all of them.

        Relevance order is whoosh's: score, then document number.
        """
        nothing = KeywordResults(0, [], {name: {} for name in FACET_FIELDS} if facets else {})
        if filters.doc_ids is not None and not filters.doc_ids:
            return nothing
        allowed = self._filter_mask(filters)
        if query.phrases or query.excluded_phrases:
            allowed &= self._exact_mask(query)
            if not query.required and not query.excluded:
                return self._exact_only(query, allowed, offset, limit, sort, facets)

        if query.required:
            groups = [self._group(g) for g in query.required]
            main = reduce(operator.or_ if query.match_any else operator.and_, groups)
            hit, score = main.hit & allowed, main.score
        else:
            hit, score = allowed, np.zeros(self._size)
        for group in query.excluded:
            hit &= ~self._group(group).hit

        top = self._ranked(hit, score, offset + limit, sort)[offset:]
        ids = self._column("passage_id")
        hits = [(ids[d], float(score[d])) for d in top]
        return KeywordResults(int(hit.sum()), hits, self._facets_of(hit) if facets else {})

    def _ranked(self, hit: np.ndarray, score: np.ndarray, size: int, sort: str) -> np.ndarray:
        """The first ``size`` matching document numbers: by score (ties: document number), or newest first."""
        docnums = np.flatnonzero(hit)
        if not len(docnums) or size <= 0:
            return docnums[:0]
        scores = score[docnums]
        if sort == "date":
            order = np.lexsort((docnums, -scores, self._date_ranks()[docnums]))
            return docnums[order[:size]]
        if len(docnums) > size:  # keep the top ``size`` scores and every tie at the cut
            cut = np.partition(scores, len(scores) - size)[len(scores) - size]
            keep = scores >= cut
            docnums, scores = docnums[keep], scores[keep]
        return docnums[np.lexsort((docnums, -scores))[:size]]

    def _date_ranks(self) -> np.ndarray:
        """Per document number, its place in newest-first date order (undated last)."""
        if self._date_rank is None:
            dates = np.array([d or "0000" for d in self._column("date")], dtype=object)
            values, codes = np.unique(dates, return_inverse=True)
            self._date_rank = (len(values) - 1 - codes).astype(np.int64)
        return self._date_rank

    def _exact_only(self, query: KeywordQuery, allowed: np.ndarray, offset: int, limit: int, sort: str,
                    facets: bool) -> KeywordResults:
        """Exact wording alone: every passage that contains it is a hit; its words rank those that have them."""
        score = np.zeros(self._size)
        if query.scoring_tokens and sort != "date":
            words = reduce(operator.or_, (self._token(t) for t in query.scoring_tokens))
            score = np.where(allowed & words.hit, words.score, 0.0)
        top = self._ranked(allowed, score, offset + limit, sort)[offset:]
        ids = self._column("passage_id")
        hits = [(ids[d], float(score[d])) for d in top]
        return KeywordResults(int(allowed.sum()), hits, self._facets_of(allowed) if facets else {})

    def _exact_mask(self, query: KeywordQuery) -> np.ndarray:
        """Passages that contain every phrase and none of the excluded phrases."""
        mask = self._live.copy()
        for phrase in query.phrases:
            mask &= self._mask_of(self._docnums_of(self._exact.passages_containing(phrase)))
        for phrase in query.excluded_phrases:
            mask &= ~self._mask_of(self._docnums_of(self._exact.passages_containing(phrase)))
        return mask
