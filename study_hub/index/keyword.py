"""Keyword index: BM25F over passages (whoosh), behind the small ``KeywordIndex`` interface.

Callers hand over an engine-neutral ``KeywordQuery`` (already analyzed: groups of alternative token
sequences) and ``SearchFilters``; they get passage ids with scores, the total and facet counts. Exact
wording is answered by the ``ExactIndex`` in the same generation folder, so a quoted phrase matches
exactly the passages containing it, whatever jieba made of the phrase in context.

Scoring is BM25F over the body and the heading path (boost 2). A document's title is the same for all
its passages, so instead of indexing it once per passage (which cost a quarter of the build time), the
generation keeps a small title table (``titles.json``: token -> documents); a query word found in a
title matches every passage of those documents and adds a constant ``TITLE_SCORE``. So "宪法 选举" finds
the passages on elections in the constitution, and title words rank above body words.

The body is stored with positions (token ordinals from the analyzer); no text is stored in the index:
the store hydrates hits.
"""

from __future__ import annotations

import bisect
import json
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from whoosh import query, sorting
from whoosh.analysis import Token, Tokenizer

from study_hub.domain import IndexRecord
from study_hub.index.exact import ExactIndex
from study_hub.segment.tokens import default_analyzer

WHOOSH_DIR = "whoosh"
TITLES_FILE = "titles.json"
TITLE_SCORE = 3.0
FACET_FIELDS = ("level", "kind", "issuer", "year")


# --- the engine-neutral query --------------------------------------------------------------------

Alternative = tuple[str, ...]  # tokens that must all match


@dataclass(frozen=True)
class TermGroup:
    """One thing the user asked for: any of its alternatives must match (a word, its synonyms, OR)."""

    alternatives: tuple[Alternative, ...]

    @property
    def tokens(self) -> set[str]:
        return {token for alternative in self.alternatives for token in alternative}


@dataclass(frozen=True)
class SearchFilters:
    levels: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    year_from: int | None = None
    year_to: int | None = None
    doc_ids: frozenset[str] | None = None  # None: any document; empty: no document

    @property
    def empty(self) -> bool:
        return self == SearchFilters()


@dataclass(frozen=True)
class KeywordQuery:
    required: tuple[TermGroup, ...] = ()
    excluded: tuple[TermGroup, ...] = ()
    phrases: tuple[str, ...] = ()  # exact wording, each must occur
    excluded_phrases: tuple[str, ...] = ()
    scoring_tokens: tuple[str, ...] = ()  # tokens that rank phrase-only queries
    match_any: bool = False  # relaxed: any required group may match (ranked by how many do)


@dataclass
class KeywordResults:
    total: int
    hits: list[tuple[str, float]]  # (passage id, score) in rank order
    facets: dict[str, dict[str, int]] = field(default_factory=dict)


class KeywordIndex(Protocol):
    def search(self, query: KeywordQuery, filters: SearchFilters, *, offset: int = 0, limit: int = 10,
               sort: str = "relevance", facets: bool = True) -> KeywordResults: ...

    def close(self) -> None: ...


# --- whoosh --------------------------------------------------------------------------------------

class StudyHubTokenizer(Tokenizer):
    """The analyzer's tokens as a whoosh tokenizer: ordinal positions, exact character offsets.

    whoosh pickles the schema, this tokenizer included, into the index; it holds no state, and each
    process builds its own analyzer on first use.
    """

    def __eq__(self, other):
        return other.__class__ is self.__class__

    def __hash__(self):
        return hash(self.__class__.__name__)

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        for text, position, start, end in _cached_tokens(value):
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
def _cached_short_tokens(text: str):
    return tuple(default_analyzer().index_tokens(text))


def _cached_tokens(text: str):
    # Titles and heading paths repeat for every passage of a document: tokenize them once.
    return _cached_short_tokens(text) if len(text) <= 200 else default_analyzer().index_tokens(text)


