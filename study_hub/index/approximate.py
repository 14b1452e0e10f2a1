"""Approximate nearest-neighbour search over a large generation's vectors (faiss, inverted lists).

Below ``APPROXIMATE_FROM`` vector rows a generation is searched exactly (one product over every row: 4 ms
at 250 k rows). Above it the job worker also writes ``vectors.ivf``: a faiss ``IndexIVFScalarQuantizer``
(inverted lists over k-means cells, vectors stored as 8-bit codes, inner product). A query visits the
``nprobe`` cells nearest to it; the candidates it finds are then re-scored exactly from ``vectors.npy`` by the
caller, so the 8-bit codes decide only which rows are looked at, never a score. Filters are applied inside the
search (faiss ``IDSelectorBitmap``), so a filtered search fills its page from the allowed rows; when the filter
allows few passages, or the probed cells hold fewer than asked, the allowed passages are searched exactly
instead (``semantic.ApproximateSimilarities``).

Why faiss's inverted lists (``benchmarks/ann.py``, the same vectors and questions side by side): the best
recall per millisecond among what installs here with filtering inside the search (usearch's Python API has no
filter; hnswlib ships no wheel), a build that is mostly one k-means and one assignment pass (minutes at a million
passages, where HNSW takes several times longer on two cores), and a quarter of the float32 memory.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

# Vector rows (passages and windows; 1.45 per passage in the shared corpus) from which the approximate index is
# built. benchmarks/scale.py, hybrid p50 / p95 over 72 questions: at 290 k rows exact 46 / 65 ms, approximate
# 27 / 81 ms; at 1.45 M rows exact 115 / 134 ms, approximate 34 / 58 ms. Exact search grows with the rows and
# passes approximate's p95 at about 400 k rows (~275 k passages).
APPROXIMATE_FROM = 400_000
FILE = "vectors.ivf"
TRAINED = "vectors.ivf.json"  # what the cells were trained for: the model's fingerprint and the cell count
NPROBE = 48  # cells visited per query: recall@100 ≥ 0.95 against exact search (benchmarks/ann.py)
TRAINING_ROWS = 120_000
EXACT_BELOW = 20_000  # allowed passages under which a filtered query is answered exactly (their rows: ~5 ms)


def cells_for(rows: int) -> int:
    """About 2·√rows cells, a power of two (1,024 at 300 k rows, 4,096 at 2.5 M)."""
    return 2 ** max(8, round(math.log2(2 * math.sqrt(max(rows, 1)))))


def build(folder: Path, matrix: np.ndarray, *, model: str = "", seed: int = 1234) -> dict[str, Any]:
    """Train (unless the folder's previous index has suitable cells) and fill the index for ``matrix``
    (L2-normalised rows), and write it into ``folder``."""
    import faiss

    started = time.perf_counter()
    rows, dimension = matrix.shape
    cells = cells_for(rows)
    index = _trained_before(folder, dimension, cells, model)
    trained = index is None
    if index is None:
        quantizer = faiss.IndexFlatIP(dimension)
        index = faiss.IndexIVFScalarQuantizer(quantizer, dimension, cells, faiss.ScalarQuantizer.QT_8bit,
                                              faiss.METRIC_INNER_PRODUCT)
        chance = np.random.default_rng(seed)
        sample = np.sort(chance.choice(rows, size=min(rows, max(TRAINING_ROWS, cells * 40)), replace=False))
        index.train(np.ascontiguousarray(matrix[sample], dtype=np.float32))
    for start in range(0, rows, 65_536):
        index.add(np.ascontiguousarray(matrix[start:start + 65_536], dtype=np.float32))
    faiss.write_index(index, str(folder / FILE))
    (folder / TRAINED).write_text(json.dumps({"model": model, "cells": cells}), encoding="utf-8")
    return {"kind": "faiss-ivf-sq8", "cells": cells, "nprobe": NPROBE, "rows": rows, "trained": trained,
            "seconds": round(time.perf_counter() - started, 1)}


def _trained_before(folder: Path, dimension: int, cells: int, model: str):
    """The previous generation's index emptied, when its cells suit these vectors (an incremental update's copy
    of the generation holds it; the same model made its vectors): its k-means cells are kept and only the rows
    are added again."""
    import faiss

    path = folder / FILE
    try:
        trained = json.loads((folder / TRAINED).read_text(encoding="utf-8"))
        if not model or trained.get("model") != model or trained.get("cells") != cells:
            return None
        index = faiss.read_index(str(path))
    except (OSError, ValueError, RuntimeError):
        return None
    if index.d != dimension or getattr(index, "nlist", None) != cells or not index.is_trained:
        return None
    index.reset()
    return index


class ApproximateIndex:
    """The generation's ``vectors.ivf``, loaded in memory (8 bits per dimension and row)."""

    def __init__(self, folder: Path, vectors: np.ndarray):
        import faiss

        self._faiss = faiss
        self._index = faiss.read_index(str(folder / FILE))
        self._vectors = vectors  # the exact rows (memory-mapped float16)
        self.nprobe = NPROBE

    def search(self, vector: np.ndarray, count: int, allowed: np.ndarray | None = None) -> np.ndarray:
        """About the ``count`` best rows among ``allowed`` (a bool mask over every row; None: all), in no
        particular order; fewer only when the visited cells hold fewer allowed rows."""
        query = np.ascontiguousarray(vector, dtype=np.float32).reshape(1, -1)
        if allowed is None:
            parameters = self._faiss.SearchParametersIVF(nprobe=self.nprobe)
            _, found = self._index.search(query, count, params=parameters)
        else:
            bitmap = np.packbits(allowed, bitorder="little")  # kept alive until the search returns
            selector = self._faiss.IDSelectorBitmap(bitmap)  # the one-argument form holds a reference too
            # A filter allowing a fraction f of the rows visits nprobe / f cells: about as many allowed rows are
            # compared as an unfiltered search compares (the selector skips the others before any distance).
            share = max(float(allowed.mean()), 1e-6)
            visited = min(self._index.nlist, math.ceil(self.nprobe / share))
            parameters = self._faiss.SearchParametersIVF(sel=selector, nprobe=visited)
            _, found = self._index.search(query, count, params=parameters)
            del bitmap
        return found[0][found[0] >= 0]

    def exact_scores(self, vector: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """The exact inner product of ``vector`` with each of ``rows`` (read in ascending order from the map)."""
        order = np.argsort(rows)
        scores = np.empty(len(rows), dtype=np.float32)
        scores[order] = np.asarray(self._vectors[rows[order]], dtype=np.float32) @ vector.astype(np.float32)
        return scores
