"""The tantivy keyword engine (the default): Rust postings and BM25, fed with the project's own tokens.

Fields of the ``tantivy/`` index in a generation folder:

- ``body``, ``heading``: the analyzer's search-mode tokens (ours, the same as the whoosh engine's and the
  highlighter's), BM25; the heading's terms counted twice (whoosh's field boost 2); tokenised by two processes
  in a large build.
- ``title``: the document title's tokens on every passage; a query word found there adds ``TITLE_SCORE``
  (a constant-score clause), the title table's semantics of the whoosh engine.
- ``exact``: the passage's folded text (``fold_exact``) as overlapping character bigrams, one per character
  (the last character alone), numbered by character. A phrase of n ≥ 3 characters is a phrase query over the
  bigrams at offsets 0, 2, 4, … and n−2, which together cover every character, so a passage matches if and
  only if its folded text contains the folded phrase; two characters are one bigram term, one character a
  prefix over the bigrams. ``tests/contract/`` checks this against a substring scan of the store.
- ``level``, ``kind``, ``issuer``, ``language``, ``status``, ``doc_id`` (raw terms), ``year``, ``date_key``
  (numbers): filters, facet counts (tantivy's terms aggregation over every match) and date order. Indexes built
  before ``status`` existed are served as if every passage's status were ``unknown`` (what the store said of
  every document then); the next update rebuilds them (``keyword.INDEX_FORMAT``).
- ``key``: a number per passage; ``keyword-keys.json`` beside the index maps it to the passage id and the
  metadata ``facets_for`` counts (no stored fields are read back at query time). Keys are never reused: an
  incremental update appends, and a removed passage leaves an empty slot.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import multiprocessing
import re
from collections.abc import Iterable, Iterator
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import numpy as np
import tantivy
from tantivy import FieldType, Occur, Query

from study_hub.domain import IndexRecord
from study_hub.index.filters import SearchFilters
from study_hub.index.keyword import (
    FACET_FIELDS,
    TITLE_SCORE,
    GroupPresence,
    KeywordQuery,
    KeywordResults,
    Records,
    TermGroup,
    TokenPresence,
    group_presence,
)
from study_hub.segment.tokens import Analyzer, fold_exact

TANTIVY_DIR = "tantivy"
KEYS_FILE = "keyword-keys.json"
SPACE = "\ue000"  # stands for whitespace inside an exact-wording bigram (the field's tokenizer splits on spaces)
WRITER_HEAP = 256_000_000  # bytes: fewer, larger segments at build time
FACET_BUCKETS = 100_000  # more distinct values than any facet has, so every count is exact
TABLE_COLUMNS = ("passage_id", "doc_id", "level", "kind", "issuer", "year", "status")


TERMS = "study_hub_terms"  # our terms, space-separated: split on spaces, nothing else (no lowercasing, no length cut)
_WHITESPACE = re.compile(r"\s")
CHUNK = 1_000  # records per task of the tokenising processes


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_unsigned_field("key", indexed=True, fast=True)
    builder.add_text_field("doc_id", tokenizer_name="raw", index_option="basic")
    builder.add_text_field("body", tokenizer_name=TERMS, index_option="freq")
    builder.add_text_field("heading", tokenizer_name=TERMS, index_option="freq")
    builder.add_text_field("title", tokenizer_name=TERMS, index_option="basic")
    builder.add_text_field("exact", tokenizer_name=TERMS, index_option="position")
    for name in ("level", "kind", "issuer", "language", "status"):
        builder.add_text_field(name, tokenizer_name="raw", index_option="basic", fast=True)
    builder.add_unsigned_field("year", indexed=True, fast=True)
    builder.add_unsigned_field("date_key", indexed=True, fast=True)
    return builder.build()


def _registered(index: tantivy.Index) -> tantivy.Index:
    index.register_tokenizer(TERMS, tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build())
    return index


def term(token: str) -> str:
    """An analyzer token as indexed: whitespace inside it (a dictionary phrase) stands as ``SPACE``."""
    return _WHITESPACE.sub(SPACE, token)


def exact_terms(text: str) -> list[str]:
    """The folded text as one term per character: the bigram it starts (the last character alone)."""
    folded = _WHITESPACE.sub(SPACE, fold_exact(text))
    if not folded:
        return []
    return [*map(str.__add__, folded, folded[1:]), folded[-1]]


def date_key(date: str | None) -> int:
    """2021-07-11 -> 20210711 (partial dates pad with zeros, undated is 0): newest first is largest first."""
    digits = re.sub(r"\D", "", date or "")[:8]
    return int(digits.ljust(8, "0")) if digits else 0


def _terms(analyzer: Analyzer, text: str | None) -> str:
    """The analyzer's index tokens of ``text`` (body, heading path or title), space-separated.

    Only the terms and their counts matter to BM25 (no positions are indexed for these fields: exact wording
    has its own field), so the tokens go in as one string that the ``TERMS`` tokenizer splits, much cheaper
    than a ``PreTokenizedString`` of token objects. Titles and heading paths repeat for every passage of a
    document: short texts are analysed once.
    """
    if not text:
        return ""
    return _short_terms(analyzer, text) if len(text) <= 200 else _joined(analyzer.index_terms(text))


@lru_cache(maxsize=4096)
def _short_terms(analyzer: Analyzer, text: str) -> str:
    return _joined(analyzer.index_terms(text))


def _joined(texts: list[str]) -> str:
    joined = " ".join(texts)
    if joined.count(" ") == len(texts) - 1 and not _WHITESPACE.search(joined.replace(" ", "")):
        return joined
    return " ".join(map(term, texts))  # a token holds whitespace (rare): mark it


def _fields(records: list[IndexRecord], analyzer: Analyzer) -> list[tuple[IndexRecord, str, str, str, str]]:
    """Each record with its four analysed fields (run in the tokenising processes, which rebuild ``analyzer``
    from its recipe, once each).

    The heading path's terms go in twice: whoosh weighs the heading (field boost 2) by doubling its term
    frequencies, and so does this engine. As a score factor instead, keyword-only MRR@10 on the policy
    development questions was 0.013 below whoosh's; counted twice, it is 0.006 above (hybrid: equal).
    """
    analysed = []
    for record in records:
        heading = _terms(analyzer, record.heading)
        analysed.append((record, _terms(analyzer, record.text), f"{heading} {heading}" if heading else "",
                         _terms(analyzer, record.title),
                         " ".join(exact_terms(record.text))))
    return analysed


def _analysed(records: Iterable[IndexRecord], analyzer: Analyzer,
              pool) -> Iterator[tuple[IndexRecord, str, str, str, str]]:
    """Records with their analysed fields, tokenised by the ``pool``'s processes (None: here)."""
    remaining = iter(records)
    chunks = iter(lambda: list(itertools.islice(remaining, CHUNK)), [])
    fields = partial(_fields, analyzer=analyzer)
    for analysed in (pool.imap(fields, chunks) if pool is not None else map(fields, chunks)):
        yield from analysed


