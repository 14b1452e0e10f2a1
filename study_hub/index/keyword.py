"""Keyword index: BM25 over passages behind the small ``KeywordIndex`` interface, on one of two engines.

Callers hand over an engine-neutral ``KeywordQuery`` (already analyzed: groups of alternative token
sequences) and ``SearchFilters``; they get passage ids with scores, the total and facet counts. Exact wording
(quoted phrases) matches exactly the passages whose folded text contains the folded phrase, whatever jieba
made of the phrase in context.

Both engines index the tokens of the analyzer they are given (the shipped one by default; the query side and
the highlighter must use the same one, which the manifest's ``analyzer_version`` records), score BM25 over the
body and the heading path (heading boosted), and give a query word found in a document's title a constant
``TITLE_SCORE`` on every passage of that document, so "宪法 选举" finds the passages on elections in the
constitution and title words rank above body words.

- ``tantivy`` (default, ``keyword_tantivy``): the Rust engine; exact wording from a character-bigram field.
- ``whoosh`` (``keyword_whoosh``, ``STUDY_HUB_KEYWORD_ENGINE=whoosh``): the engine the design names, pure
  Python, evaluated with numpy over its postings; exact wording from an SQLite FTS5 trigram table.

Which engine builds, updates and opens an index is ``keyword_engines``' business (this module is the contract
both engines implement, so neither imports the other's chooser). ``tests/contract/`` runs the same suite
against both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from study_hub.domain import IndexRecord
from study_hub.index.filters import SearchFilters

TITLE_SCORE = 3.0
FACET_FIELDS = ("level", "kind", "issuer", "year", "status")
# The fields every generation's indexes hold, as a number a manifest records (``index_format``): an update of a
# generation of an older format rebuilds it whole. 2: the documents' validity (``status``) is a field.
INDEX_FORMAT = 2


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


@dataclass
class GroupPresence:
    """For candidate passages (rows) and the groups of a query (columns): where each group occurs."""

    held: np.ndarray  # bool [passages, groups]: in the body, heading or title
    in_title: np.ndarray  # bool [passages, groups]: in the document's title
    idf: np.ndarray  # float [groups]: log(N / (passages matching + 1)) + 1, as BM25's


class KeywordIndex(Protocol):
    def search(self, query: KeywordQuery, filters: SearchFilters, *, offset: int = 0, limit: int = 10,
               sort: str = "relevance", facets: bool = True) -> KeywordResults: ...

    def presence(self, groups: Iterable[TermGroup], passage_ids) -> GroupPresence: ...

    def facets_for(self, passage_ids) -> dict[str, dict[str, int]]: ...

    def close(self) -> None: ...


Records = Callable[[], Iterable[IndexRecord]]  # a fresh pass over the passages to index, each call


TokenPresence = tuple[np.ndarray, np.ndarray, int]  # (in body or heading, in the title) per candidate; passages


def group_presence(groups: list[TermGroup], rows: np.ndarray, token_presence: Callable[[str], TokenPresence],
                   passages: int) -> GroupPresence:
    """Which of ``groups`` each candidate holds (body, heading or title), and how rare each group is.

    ``rows``: each candidate's place in the engine (-1: not in the index); ``token_presence(token)``: where a
    token occurs among the candidates and in how many passages in all. The second-stage ranking asks how much
    of a question a passage covers, weighting rare words above common ones; a group's document frequency is
    taken as its most frequent alternative's, an alternative's as its rarest token's (no union or intersection
    over the index is needed).
    """
    held = np.zeros((len(rows), len(groups)), dtype=bool)
    in_title = np.zeros((len(rows), len(groups)), dtype=bool)
    frequency = np.zeros(len(groups), dtype=np.int64)
    for column, group in enumerate(groups):
        for alternative in (a for a in group.alternatives if a):
            anywhere = np.ones(len(rows), dtype=bool)
            titled = np.ones(len(rows), dtype=bool)
            rarest = None
            for token in alternative:
                in_fields, in_doc_title, count = token_presence(token)
                anywhere &= in_fields | in_doc_title
                titled &= in_doc_title
                rarest = count if rarest is None else min(rarest, count)
            held[:, column] |= anywhere
            in_title[:, column] |= titled
            frequency[column] = max(frequency[column], rarest or 0)
    held[rows < 0] = False
    in_title[rows < 0] = False
    idf = np.log(max(passages, 1) / (frequency + 1)) + 1
    return GroupPresence(held=held, in_title=in_title, idf=idf)
