"""Search by meaning through the approximate index gives what exact search gives: the same interface, the same
scores for the passages it returns, filters applied before the cut, pages filled."""

from __future__ import annotations

import numpy as np
import pytest

from study_hub.domain import IndexRecord
from study_hub.index import approximate
from study_hub.index.filters import SearchFilters
from study_hub.index.semantic import ApproximateSimilarities, ExactSimilarities, SemanticIndex, write_vectors

PASSAGES = 6_000
DIMENSION = 64
LEVELS = ("central", "provincial", "municipal", "district")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """6,000 passages in 60 clusters (as real topics are), every third with two windows near it."""
    chance = np.random.default_rng(5)
    centres = chance.normal(size=(60, DIMENSION))
    own = centres[chance.integers(0, 60, PASSAGES)] + chance.normal(0, 0.35, (PASSAGES, DIMENSION))
    windowed = np.arange(0, PASSAGES, 3)
    window_of = np.repeat(windowed, 2)
    windows = own[window_of] + chance.normal(0, 0.3, (len(window_of), DIMENSION))
    matrix = np.concatenate([own, windows])
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    records = [IndexRecord(f"p{i}", f"d{i // 50}", "", "", "", LEVELS[(i // 50) % 4], "regulation", None,
                           f"{2000 + (i // 50) % 20}-01-01", None, "zh") for i in range(PASSAGES)]
    target = tmp_path_factory.mktemp("vectors")
    info = write_vectors(target, records, window_of.tolist(), matrix, approximate_from=1_000, model="model-a")
    assert info["kind"] == "faiss-ivf-sq8" and (target / approximate.FILE).is_file()
    return target, matrix


def _pair(folder):
    approximated = SemanticIndex(folder)
    exact = SemanticIndex(folder)
    exact.approximate = None
    return approximated, exact


def _questions(matrix, count=40):
    chance = np.random.default_rng(9)
    picked = matrix[chance.choice(PASSAGES, count, replace=False)] + chance.normal(0, 0.2, (count, DIMENSION))
    return (picked / np.linalg.norm(picked, axis=1, keepdims=True)).astype(np.float32)


def test_the_approximate_top_100_holds_95_percent_of_the_exact_one(folder) -> None:
    approximated, exact = _pair(folder[0])
    recalls = []
    for vector in _questions(folder[1]):
        fast = approximated.similarities(vector)
        assert isinstance(fast, ApproximateSimilarities)
        assert isinstance(exact.similarities(vector), ExactSimilarities)
        wanted = {h.passage_id for h in exact.search(vector, SearchFilters(), limit=100)}
        found = fast.top(SearchFilters(), limit=100)
        assert len(found) == 100
        recalls.append(len(wanted & {h.passage_id for h in found}) / 100)
    assert np.mean(recalls) >= 0.95


def test_scores_are_exact_for_every_passage_asked_for(folder) -> None:
    approximated, exact = _pair(folder[0])
    vector = _questions(folder[1], 1)[0]
    rows = np.array([0, 1, 2, 3, 5999, -1, 4242])
    fast_best, fast_own = approximated.similarities(vector).at(rows)
    best, own = exact.similarities(vector).at(rows)
    assert np.allclose(fast_best, best, atol=2e-3) and np.allclose(fast_own, own, atol=2e-3)
    assert fast_best[5] == fast_own[5] == 0  # a passage without a vector
    assert (fast_best >= fast_own).all() and fast_best[0] > fast_own[0] - 1e-6  # windows count for passage 0
    hits = approximated.search(vector, SearchFilters(), limit=10)
    scores = {h.passage_id: h.score for h in exact.search(vector, SearchFilters(), limit=PASSAGES)}
    assert all(abs(h.score - scores[h.passage_id]) < 2e-3 for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


@pytest.mark.parametrize("filters", [
    SearchFilters(levels=("municipal",)), SearchFilters(year_from=2003, year_to=2005),
    SearchFilters(doc_ids=frozenset({"d7", "d93"})), SearchFilters(levels=("district",), year_from=2019),
], ids=["level", "years", "two documents", "level and year"])
@pytest.mark.parametrize("exact_below", [0, approximate.EXACT_BELOW], ids=["through faiss", "as deployed"])
def test_filtered_searches_fill_the_page_from_allowed_passages(folder, filters: SearchFilters, exact_below: int,
                                                               monkeypatch) -> None:
    monkeypatch.setattr(approximate, "EXACT_BELOW", exact_below)  # 0: every filter goes through faiss's selector
    approximated, exact = _pair(folder[0])
    for vector in _questions(folder[1], 10):
        wanted = exact.search(vector, filters, limit=50)
        found = approximated.search(vector, filters, limit=50)
        assert len(found) == len(wanted)  # as many as the filter allows, up to the page
        allowed = exact.mask(filters)
        assert all(allowed[exact.row_of[h.passage_id]] for h in found)
        assert len({h.passage_id for h in found} & {h.passage_id for h in wanted}) >= 0.9 * len(wanted)


def test_a_page_fills_even_when_windows_take_the_rows_asked_for(folder, monkeypatch) -> None:
    monkeypatch.setattr(ApproximateSimilarities, "OVERFETCH", 1)  # as many rows as passages wanted
    approximated, exact = _pair(folder[0])
    for vector in _questions(folder[1], 10):
        found = approximated.search(vector, SearchFilters(), limit=30)
        assert len(found) == 30 == len({h.passage_id for h in found})
        wanted = {h.passage_id for h in exact.search(vector, SearchFilters(), limit=30)}
        assert len(wanted & {h.passage_id for h in found}) >= 25


def test_a_document_can_be_left_out(folder) -> None:
    approximated, _ = _pair(folder[0])
    vector = approximated.vector_of("p120")
    hits = approximated.similarities(vector).top(SearchFilters(), limit=20, exclude_doc="d2")
    assert hits and all(h.doc_id != "d2" for h in hits)


def test_small_generations_are_searched_exactly(tmp_path, folder) -> None:
    matrix = folder[1][:300]
    records = [IndexRecord(f"p{i}", "d", "", "", "", "central", None, None, None, None, "zh") for i in range(300)]
    (tmp_path / approximate.FILE).write_bytes(b"left by a larger generation")
    assert write_vectors(tmp_path, records, [], matrix) is None
    assert not (tmp_path / approximate.FILE).exists()
    assert SemanticIndex(tmp_path).approximate is None


def test_an_update_keeps_the_trained_cells_and_finds_the_new_rows(tmp_path, folder) -> None:
    import shutil

    source, matrix = folder
    for name in ("vectors.npy", "vectors.json", approximate.FILE, approximate.TRAINED):  # an update's copy
        shutil.copy(source / name, tmp_path / name)
    moved = matrix.copy()
    moved[:PASSAGES // 2] = moved[PASSAGES // 2:PASSAGES]  # half the passages changed their text
    records = [IndexRecord(f"q{i}", f"d{i // 50}", "", "", "", "central", None, None, None, None, "zh")
               for i in range(PASSAGES)]
    window_of = np.repeat(np.arange(0, PASSAGES, 3), 2).tolist()
    info = write_vectors(tmp_path, records, window_of, moved, approximate_from=1_000, model="model-a")
    assert info["trained"] is False
    other = tmp_path / "other"
    other.mkdir()
    for name in ("vectors.npy", "vectors.json", approximate.FILE, approximate.TRAINED):
        shutil.copy(tmp_path / name, other / name)
    retrained = write_vectors(other, records, window_of, moved, approximate_from=1_000, model="model-b")
    assert retrained["trained"] is True  # another model's vectors: its cells are not reused
    approximated, exact = _pair(tmp_path)
    vector = moved[10].astype(np.float32)
    found = [h.passage_id for h in approximated.search(vector, SearchFilters(), limit=10)]
    assert set(found[:2]) == {h.passage_id for h in exact.search(vector, SearchFilters(), limit=2)} == \
        {"q10", f"q{PASSAGES // 2 + 10}"}  # the passage and its copy, now an equal vector
