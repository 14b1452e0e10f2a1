"""The published generation as this process serves it: opened, warmed, shared by requests, closed after them.

``ServedGenerations`` follows ``indexes/current``: a newly published generation is opened (by one thread, while
the others go on with theirs) and used at once. A request holds the ``Generation`` it started with
(``using``) until it ends; a retired generation is closed by the last request that releases it, never under
one. Answers are kept per generation (``Generation.answers``, ``Generation.related``): a published generation
never changes, so an answer stays right for as long as it is served, and goes with it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from study_hub.errors import StudyHubError
from study_hub.index.builder import check_compatible, vector_coverage
from study_hub.index.filters import SearchFilters
from study_hub.index.generations import ReaderHold, current_generation, hold, read_manifest
from study_hub.index.keyword import KeywordQuery, TermGroup
from study_hub.index.keyword_engines import open_keyword_index
from study_hub.index.semantic import SemanticIndex
from study_hub.search.cache import Lru
from study_hub.segment.tokens import Analyzer


class IndexNotBuiltError(StudyHubError):
    pass


class Generation:
    """One published generation: its keyword index, its vectors (when meaning is on) and its answers.

    ``users`` counts the requests using it; once a newer generation is served it is ``retired``. ``hold`` keeps
    other processes' sweeps from removing its folder meanwhile.
    """

    def __init__(self, folder: Path, manifest: dict, hold: ReaderHold, with_vectors: bool, cache_size: int):
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
        # Members of a branch search the same words, and read the same passages, in the same week.
        self.answers = Lru(cache_size)  # (meaning state, request) -> SearchResponse
        self.related = Lru(cache_size)  # (passage id, per level) -> related passages by level

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


class ServedGenerations:
    """The generation ``indexes/current`` names, opened for this process, and those requests still hold.

    ``analyzer``: the one queries are analysed with; a generation built by another (its manifest's
    ``analyzer_version``) is refused with ``IndexMismatchError``, since its tokens would not match.
    """

    def __init__(self, indexes_root: Path, analyzer: Analyzer, *, with_vectors: bool, cache_size: int):
        self.indexes_root = indexes_root
        self.analyzer = analyzer
        self.with_vectors = with_vectors
        self.cache_size = cache_size
        self._lock = threading.Lock()  # guards _current and the use counts
        self._opening = threading.Lock()  # one thread opens a new generation; the others go on with theirs
        self._current: Generation | None = None

    @contextlib.contextmanager
    def using(self) -> Iterator[Generation]:
        """The generation to answer one request with, kept open (and unchanged) until the request ends."""
        current = self._acquire()
        try:
            yield current
        finally:
            self._release(current)

    def _acquire(self) -> Generation:
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

    def _release(self, generation: Generation) -> None:
        with self._lock:
            generation.users -= 1
            done = generation.retired and generation.users == 0
        if done:
            generation.close()

    def _open(self, folder: Path) -> Generation | None:
        reader_hold = hold(folder)
        if reader_hold is None:
            return None
        try:
            manifest = read_manifest(folder)
            check_compatible(manifest, self.analyzer)
            generation = Generation(folder, manifest, reader_hold, self.with_vectors, self.cache_size)
        except BaseException:
            reader_hold.release()
            raise
        try:
            generation.warm(self.analyzer)
        except BaseException:
            generation.close()  # its searcher, connection and hold: a generation that fails must not leak them
            raise
        return generation