def whoosh_schema():
    from whoosh import fields

    analyzer = StudyHubTokenizer()
    return fields.Schema(
        passage_id=fields.ID(stored=True, unique=True, sortable=True),
        doc_id=fields.ID(sortable=True),
        heading=fields.TEXT(analyzer=analyzer, field_boost=2.0, phrase=False),
        body=fields.TEXT(analyzer=analyzer, phrase=True),
        level=fields.ID(sortable=True),
        kind=fields.ID(sortable=True),
        issuer=fields.ID(sortable=True),
        language=fields.ID,
        year=fields.NUMERIC(int, bits=16, signed=False, sortable=True),
        date=fields.ID(sortable=True),
    )


def _document(record: IndexRecord) -> dict:
    return {
        "passage_id": record.passage_id, "doc_id": record.doc_id,
        "heading": record.heading, "body": record.text, "level": record.level or "",
        "kind": record.kind or "", "issuer": record.issuer or "", "language": record.language,
        "year": record.year or 0, "date": record.date or "",
    }


def write_titles(folder: Path, titles: dict[str, str]) -> None:
    """Save token -> [doc ids] for the titles (doc id -> title) of the generation's documents."""
    analyzer = default_analyzer()
    table: dict[str, list[str]] = {}
    for doc_id, title in sorted(titles.items()):
        for token in sorted({t.text for t in analyzer.index_tokens(title)}):
            table.setdefault(token, []).append(doc_id)
    (folder / TITLES_FILE).write_text(json.dumps({"titles": titles, "tokens": table}, ensure_ascii=False),
                                      encoding="utf-8")


def build_whoosh(folder: Path, records: Iterable[IndexRecord], *, procs: int = 1) -> int:
    """Write a new whoosh index of ``records`` into ``folder/whoosh``; return the passage count."""
    from whoosh import index

    target = folder / WHOOSH_DIR
    target.mkdir(parents=True)
    ix = index.create_in(str(target), whoosh_schema())
    options = {"procs": procs, "multisegment": True, "limitmb": 256} if procs > 1 else {"limitmb": 256}
    return _write(ix.writer(**options), (), records)


def update_whoosh(folder: Path, remove_doc_ids: Iterable[str], records: Iterable[IndexRecord]) -> int:
    """Delete the passages of ``remove_doc_ids`` and add ``records`` in one commit."""
    from whoosh import index

    return _write(index.open_dir(str(folder / WHOOSH_DIR)).writer(limitmb=128), remove_doc_ids, records)


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


def _relevance(score) -> float:
    """A hit's BM25 score; with sorting whoosh reports the sort key, whose last part is ScoreFacet's -score."""
    if isinstance(score, tuple):
        score = -score[-1] if score and isinstance(score[-1], int | float) else 0.0
    return float(score or 0.0)


class _DocnumsQuery(query.Query):
    """Matches a fixed set of (global) document numbers with a constant score.

    Used for title matches: "every passage of these documents". An Or of doc_id terms does the same but
    costs a posting-list merge per document at every search, which dominated query time at 50 k passages.
    """

    def __init__(self, top_searcher, docnums: list[int], score: float):
        self.top = top_searcher
        self.docnums = docnums  # sorted
        self.score = score

    def __eq__(self, other):
        return self is other

    def __hash__(self):
        return id(self)

    def __repr__(self):
        return f"_DocnumsQuery({len(self.docnums)} documents, score {self.score})"

    def estimate_size(self, ixreader):
        return len(self.docnums)

    def matcher(self, searcher, context=None):
        from whoosh import matching

        offset = next((off for sub, off in self.top.leaf_searchers() if sub is searcher), 0)
        low = bisect.bisect_left(self.docnums, offset)
        high = bisect.bisect_left(self.docnums, offset + searcher.doc_count_all())
        ids = [d - offset for d in self.docnums[low:high]]
        return matching.ListMatcher(ids, all_weights=self.score) if ids else matching.NullMatcher()


class _ListFacet(sorting.FacetType):
    """A facet over a per-document list held in memory.

    whoosh's FieldFacet re-reads the column's offset table at every search (O(documents) each time);
    the lists here are read once per generation.
    """

    def __init__(self, values: list, maptype=None):
        self.values = values
        self.maptype = maptype

    def categorizer(self, global_searcher):
        return _ListCategorizer(self.values)


class _ListCategorizer(sorting.Categorizer):
    def __init__(self, values: list):
        self.values = values
        self.offset = 0

    def set_searcher(self, segment_searcher, docoffset):
        self.offset = docoffset

    def key_for(self, matcher, segment_docnum):
        return self.values[self.offset + segment_docnum]


