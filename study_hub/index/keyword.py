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

import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Protocol

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


def read_titles(folder: Path) -> dict[str, str]:
    return json.loads((folder / TITLES_FILE).read_text(encoding="utf-8"))["titles"]


def build_whoosh(folder: Path, records: Iterable[IndexRecord], *, procs: int = 1) -> int:
    """Write a new whoosh index of ``records`` into ``folder/whoosh``; return the passage count."""
    from whoosh import index

    target = folder / WHOOSH_DIR
    target.mkdir(parents=True)
    ix = index.create_in(str(target), whoosh_schema())
    options = {"procs": procs, "multisegment": True, "limitmb": 256} if procs > 1 else {"limitmb": 256}
    writer = ix.writer(**options)
    count = 0
    try:
        for record in records:
            writer.add_document(**_document(record))
            count += 1
    except BaseException:
        writer.cancel()
        raise
    writer.commit()
    return count


def update_whoosh(folder: Path, remove_doc_ids: Iterable[str], records: Iterable[IndexRecord]) -> int:
    """Delete the passages of ``remove_doc_ids`` and add ``records`` in one commit."""
    from whoosh import index

    ix = index.open_dir(str(folder / WHOOSH_DIR))
    writer = ix.writer(limitmb=128)
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
        self._docnums: dict[str, int] | None = None

    def close(self) -> None:
        self._searcher.close()
        self._exact.close()

    def _docnum_of(self) -> dict[str, int]:
        """passage id -> whoosh document number, built once per searcher (for exact-wording filters)."""
        if self._docnums is None:
            column = self._searcher.reader().column_reader("passage_id")
            self._docnums = {
                column[docnum]: docnum for docnum in range(self._searcher.doc_count_all())
                if not self._searcher.reader().is_deleted(docnum)
            }
        return self._docnums

    # query construction -------------------------------------------------------------------------

    def _token_query(self, token: str):
        from whoosh.query import ConstantScoreQuery, Or, Term

        parts = [Term("body", token), Term("heading", token)]
        title_docs = self._title_docs.get(token)
        if title_docs:
            parts.append(ConstantScoreQuery(Or([Term("doc_id", d) for d in title_docs]), TITLE_SCORE))
        return Or(parts)

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

    def search(self, query: KeywordQuery, filters: SearchFilters, *, offset: int = 0, limit: int = 10,
               sort: str = "relevance", facets: bool = True) -> KeywordResults:
        from whoosh import sorting
        from whoosh.query import And, AndNot, Every, Or

        if filters.doc_ids is not None and not filters.doc_ids:
            return KeywordResults(0, [], {name: {} for name in FACET_FIELDS} if facets else {})
        with self._lock:
            allowed = None  # a set of whoosh document numbers, when exact wording narrows the search
            if query.phrases or query.excluded_phrases:
                allowed = self._exact_docnums(query, filters)
                if not allowed:  # whoosh reads an empty filter as "no filter"
                    return KeywordResults(0, [], {name: {} for name in FACET_FIELDS} if facets else {})
            filter_query = self._filter_query(filters) if allowed is None else None

            if query.required:
                group_queries = [self._group_query(g) for g in query.required]
                main = Or(group_queries) if query.match_any else And(group_queries)
            elif query.scoring_tokens:  # phrase-only: every exact match counts, the tokens rank them
                main = Or([Every(), *(self._token_query(t) for t in query.scoring_tokens)])
            else:
                main = Every()
            if query.excluded:
                main = AndNot(main, Or([self._group_query(g) for g in query.excluded]))

            sortedby = None
            if sort == "date":
                sortedby = sorting.MultiFacet([sorting.FieldFacet("date", reverse=True), sorting.ScoreFacet()])
            groupedby = {name: sorting.FieldFacet(name, maptype=sorting.Count) for name in FACET_FIELDS} if facets \
                else None
            results = self._searcher.search(
                main, filter=allowed if allowed is not None else filter_query, limit=offset + limit,
                sortedby=sortedby, groupedby=groupedby,
            )
            hits = [(hit["passage_id"], _relevance(hit.score)) for hit in results[offset:offset + limit]]
            facet_counts = {}
            if facets:
                for name in FACET_FIELDS:
                    counts = results.groups(name)
                    facet_counts[name] = {
                        str(value): count for value, count in sorted(counts.items(), key=lambda kv: -kv[1])
                        if value not in ("", 0, None)
                    }
            return KeywordResults(len(results), hits, facet_counts)

    def _exact_docnums(self, query: KeywordQuery, filters: SearchFilters) -> set[int]:
        docnum_of = self._docnum_of()
        if query.phrases:
            ids = None
            for phrase in query.phrases:
                found = self._exact.passages_containing(phrase)
                ids = found if ids is None else ids & found
            docnums = {docnum_of[i] for i in ids or () if i in docnum_of}
        else:
            docnums = set(range(self._searcher.doc_count_all())) - {
                d for d in range(self._searcher.doc_count_all()) if self._searcher.reader().is_deleted(d)
            }
        for phrase in query.excluded_phrases:
            docnums -= {docnum_of[i] for i in self._exact.passages_containing(phrase) if i in docnum_of}
        filter_query = self._filter_query(filters)
        if filter_query is not None and docnums:
            docnums &= set(self._searcher.docs_for_query(filter_query))
        return docnums
