"""Whoosh's BM25F, evaluated with numpy over whoosh's own postings.

whoosh stores the index (segments, postings, field lengths) and defines the ranking; its searcher walks
postings one document at a time in Python, which at 100 k passages costs 0.1–1 s for a query whose words
are common (`benchmarks/semantic.py`). This evaluator reads each term's postings once per generation as
arrays (a block at a time) and computes the same BM25F scores, matches, totals and facet counts with whole-
array operations: a few milliseconds per query at 100 k passages.

Scores equal whoosh's: idf = log(N / (df + 1)) + 1 and bm25(tf, field length) per (field, term) exactly as
``whoosh.scoring.BM25F`` computes them, with the same quantised field lengths; an Or sums the scores of the
parts that match, an And the scores of all its parts. ``tests/integration/test_vectorised_keyword.py``
checks the rankings against whoosh's own searcher.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from whoosh.matching.wrappers import FilterMatcher

B = 0.75
K1 = 1.2
SCORED_FIELDS = ("body", "heading")


@dataclass
class Matches:
    """Which passages (document numbers) match, and with what score (0 where they do not)."""

    hit: np.ndarray  # bool [N]
    score: np.ndarray  # float64 [N]

    def __and__(self, other: Matches) -> Matches:
        hit = self.hit & other.hit
        return Matches(hit, np.where(hit, self.score + other.score, 0.0))

    def __or__(self, other: Matches) -> Matches:
        return Matches(self.hit | other.hit, self.score + other.score)


class PostingArrays:
    """Term postings of one whoosh index as numpy arrays, with whoosh's BM25F per (field, term)."""

    def __init__(self, searcher, cache_terms: int = 4096):
        self.searcher = searcher
        self.size = searcher.doc_count_all()
        self._leaves = [(leaf.reader(), offset) for leaf, offset in searcher.leaf_searchers()]
        self._lengths: dict[str, tuple[np.ndarray, float]] = {}  # field -> (length per document, average)
        self._cache: OrderedDict[tuple[str, str], tuple[np.ndarray, np.ndarray, int]] = OrderedDict()
        self._cache_terms = cache_terms
        # whoosh's readers seek and read shared file objects: one thread reads them at a time. Reads are
        # cached, so requests wait on each other only for terms not read before.
        self.lock = threading.Lock()

    def _field_lengths(self, field: str) -> tuple[np.ndarray, float]:
        """The (quantised) length whoosh scores each document's ``field`` with (1 where it has none), and
        the field's average length."""
        with self.lock:
            if field not in self._lengths:
                lengths = np.ones(self.size, dtype=np.float64)
                for reader, offset in self._leaves:
                    for docnum in range(reader.doc_count_all()):
                        lengths[offset + docnum] = reader.doc_field_length(docnum, field, 1)
                self._lengths[field] = (lengths, self.searcher.avg_field_length(field) or 1)
            return self._lengths[field]

    def docnums(self, field: str, token: str) -> np.ndarray:
        """Document numbers holding ``token`` in ``field`` (deleted ones included: callers mask them)."""
        return self._postings(field, token)[0]

    def _postings(self, field: str, token: str) -> tuple[np.ndarray, np.ndarray, int]:
        """(document numbers, weights, document frequency) of a term, read once and then cached."""
        key = (field, token)
        with self.lock:
            found = self._cache.get(key)
            if found is not None:
                self._cache.move_to_end(key)
                return found
            found = self._read(field, token)
            self._cache[key] = found
            while len(self._cache) > self._cache_terms:
                self._cache.popitem(last=False)
            return found

    def _read(self, field: str, token: str) -> tuple[np.ndarray, np.ndarray, int]:
        ids: list[np.ndarray] = []
        weights: list[np.ndarray] = []
        for reader, offset in self._leaves:
            if (field, token) not in reader:
                continue
            matcher = reader.postings(field, token)
            if isinstance(matcher, FilterMatcher):  # deletions: read the raw postings, the live mask drops them
                matcher = matcher.child
            while matcher.is_active():  # a block at a time: whoosh's leaf matcher keeps each block as arrays
                matcher._read_ids()
                matcher._read_weights()
                ids.append(np.asarray(matcher._ids, dtype=np.int64) + offset)
                weights.append(np.asarray(matcher._weights, dtype=np.float64))
                matcher._next_block()
        if not ids:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64), 0
        return np.concatenate(ids), np.concatenate(weights), self.searcher.doc_frequency(field, token)

    def term_scores(self, field: str, token: str) -> tuple[np.ndarray, np.ndarray]:
        """(document numbers, BM25F scores) of ``token`` in ``field``, as whoosh's BM25F scores them."""
        docnums, weights, frequency = self._postings(field, token)
        if not len(docnums):
            return docnums, weights
        lengths, average = self._field_lengths(field)
        idf = math.log(self.size / (frequency + 1)) + 1
        return docnums, idf * (weights * (K1 + 1)) / (weights + K1 * ((1 - B) + B * lengths[docnums] / average))

    def nothing(self) -> Matches:
        return Matches(np.zeros(self.size, dtype=bool), np.zeros(self.size, dtype=np.float64))

    def matches(self, pairs: list[tuple[np.ndarray, np.ndarray]]) -> Matches:
        """The Or of several (document numbers, scores) lists: matched by any, scored by the sum."""
        result = self.nothing()
        for docnums, scores in pairs:  # each list names a document once, so fancy-index addition is exact
            result.hit[docnums] = True
            result.score[docnums] += scores
        return result
