"""Embedding index: passage vectors per generation, exact (brute-force) cosine search with filters.

Files in the generation folder: ``vectors.npy`` (float16 [rows, dimension], L2-normalised,
memory-mapped when searching) and ``vectors.json`` (passage ids in row order with the metadata filters
need). What is encoded is the passage with its document title and heading path (``embedded_text``); vectors
come from a cache keyed by the hash of that text (``VectorCache``), so re-indexing encodes only passages
whose text or context is new.

A long passage is also encoded as windows of a few sentences (``passage_windows``), each with the same
context line; these rows follow the passage rows, and a passage scores the best of its own vector and its
windows'. One vector for a 300-character paragraph averages its sentences, so a question about one of them
ranked the paragraph low (see the README's retrieval figures).

Search is a dot product against every row (float16: 4 ms over 250 k rows on 2 cores), exact, and it lets
filters (level, kind, language, year, validity, document) select rows *before* ranking instead of after a top-k
cut.
Above ``approximate.APPROXIMATE_FROM`` rows the generation also holds an approximate index (``approximate``):
the best rows are found through it, filters applied inside, and re-scored exactly from ``vectors.npy``.
Callers see one interface either way, ``SemanticIndex.similarities(vector)``.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from study_hub.domain import IndexRecord
from study_hub.index import approximate
from study_hub.index.filters import SearchFilters

VECTORS = "vectors.npy"
ROWS = "vectors.json"
PENDING = "vectors-pending.json"  # passages still without a vector (built with no model at hand)
LONG_PASSAGE = 160  # characters: longer passages are also encoded as sentence windows
WINDOW = 120  # characters a window holds at most (a longer sentence is a window of its own)
# Bump when what ``embedded_text`` or ``passage_windows`` encode changes: every generation's vectors are rebuilt.
EMBEDDED_TEXT_VERSION = f"title+heading+text/1+windows/{LONG_PASSAGE}/{WINDOW}"
_SENTENCE = re.compile(r"[^。！？；!?;]+[。！？；!?;]*")


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


class VectorCache:
    """passage text hash -> vector, in one SQLite file per model fingerprint."""

    def __init__(self, folder: Path, fingerprint: str, dimension: int):
        folder.mkdir(parents=True, exist_ok=True)
        self.dimension = dimension
        self.fingerprint = fingerprint
        self._db = sqlite3.connect(folder / f"{fingerprint}.sqlite3")
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB NOT NULL)")

    def close(self) -> None:
        self._db.close()

    def get_many(self, keys: list[str]) -> dict[str, np.ndarray]:
        found = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            rows = self._db.execute(f"SELECT key, vector FROM vectors WHERE key IN ({','.join('?' * len(chunk))})",
                                    chunk)
            for key, blob in rows:
                found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put_many(self, items: Iterable[tuple[str, np.ndarray]]) -> None:
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO vectors (key, vector) VALUES (?, ?)",
                                 ((key, np.asarray(v, dtype=np.float32).tobytes()) for key, v in items))


def embedded_text(record: IndexRecord, text: str | None = None) -> str:
    """What is encoded for a passage (or ``text``, one of its windows): title and heading path, then the text.

    A passage alone often does not say what it is about ("第十五条 本集体经济组织成员…" never names the
    law); the context line tells the model, as a reader sees it in the document.
    """
    text = record.text if text is None else text
    context = " > ".join(part for part in (record.title, record.heading) if part)
    return f"{context}\n{text}" if context else text


def passage_windows(text: str) -> list[str]:
    """Consecutive sentences of a long passage, packed into windows of at most ``WINDOW`` characters."""
    if len(text) <= LONG_PASSAGE:
        return []
    windows: list[str] = []
    current = ""
    for sentence in _SENTENCE.findall(text):
        if current and len(current) + len(sentence) > WINDOW:
            windows.append(current)
            current = ""
        current += sentence
    if current:
        windows.append(current)
    return windows if len(windows) > 1 else []


def write_vectors(folder: Path, records: list[IndexRecord], window_of: list[int], matrix: np.ndarray,
                  approximate_from: int | None = approximate.APPROXIMATE_FROM,
                  model: str = "") -> dict[str, Any] | None:
    """The generation's files: the vectors (passage rows, then window rows), the rows' metadata and, from
    ``approximate.APPROXIMATE_FROM`` rows, the approximate index (its description returned; None below);
    ``model``: the fingerprint of the model that made the vectors (an update reuses trained cells of the same).

    Stored as float16: half the memory to read per query (the product over every row is bound by memory
    speed), scores within 1e-3 of float32's (benchmarks/semantic.py).
    """
    matrix = matrix.astype(np.float16)
    np.save(folder / VECTORS, matrix)
    rows = {
        "passage_id": [r.passage_id for r in records], "doc_id": [r.doc_id for r in records],
        "level": [r.level or "" for r in records], "kind": [r.kind or "" for r in records],
        "language": [r.language for r in records], "year": [r.year or 0 for r in records],
        "status": [r.status or "unknown" for r in records], "window_of": window_of,
    }
    (folder / ROWS).write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    if approximate_from is None or len(matrix) < approximate_from:
        for name in (approximate.FILE, approximate.TRAINED):  # carried over from a larger generation
            (folder / name).unlink(missing_ok=True)
        return None
    return approximate.build(folder, matrix, model=model)


def build_vectors(folder: Path, records: list[IndexRecord], encode: Callable[[list[str]], np.ndarray] | None,
                  cache: VectorCache, progress: Callable[[int, int], None] | None = None,
                  chunk: int = 256, deadline: float | None = None) -> dict[str, Any]:
    """Write vectors for ``records`` (store order) and their windows into ``folder``; encode only what the
    cache lacks.

    ``encode`` None (no model in this process): only what the cache holds is written, and the passages
    lacking a vector (their own or a window's) are listed in ``PENDING`` for the job worker to encode; the
    vectors of unchanged passages are never thrown away. ``deadline`` (``time.monotonic()``): stop encoding
    then, and write what there is, the rest pending, so that a long encoding publishes as it goes.
    """
    texts_of: list[list[str]] = []  # per record: its own text, then its windows'
    for record in records:
        texts_of.append([embedded_text(record)] + [embedded_text(record, w) for w in passage_windows(record.text)])
    keys_of = [[text_key(t) for t in texts] for texts in texts_of]
    every_key = sorted({k for keys in keys_of for k in keys})
    cached = cache.get_many(every_key)
    encoded = 0
    if encode is not None:
        missing = sorted({k: t for keys, texts in zip(keys_of, texts_of, strict=True)
                          for k, t in zip(keys, texts, strict=True) if k not in cached}.items())
        for start in range(0, len(missing), chunk):
            part = missing[start:start + chunk]
            vectors = encode([text for _, text in part])
            fresh = list(zip((key for key, _ in part), vectors, strict=True))
            cache.put_many(fresh)
            cached.update(fresh)
            encoded += len(part)
            if progress:
                progress(encoded, len(missing))
            if deadline is not None and time.monotonic() > deadline:  # at least one chunk per call
                break
    kept: list[IndexRecord] = []
    own_keys: list[str] = []
    window_of: list[int] = []  # the passage row of each window row
    window_keys: list[str] = []
    pending: list[str] = []
    for record, keys in zip(records, keys_of, strict=True):
        if any(k not in cached for k in keys):
            pending.append(record.passage_id)
        if keys[0] not in cached:
            continue
        row = len(kept)
        kept.append(record)
        own_keys.append(keys[0])
        for key in keys[1:]:
            if key in cached:
                window_of.append(row)
                window_keys.append(key)
    matrix = np.zeros((len(own_keys) + len(window_keys), cache.dimension), dtype=np.float32)
    for row, key in enumerate(own_keys + window_keys):
        matrix[row] = cached[key]
    approximated = write_vectors(folder, kept, window_of, matrix, model=cache.fingerprint)
    (folder / PENDING).write_text(json.dumps(pending, ensure_ascii=False), encoding="utf-8")
    return {"passages": len(kept), "windows": len(window_of), "encoded": encoded,
            "reused": len(own_keys) + len(window_keys) - encoded, "pending": len(pending),
            "approximate": approximated}


class _Codes:
    """A column of strings as integer codes, for fast membership tests."""

    def __init__(self, values: list[str]):
        self.names, self.codes = np.unique(np.array(values, dtype=object), return_inverse=True)
        self.code_of = {name: code for code, name in enumerate(self.names)}

    def isin(self, values) -> np.ndarray:
        wanted = [self.code_of[v] for v in values if v in self.code_of]
        return np.isin(self.codes, wanted)


@dataclass
class SemanticHit:
    passage_id: str
    doc_id: str
    score: float


class SemanticIndex:
    """Searches one generation's vectors (memory-mapped)."""

    def __init__(self, folder: Path):
        # Copy-on-write mapping: torch takes it as a tensor without copying (it refuses read-only arrays).
        self.vectors = np.load(folder / VECTORS, mmap_mode="c")
        self._product = self._float16_product() if self.vectors.dtype == np.float16 else (
            lambda vector: np.asarray(self.vectors @ vector.astype(np.float32)))  # generations before float16
        rows = json.loads((folder / ROWS).read_text(encoding="utf-8"))
        self.passage_ids: list[str] = rows["passage_id"]
        # vectors written before validity was kept: every passage unknown, as the store then had it
        rows.setdefault("status", ["unknown"] * len(self.passage_ids))
        self.doc_ids = np.array(rows["doc_id"], dtype=object)
        # Categorical columns as small integer codes: a filter compares integers, not Python strings per row.
        self._columns = {name: _Codes(rows[name]) for name in ("doc_id", "level", "kind", "language", "status")}
        self._masks: dict[tuple[str, frozenset[str]], np.ndarray] = {}
        self.years = np.array(rows["year"], dtype=np.int32)
        self.row_of = {pid: row for row, pid in enumerate(self.passage_ids)}
        # Window rows follow the passage rows, grouped by passage in passage order: one reduceat finds each
        # passage's best window.
        window_of = np.array(rows.get("window_of", []), dtype=np.int64)
        self.window_of = window_of
        self.windowed, self.window_starts = np.unique(window_of, return_index=True)
        # passage row -> its first window row and how many it has (window rows are grouped by passage)
        passages = len(self.passage_ids)
        self.first_window = np.full(passages, -1, dtype=np.int64)
        self.window_count = np.zeros(passages, dtype=np.int64)
        if len(self.windowed):
            ends = np.append(self.window_starts[1:], len(window_of))
            self.first_window[self.windowed] = passages + self.window_starts
            self.window_count[self.windowed] = ends - self.window_starts
        self.approximate = approximate.ApproximateIndex(folder, self.vectors) if \
            (folder / approximate.FILE).is_file() else None

    def similarities(self, vector: np.ndarray) -> Similarities:
        """A query's similarity to every passage, searched exactly or through the approximate index."""
        if self.approximate is None:
            return ExactSimilarities(self, *self.scores_and_own(vector))
        return ApproximateSimilarities(self, vector)

    def __len__(self) -> int:
        return len(self.passage_ids)

    def _float16_product(self) -> Callable[[np.ndarray], np.ndarray]:
        import torch  # numpy has no fast float16 product; torch's reads half the bytes of float32's

        matrix = torch.from_numpy(self.vectors)
        return lambda vector: torch.mv(matrix, torch.from_numpy(vector.astype(np.float16))).float().numpy()

    def mask(self, filters: SearchFilters, exclude_doc: str | None = None) -> np.ndarray | None:
        """Rows allowed by the filters (None: all rows)."""
        mask = None

        def both(selected: np.ndarray) -> np.ndarray:
            return selected if mask is None else mask & selected

        for name, values in (("level", filters.levels), ("kind", filters.kinds), ("language", filters.languages),
                             ("status", filters.statuses)):
            if values:
                mask = both(self._rows_with(name, frozenset(values)))
        if filters.year_from is not None:
            mask = both(self.years >= filters.year_from)
        if filters.year_to is not None:
            mask = both((self.years <= filters.year_to) & (self.years > 0))
        if filters.doc_ids is not None:
            mask = both(self._columns["doc_id"].isin(filters.doc_ids))
        if exclude_doc is not None:
            mask = both(~self._columns["doc_id"].isin((exclude_doc,)))
        return mask

    def _rows_with(self, column: str, values: frozenset[str]) -> np.ndarray:
        """The rows whose ``column`` is one of ``values``; kept, since levels, kinds and languages are few."""
        key = (column, values)
        mask = self._masks.get(key)
        if mask is None:
            mask = self._masks[key] = self._columns[column].isin(values)
        return mask

    def scores(self, vector: np.ndarray) -> np.ndarray:
        """Every passage's similarity to ``vector``: the best of its own vector's and its windows'."""
        return self.scores_and_own(vector)[0]

    def scores_and_own(self, vector: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(best of each passage's vector and its windows', the passage vector's own) similarities.

        The two differ where one sentence of a long passage answers: the second-stage ranking uses both.
        """
        every_row = self._product(vector)
        own = every_row[:len(self.passage_ids)]
        scores = own
        if len(self.windowed):
            best_window = np.maximum.reduceat(every_row[len(self.passage_ids):], self.window_starts)
            scores = own.copy()
            scores[self.windowed] = np.maximum(scores[self.windowed], best_window)
        return scores, own

    def levels_of(self, rows: np.ndarray) -> list[str]:
        """The document level of each row ("" for -1, an unknown row)."""
        column = self._columns["level"]
        return [str(column.names[column.codes[row]]) if row >= 0 else "" for row in rows.tolist()]

    def rows(self, passage_ids: Iterable[str]) -> np.ndarray:
        """The row of each passage (-1 where the generation has no vector for it)."""
        return np.fromiter((self.row_of.get(pid, -1) for pid in passage_ids), dtype=np.int64)

    def top(self, scores: np.ndarray, filters: SearchFilters, limit: int = 100,
            exclude_doc: str | None = None) -> list[SemanticHit]:
        """The best ``limit`` passages by ``scores`` (from ``scores()``) among those the filters allow."""
        mask = self.mask(filters, exclude_doc)
        if mask is not None:
            scores = np.where(mask, scores, -np.inf)
        limit = min(limit, len(scores))
        if limit <= 0:
            return []
        top = np.argpartition(-scores, limit - 1)[:limit]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [SemanticHit(self.passage_ids[i], str(self.doc_ids[i]), float(scores[i]))
                for i in top if np.isfinite(scores[i])]

    def search(self, vector: np.ndarray, filters: SearchFilters, limit: int = 100,
               exclude_doc: str | None = None) -> list[SemanticHit]:
        return self.similarities(vector).top(filters, limit, exclude_doc)

    def hits(self, rows: np.ndarray, scores: np.ndarray, limit: int) -> list[SemanticHit]:
        """The best ``limit`` of passage ``rows`` by ``scores``, best first."""
        order = np.lexsort((rows, -scores))[:limit]
        return [SemanticHit(self.passage_ids[rows[i]], str(self.doc_ids[rows[i]]), float(scores[i])) for i in order]

    def vector_of(self, passage_id: str) -> np.ndarray | None:
        row = self.row_of.get(passage_id)
        return None if row is None else np.asarray(self.vectors[row], dtype=np.float32)


class Similarities:
    """A query vector's similarity to a generation's passages: each passage's best (its own vector's or a
    window's) and its own vector's."""

    def top(self, filters: SearchFilters, limit: int = 100, exclude_doc: str | None = None) -> list[SemanticHit]:
        """The best ``limit`` passages among those the filters allow."""
        raise NotImplementedError

    def at(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(best, own) similarity of each passage row (0 where the row is -1, a passage without a vector)."""
        raise NotImplementedError


class ExactSimilarities(Similarities):
    """Every passage's similarity, from one product over every row."""

    def __init__(self, index: SemanticIndex, best: np.ndarray, own: np.ndarray):
        self.index, self.best, self.own = index, best, own

    def top(self, filters: SearchFilters, limit: int = 100, exclude_doc: str | None = None) -> list[SemanticHit]:
        return self.index.top(self.best, filters, limit, exclude_doc)

    def at(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        known = rows >= 0
        return np.where(known, self.best[rows], 0.0), np.where(known, self.own[rows], 0.0)


class ApproximateSimilarities(Similarities):
    """Similarities of the passages the approximate index finds, and of any passage asked for, computed exactly
    from their rows (a passage's own row and its windows')."""

    OVERFETCH = 3  # rows asked of the approximate index per passage wanted: windows of one passage come together

    def __init__(self, index: SemanticIndex, vector: np.ndarray):
        self.index, self.vector = index, np.asarray(vector, dtype=np.float32)

    def top(self, filters: SearchFilters, limit: int = 100, exclude_doc: str | None = None) -> list[SemanticHit]:
        index = self.index
        passages = len(index.passage_ids)
        mask = index.mask(filters, exclude_doc)
        allowed = None
        if mask is not None:
            allowed_passages = np.flatnonzero(mask)
            if len(allowed_passages) <= max(approximate.EXACT_BELOW, limit):
                return self._exactly(allowed_passages, limit)
            allowed = np.concatenate([mask, mask[index.window_of]])
        asked = limit * self.OVERFETCH
        while True:  # rows of one passage (its windows) count once: ask again for more until the page fills
            rows = index.approximate.search(self.vector, asked, allowed)
            candidates = np.unique(np.where(rows >= passages, index.window_of[np.maximum(rows - passages, 0)], rows))
            if len(candidates) >= limit or len(rows) < asked or asked >= len(index.vectors):
                break
            asked *= 4
        if len(candidates) < limit and mask is not None and len(candidates) < len(allowed_passages):
            return self._exactly(allowed_passages, limit)  # the visited cells held too few allowed passages
        best, _ = self.at(candidates)
        return index.hits(candidates, best, limit)

    def _exactly(self, passage_rows: np.ndarray, limit: int) -> list[SemanticHit]:
        best, _ = self.at(passage_rows)
        return self.index.hits(passage_rows, best, limit)

    def at(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rows = np.asarray(rows, dtype=np.int64)
        known = rows >= 0
        exact = self.index.approximate.exact_scores
        own = np.zeros(len(rows), dtype=np.float32)
        own[known] = exact(self.vector, rows[known])
        best = own.copy()
        first, count = self.index.first_window, self.index.window_count
        windowed = np.flatnonzero(known & (count[np.maximum(rows, 0)] > 0))
        if len(windowed):
            counts = count[rows[windowed]]
            owners = np.repeat(windowed, counts)
            offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
            window_rows = np.repeat(first[rows[windowed]], counts) + offsets
            np.maximum.at(best, owners, exact(self.vector, window_rows))
        return best, own