@contextlib.contextmanager
def _tokenisers(procs: int) -> Iterator[Any]:
    """``procs`` tokenising processes (none for one). Started by a fork server, not forked from this process,
    which has threads (tantivy's writer, the job worker's heartbeat) whose locks a forked child could inherit
    held."""
    if procs <= 1:
        yield None
        return
    with multiprocessing.get_context("forkserver").Pool(procs) as pool:
        yield pool


def _document(key: int, record: IndexRecord, body: str, heading: str, title: str, exact: str) -> tantivy.Document:
    document = tantivy.Document()
    document.add_unsigned("key", key)
    document.add_text("doc_id", record.doc_id)
    document.add_text("body", body)
    if heading:
        document.add_text("heading", heading)
    if title:
        document.add_text("title", title)
    document.add_text("exact", exact)
    for name, value in (("level", record.level), ("kind", record.kind), ("issuer", record.issuer),
                        ("language", record.language), ("status", record.status or "unknown")):
        if value:
            document.add_text(name, value)
    document.add_unsigned("year", record.year or 0)
    document.add_unsigned("date_key", date_key(record.date))
    return document


class _KeyTable:
    """key -> passage id and the metadata facets are counted on; an empty passage id marks a removed passage."""

    def __init__(self, columns: dict[str, list]):
        self.columns = columns

    @classmethod
    def empty(cls) -> _KeyTable:
        return cls({name: [] for name in TABLE_COLUMNS})

    @classmethod
    def load(cls, folder: Path) -> _KeyTable:
        return cls(json.loads((folder / KEYS_FILE).read_text(encoding="utf-8")))

    def save(self, folder: Path) -> None:
        (folder / KEYS_FILE).write_text(json.dumps(self.columns, ensure_ascii=False), encoding="utf-8")

    def add(self, record: IndexRecord) -> int:
        key = len(self.columns["passage_id"])
        for name, value in (("passage_id", record.passage_id), ("doc_id", record.doc_id),
                            ("level", record.level or ""), ("kind", record.kind or ""),
                            ("issuer", record.issuer or ""), ("year", record.year or 0),
                            ("status", record.status or "unknown")):
            self.columns[name].append(value)
        return key

    @property
    def live(self) -> int:
        """Passages in the index (removed ones leave an empty slot)."""
        return sum(1 for pid in self.columns["passage_id"] if pid)

    def remove_documents(self, doc_ids: set[str]) -> None:
        for key, doc_id in enumerate(self.columns["doc_id"]):
            if doc_id in doc_ids:
                self.columns["passage_id"][key] = ""