class WhooshKeywordIndex:
    """Searches one generation folder (never modified once published). One searcher, used under a lock."""

    def __init__(self, folder: Path):
        from whoosh import index, scoring

        self.folder = folder
        self._ix = index.open_dir(str(folder / WHOOSH_DIR))
        self._searcher = self._ix.searcher(weighting=scoring.BM25F(B=0.75, K1=1.2))
        self._exact = ExactIndex(folder)
        table = json.loads((folder / TITLES_FILE).read_text(encoding="utf-8"))["tokens"]
        self._title_docs = {token: tuple(doc_ids) for token, doc_ids in table.items()}
        self._lock = threading.Lock()
        self._columns: dict[str, list] = {}
        self._docnum_of: dict[str, int] = {}
        self._live: set[int] = set()
        self._title_docnums: dict[str, list[int]] = {}

    def close(self) -> None:
        self._searcher.close()
        self._exact.close()

    def _column(self, name: str) -> list:
        """The value of a stored column for every document number, read once (facets, exact wording)."""
        if name not in self._columns:
            reader = self._searcher.reader()
            column = reader.column_reader(name)
            self._columns[name] = [column[docnum] for docnum in range(reader.doc_count_all())]
            if not self._live:
                self._live = {d for d in range(reader.doc_count_all()) if not reader.is_deleted(d)}
        return self._columns[name]

    def _docnums_of(self, passage_ids) -> set[int]:
        if not self._docnum_of:
            ids = self._column("passage_id")
            self._docnum_of = {ids[d]: d for d in self._live}
        return {self._docnum_of[i] for i in passage_ids if i in self._docnum_of}

    def facets_for(self, passage_ids) -> dict[str, dict[str, int]]:
        """Facet counts over the given passages (for result sets that are not a keyword match set)."""
        with self._lock:
            self._column("passage_id")
            return self._facets_of(self._docnums_of(passage_ids))

    def _facets_of(self, docnums) -> dict[str, dict[str, int]]:
        counts = {}
        for name in FACET_FIELDS:
            values = Counter(self._column(name)[d] for d in docnums)
            counts[name] = self._sorted_counts(values)
        return counts

    @staticmethod
    def _sorted_counts(counts) -> dict[str, int]:
        return {str(value): count for value, count in sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
                if value not in ("", 0, None)}

    # query construction -------------------------------------------------------------------------

    def _token_query(self, token: str):
        from whoosh.query import Or, Term

        parts = [Term("body", token), Term("heading", token)]
        if token in self._title_docs:
            parts.append(_DocnumsQuery(self._searcher, self._title_passages(token), TITLE_SCORE))
        return Or(parts)

    def _title_passages(self, token: str) -> list[int]:
        """Document numbers of every passage whose document title contains ``token`` (cached)."""
        if token not in self._title_docnums:
            if "_by_doc" not in self._columns:
                by_doc: dict[str, list[int]] = {}
                doc_ids = self._column("doc_id")
                for docnum in sorted(self._live):
                    by_doc.setdefault(doc_ids[docnum], []).append(docnum)
                self._columns["_by_doc"] = by_doc  # type: ignore[assignment]
            by_doc = self._columns["_by_doc"]  # type: ignore[assignment]
            self._title_docnums[token] = sorted(d for doc in self._title_docs[token] for d in by_doc.get(doc, ()))
        return self._title_docnums[token]

    def _group_query(self, group: TermGroup):
        from whoosh.query import And, Or

        alternatives = [
            And([self._token_query(t) for t in alternative]) if len(alternative) > 1
            else self._token_query(alternative[0])
            for alternative in group.alternatives if alternative
        ]
        return alternatives[0] if len(alternatives) == 1 else Or(alternatives)

    @staticmethod
    def _filter_query(filters: SearchFilters):
        from whoosh.query import And, NumericRange, Or, Term

        parts = []
        for name, values in (("level", filters.levels), ("kind", filters.kinds), ("language", filters.languages)):
            if values:
                parts.append(Or([Term(name, value) for value in values]))
        if filters.year_from is not None or filters.year_to is not None:
            parts.append(NumericRange("year", filters.year_from or 1, filters.year_to or 9999))
        if filters.doc_ids is not None:
            parts.append(Or([Term("doc_id", doc_id) for doc_id in sorted(filters.doc_ids)]))
        return And(parts) if parts else None

    # searching ----------------------------------------------------------------------------------

    def search(self, query: KeywordQuery, filters: SearchFilters, *, offset: int = 0, limit: int = 10,
               sort: str = "relevance", facets: bool = True) -> KeywordResults:
        from whoosh.query import And, AndNot, Every, Or

        nothing = KeywordResults(0, [], {name: {} for name in FACET_FIELDS} if facets else {})
        if filters.doc_ids is not None and not filters.doc_ids:
            return nothing
        with self._lock:
            allowed = None  # a set of whoosh document numbers, when exact wording narrows the search
            if query.phrases or query.excluded_phrases:
                allowed = self._exact_docnums(query, filters)
                if not allowed:  # whoosh reads an empty filter as "no filter"
                    return nothing
                if not query.required and not query.excluded:
                    return self._exact_only(query, allowed, offset, limit, sort, facets)

            if query.required:
                group_queries = [self._group_query(g) for g in query.required]
                main = Or(group_queries) if query.match_any else And(group_queries)
            else:
                main = Every()
            if query.excluded:
                main = AndNot(main, Or([self._group_query(g) for g in query.excluded]))

            sortedby = None
            if sort == "date":
                sortedby = sorting.MultiFacet([_ListFacet(self._date_keys()), sorting.ScoreFacet()])
            groupedby = {name: _ListFacet(self._column(name), maptype=sorting.Count) for name in FACET_FIELDS} \
                if facets else None
            results = self._searcher.search(
                main, filter=allowed if allowed is not None else self._filter_query(filters),
                limit=offset + limit, sortedby=sortedby, groupedby=groupedby,
            )
            hits = [(hit["passage_id"], _relevance(hit.score)) for hit in results[offset:offset + limit]]
            facet_counts = {name: self._sorted_counts(results.groups(name)) for name in FACET_FIELDS} \
                if facets else {}
            return KeywordResults(len(results), hits, facet_counts)

    def _date_keys(self) -> list:
        """Sort keys for newest first: the date with its digits inverted, so ascending order is newest first."""
        if "_date_desc" not in self._columns:
            flip = str.maketrans("0123456789", "9876543210")
            self._columns["_date_desc"] = [(d or "0000").translate(flip) for d in self._column("date")]
        return self._columns["_date_desc"]

    def _exact_only(self, query: KeywordQuery, allowed: set[int], offset: int, limit: int, sort: str,
                    facets: bool) -> KeywordResults:
        """Exact wording alone: every passage that contains it is a hit; its words rank them."""
        from whoosh.query import Or

        ids = self._column("passage_id")
        if sort == "date":
            dates = self._date_keys()
            ordered = [(d, 0.0) for d in sorted(allowed, key=lambda d: (dates[d], d))]
        else:
            scored: list[tuple[int, float]] = []
            if query.scoring_tokens:
                results = self._searcher.search(Or([self._token_query(t) for t in query.scoring_tokens]),
                                                filter=allowed, limit=offset + limit)
                scored = [(hit.docnum, _relevance(hit.score)) for hit in results]
            seen = {d for d, _ in scored}
            ordered = scored + [(d, 0.0) for d in sorted(allowed) if d not in seen][: offset + limit]
        hits = [(ids[d], score) for d, score in ordered[offset:offset + limit]]
        return KeywordResults(len(allowed), hits, self._facets_of(allowed) if facets else {})

    def _exact_docnums(self, query: KeywordQuery, filters: SearchFilters) -> set[int]:
        self._column("passage_id")
        if query.phrases:
            docnums: set[int] | None = None
            for phrase in query.phrases:
                found = self._docnums_of(self._exact.passages_containing(phrase))
                docnums = found if docnums is None else docnums & found
            docnums = docnums or set()
        else:
            docnums = set(self._live)
        for phrase in query.excluded_phrases:
            docnums -= self._docnums_of(self._exact.passages_containing(phrase))
        filter_query = self._filter_query(filters)
        if filter_query is not None and docnums:
            docnums &= set(self._searcher.docs_for_query(filter_query))
        return docnums