def _write(index: tantivy.Index, table: _KeyTable, remove_doc_ids: list[str], records, analyzer: Analyzer,
           procs: int) -> None:
    """Deletions and additions in one commit; merges finished before return (a published generation's files
    never change). A failure rolls the writer back: nothing of it becomes visible."""
    with _tokenisers(procs) as pool:
        writer = index.writer(heap_size=WRITER_HEAP, num_threads=max(1, procs))
        try:
            for doc_id in remove_doc_ids:
                writer.delete_documents_by_term("doc_id", doc_id)
            table.remove_documents(set(remove_doc_ids))
            for record, *fields in _analysed(records, analyzer, pool):
                writer.add_document(_document(table.add(record), record, *fields))
            writer.commit()
        except BaseException:
            writer.rollback()
            raise
        writer.wait_merging_threads()


def build(folder: Path, records: Records, titles: dict[str, str], *, analyzer: Analyzer, procs: int = 1) -> int:
    """A new tantivy index of ``records()`` in ``folder`` (titles come with each record)."""
    target = folder / TANTIVY_DIR
    target.mkdir(parents=True)
    index = _registered(tantivy.Index(_schema(), path=str(target)))
    table = _KeyTable.empty()
    _write(index, table, [], records(), analyzer, procs)
    table.save(folder)
    return table.live


def update(folder: Path, remove_doc_ids: list[str], records: list[IndexRecord], titles: dict[str, str], *,
           analyzer: Analyzer) -> int:
    index = _registered(tantivy.Index.open(str(folder / TANTIVY_DIR)))
    table = _KeyTable.load(folder)
    _write(index, table, remove_doc_ids, records, analyzer, 1)
    table.save(folder)
    return table.live


def open_index(folder: Path) -> TantivyKeywordIndex:
    return TantivyKeywordIndex(folder)


def _const(query: Query, score: float = 0.0) -> Query:
    return Query.const_score_query(query, score)


class TantivyKeywordIndex:
    """Searches one generation folder (never modified once published). Thread-safe: tantivy's searcher is."""

    def __init__(self, folder: Path):
        self._index = tantivy.Index.open(str(folder / TANTIVY_DIR))
        self._schema = self._index.schema
        self._searcher = self._index.searcher()
        table = _KeyTable.load(folder).columns
        self._passage_ids: list[str] = table["passage_id"]
        # An index from before validity was indexed: every passage unknown, as the store then had it
        self._has_status = "status" in table
        table.setdefault("status", ["unknown"] * len(self._passage_ids))
        self._key_of = {pid: key for key, pid in enumerate(self._passage_ids) if pid}
        # facets_for counts over the table's columns as integer codes (a few hundred passages a call)
        self._codes = {name: np.unique(np.array(table[name], dtype=np.int64 if name == "year" else object),
                                       return_inverse=True) for name in FACET_FIELDS}
        self._size = self._searcher.num_docs
        self._frequencies: dict[tuple[str, str], int] = {}

    def close(self) -> None:
        self._searcher = None
        self._index = None

    # building queries ---------------------------------------------------------------------------

    def _frequency(self, field: str, token: str) -> int:
        """Passages holding ``token`` in ``field`` (kept: a generation never changes; dropped past 200 k terms)."""
        key = (field, token)
        found = self._frequencies.get(key)
        if found is None:
            if len(self._frequencies) > 200_000:
                self._frequencies.clear()
            found = self._frequencies[key] = self._searcher.doc_freq(field, term(token))
        return found

    def _term(self, field: str, token: str) -> Query:
        return Query.term_query(self._schema, field, term(token))

    def _scored(self, field: str, token: str, boost: float = 1.0) -> Query:
        """BM25 of ``token`` in ``field`` with the idf the whoosh engine uses, log(N / (df + 1)) + 1.

        tantivy's idf, ln(1 + (N − df + 0.5) / (df + 0.5)), lacks the + 1: common words weigh relatively less
        against rare ones and against the title constant, and on the development questions the two engines'
        top 10 agreed on 0.89 of the passages; with this boost on each term they agree as tested in
        ``tests/contract``.
        """
        frequency = self._frequency(field, token)
        if frequency:
            size = max(self._size, frequency)
            ours = math.log(size / (frequency + 1)) + 1
            theirs = math.log(1 + (size - frequency + 0.5) / (frequency + 0.5))
            boost *= ours / theirs
        return Query.boost_query(self._term(field, token), boost)

    def _token(self, token: str) -> Query:
        """A token in the body or heading (BM25) or the document's title (a constant)."""
        return Query.boolean_query([
            (Occur.Should, self._scored("body", token)),
            (Occur.Should, self._scored("heading", token)),
            (Occur.Should, _const(self._term("title", token), TITLE_SCORE)),
        ])

    def _group(self, group: TermGroup) -> Query:
        """Any alternative matches (the scores of those that do add up); an alternative needs all its tokens."""
        alternatives = [Query.boolean_query([(Occur.Must, self._token(t)) for t in alternative])
                        for alternative in group.alternatives if alternative]
        if not alternatives:
            return Query.empty_query()
        return Query.boolean_query([(Occur.Should, q) for q in alternatives])

    def _phrase(self, phrase: str) -> Query | None:
        """Passages whose folded text contains the folded ``phrase`` (None: the phrase folds to nothing)."""
        terms = exact_terms(phrase)
        if not terms:
            return None
        if len(terms) == 1:  # the bigrams starting with this character, or it alone at a passage's end
            return Query.regex_query(self._schema, "exact", f"\\x{{{ord(terms[0]):X}}}.?")
        grams = terms[:-1]
        if len(grams) == 1:
            return self._term("exact", grams[0])
        offsets = sorted({*range(0, len(grams), 2), len(grams) - 1})
        return Query.phrase_query(self._schema, "exact", [(offset, grams[offset]) for offset in offsets])

    def _filters(self, filters: SearchFilters) -> list[Query]:
        clauses = []
        for name, values in (("level", filters.levels), ("kind", filters.kinds), ("language", filters.languages)):
            if values:
                clauses.append(Query.term_set_query(self._schema, name, list(values)))
        if filters.statuses:
            if self._has_status:
                clauses.append(Query.term_set_query(self._schema, "status", list(filters.statuses)))
            elif "unknown" not in filters.statuses:
                clauses.append(Query.empty_query())
        if filters.year_from is not None or filters.year_to is not None:  # undated passages never match
            clauses.append(Query.range_query(self._schema, "year", FieldType.Unsigned, filters.year_from or 1,
                                             filters.year_to or 9999))
        if filters.doc_ids is not None:
            clauses.append(Query.term_set_query(self._schema, "doc_id", sorted(filters.doc_ids)))
        return clauses

    def _query(self, query: KeywordQuery, filters: SearchFilters, sort: str) -> Query | None:
        """The whole request as one query (None: nothing can match)."""
        clauses = [(Occur.Must, _const(q)) for q in self._filters(filters)]
        for phrase in query.phrases:
            found = self._phrase(phrase)
            if found is None:
                return None
            clauses.append((Occur.Must, _const(found)))
        for phrase in query.excluded_phrases:
            found = self._phrase(phrase)
            if found is not None:
                clauses.append((Occur.MustNot, found))
        if query.required:
            groups = [self._group(g) for g in query.required]
            if query.match_any:
                clauses.append((Occur.Must, Query.boolean_query([(Occur.Should, g) for g in groups])))
            else:
                clauses.extend((Occur.Must, g) for g in groups)
        elif query.phrases and query.scoring_tokens and not query.excluded and sort != "date":
            # exact wording alone: every passage holding it is a hit; its words rank those that have them
            clauses.append((Occur.Should, Query.boolean_query(
                [(Occur.Should, self._token(t)) for t in query.scoring_tokens])))
        clauses.extend((Occur.MustNot, self._group(g)) for g in query.excluded)
        if not any(occur == Occur.Must for occur, _ in clauses):
            clauses.append((Occur.Must, _const(Query.all_query())))
        return Query.boolean_query(clauses)

    # searching ----------------------------------------------------------------------------------

    def search(self, query: KeywordQuery, filters: SearchFilters, *, offset: int = 0, limit: int = 10,
               sort: str = "relevance", facets: bool = True) -> KeywordResults:
        """The hits ``offset:offset + limit``, the number of matches and facet counts over all of them."""
        nothing = KeywordResults(0, [], {name: {} for name in FACET_FIELDS} if facets else {})
        if filters.doc_ids is not None and not filters.doc_ids:
            return nothing
        built = self._query(query, filters, sort)
        if built is None:
            return nothing
        if sort == "date":
            total, hits = self._newest_first(built, offset, limit)
        else:
            found = self._searcher.search(built, max(limit, 0), count=True, offset=offset) if limit > 0 else \
                self._searcher.search(built, 1, count=True)
            total = found.count
            hits = found.hits if limit > 0 else []
        keys = self._searcher.fast_field_values("key", [address for _, address in hits]) if hits else []
        ids = [(self._passage_ids[key], float(score)) for key, (score, _) in zip(keys, hits, strict=True)]
        return KeywordResults(total, ids, self._facets(built, total) if facets else {})

    def _newest_first(self, query: Query, offset: int, limit: int) -> tuple[int, list]:
        """Matches by date, newest first, then by score: the first ``offset + limit`` as (score, address).

        tantivy orders by one fast field or by score, not both; so the date of the last hit wanted is found
        first, then the hits above that date and those at it are each taken by score.
        """
        wanted = offset + limit
        by_date = self._searcher.search(query, max(wanted, 1), count=True, order_by_field="date_key")
        if wanted <= 0 or not by_date.hits:
            return by_date.count, []
        cut = by_date.hits[-1][0]
        newer = Query.boolean_query([(Occur.Must, query), (Occur.Must, _const(Query.range_query(
            self._schema, "date_key", FieldType.Unsigned, cut, None, include_lower=False)))])
        above = self._searcher.search(newer, wanted, count=False).hits
        dates = self._searcher.fast_field_values("date_key", [address for _, address in above]) if above else []
        ordered = [hit for _, hit in sorted(zip(dates, above, strict=True), key=lambda pair: -pair[0])]
        at_cut = Query.boolean_query([(Occur.Must, query), (Occur.Must, _const(Query.range_query(
            self._schema, "date_key", FieldType.Unsigned, cut, cut)))])
        if wanted > len(ordered):
            ordered += self._searcher.search(at_cut, wanted - len(ordered), count=False).hits
        return by_date.count, ordered[offset:wanted]

    def _facets(self, query: Query, total: int) -> dict[str, dict[str, int]]:
        request = {name: {"terms": {"field": name, "size": FACET_BUCKETS, "segment_size": FACET_BUCKETS}}
                   for name in FACET_FIELDS}
        found = self._searcher.aggregate(query, request)
        counts = {}
        for name in FACET_FIELDS:
            buckets = [(str(int(b["key"])) if isinstance(b["key"], int | float) else str(b["key"]), int(b["doc_count"]))
                       for b in found.get(name, {}).get("buckets", [])]
            counts[name] = dict(sorted(((value, count) for value, count in buckets if value not in ("", "0")),
                                       key=lambda item: (-item[1], item[0])))
        if not self._has_status:
            counts["status"] = {"unknown": total} if total else {}
        return counts

    def facets_for(self, passage_ids) -> dict[str, dict[str, int]]:
        """Facet counts over the given passages (for result sets that are not a keyword match set)."""
        keys = np.fromiter((k for k in (self._key_of.get(pid) for pid in passage_ids) if k is not None),
                           dtype=np.int64)
        counts = {}
        for name in FACET_FIELDS:
            values, codes = self._codes[name]
            found = np.bincount(codes[keys], minlength=len(values))
            counts[name] = {str(values[i]): int(found[i]) for i in sorted(
                np.flatnonzero(found), key=lambda i: (-found[i], str(values[i]))) if values[i] not in ("", 0, None)}
        return counts

    def presence(self, groups, passage_ids) -> GroupPresence:
        """Which of ``groups`` each of ``passage_ids`` holds, and how rare each is (``group_presence``)."""
        groups = list(groups)
        keys = np.fromiter((self._key_of.get(pid, -1) for pid in passage_ids), dtype=np.int64)
        tokens = list(dict.fromkeys(t for g in groups for a in g.alternatives for t in a))
        found = self._tokens_presence(tokens, keys)
        return group_presence(groups, keys, found.__getitem__, self._size)

    def _tokens_presence(self, tokens: list[str], keys: np.ndarray) -> dict[str, TokenPresence]:
        """Where each token occurs among the candidates (``keys``), a dozen tokens per query.

        Each token contributes two constant-score clauses, 4^i (body or heading) and 2·4^i (title), so a
        candidate's score spells out which of the dozen it holds (24 bits: exact in a float's mantissa).
        """
        known = keys[keys >= 0]
        bits = np.zeros(len(keys), dtype=np.int64)
        found: dict[str, TokenPresence] = {}
        candidates = _const(Query.term_set_query(self._schema, "key", [int(k) for k in known])) if len(known) else None
        for start in range(0, len(tokens), 12):
            chunk = tokens[start:start + 12]
            bits[:] = 0
            if candidates is not None:
                clauses = [(Occur.Must, candidates)]
                for place, token in enumerate(chunk):
                    fields = Query.boolean_query([(Occur.Should, self._term("body", token)),
                                                  (Occur.Should, self._term("heading", token))])
                    clauses.append((Occur.Should, _const(fields, float(4 ** place))))
                    clauses.append((Occur.Should, _const(self._term("title", token), float(2 * 4 ** place))))
                hits = self._searcher.search(Query.boolean_query(clauses), len(known), count=False).hits
                holders = self._searcher.fast_field_values("key", [address for _, address in hits]) if hits else []
                code_of = {key: round(score) for (score, _), key in zip(hits, holders, strict=True)}
                bits = np.fromiter((code_of.get(int(key), 0) for key in keys), dtype=np.int64, count=len(keys))
            for place, token in enumerate(chunk):
                count = max(self._frequency(field, token) for field in ("body", "heading", "title"))
                found[token] = ((bits >> (2 * place)) & 1).astype(bool), ((bits >> (2 * place + 1)) & 1).astype(bool), \
                    count
        return found
