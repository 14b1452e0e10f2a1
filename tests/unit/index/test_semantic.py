"""What the embedding index encodes for a passage."""

from study_hub.domain import IndexRecord
from study_hub.index.semantic import WINDOW, embedded_text, passage_windows


def test_passages_are_embedded_with_their_context() -> None:
    record = IndexRecord("d.1", "d", "中华人民共和国农村集体经济组织法", "第二章 成员 > 第十五条", "第十五条 ……",
                         "central", "regulation", None, None, None, "zh")
    assert embedded_text(record) == "中华人民共和国农村集体经济组织法 > 第二章 成员 > 第十五条\n第十五条 ……"


def test_a_passage_without_context_is_its_text() -> None:
    record = IndexRecord("d.1", "d", "", "", "正文。", None, None, None, None, None, "zh")
    assert embedded_text(record) == "正文。"


def test_long_passages_are_also_windows_of_whole_sentences() -> None:
    text = "第一句讲在职党员到社区报到。" * 8 + "第二句讲志愿服务；" * 10
    windows = passage_windows(text)
    assert len(windows) > 1 and "".join(windows) == text  # every sentence once, in order
    assert all(len(w) <= WINDOW for w in windows)
    assert all(w.endswith(("。", "；")) for w in windows)  # cut between sentences, never inside one
    assert passage_windows("短的一段。" * 3) == []  # short passages are their own vector only
    assert passage_windows("没有句号" * 60) == []  # one long sentence: no window adds anything


def test_a_passage_scores_the_best_of_its_own_vector_and_its_windows(tmp_path) -> None:
    import json

    import numpy as np

    from study_hub.index.filters import SearchFilters
    from study_hub.index.semantic import ROWS, VECTORS, SemanticIndex

    # rows: passages a, b, c; then windows of a (two) and of c (one)
    vectors = np.array([[1, 0, 0], [0.8, 0.6, 0], [0.6, 0.8, 0], [0, 0, 1], [0, 1, 0], [0, 0.6, 0.8]],
                       dtype=np.float32)
    np.save(tmp_path / VECTORS, vectors)
    (tmp_path / ROWS).write_text(json.dumps({
        "passage_id": ["a", "b", "c"], "doc_id": ["d", "d", "e"], "level": ["central"] * 3, "kind": [""] * 3,
        "language": ["zh"] * 3, "year": [0] * 3, "window_of": [0, 0, 2]}), encoding="utf-8")
    index = SemanticIndex(tmp_path)
    hits = index.search(np.array([0, 0, 1], dtype=np.float32), SearchFilters())
    assert [(h.passage_id, round(h.score, 2)) for h in hits] == [("a", 1.0), ("c", 0.8), ("b", 0.0)]
    hits = index.search(np.array([0, 1, 0], dtype=np.float32), SearchFilters(), exclude_doc="d")
    assert [(h.passage_id, round(h.score, 2)) for h in hits] == [("c", 0.8)]
    assert len(index) == 3 and index.vector_of("a").tolist() == [1, 0, 0]


def test_filters_choose_rows_before_the_ranking(tmp_path) -> None:
    import json

    import numpy as np

    from study_hub.index.filters import SearchFilters
    from study_hub.index.semantic import ROWS, VECTORS, SemanticIndex

    vectors = np.eye(4, dtype=np.float32)
    np.save(tmp_path / VECTORS, vectors)
    (tmp_path / ROWS).write_text(json.dumps({
        "passage_id": ["a", "b", "c", "d"], "doc_id": ["x", "x", "y", "z"],
        "level": ["central", "provincial", "provincial", "district"], "kind": ["law", "plan", "law", "plan"],
        "language": ["zh", "zh", "en", "zh"], "year": [2019, 2021, 0, 2023]}), encoding="utf-8")
    index = SemanticIndex(tmp_path)
    query = np.array([0.4, 0.3, 0.2, 0.1], dtype=np.float32)

    def found(**filters) -> list[str]:
        exclude = filters.pop("exclude_doc", None)
        return [h.passage_id for h in index.search(query, SearchFilters(**filters), exclude_doc=exclude)]

    assert found() == ["a", "b", "c", "d"]
    assert found(levels=("provincial",)) == ["b", "c"]
    assert found(levels=("provincial", "district"), kinds=("plan",)) == ["b", "d"]
    assert found(languages=("en",)) == ["c"]
    assert found(year_from=2020) == ["b", "d"] and found(year_to=2020) == ["a"]  # no year: outside a range
    assert found(doc_ids=frozenset({"y", "z", "unknown"})) == ["c", "d"]
    assert found(levels=("municipal",)) == [] and found(doc_ids=frozenset({"unknown"})) == []
    assert found(exclude_doc="x") == ["c", "d"] and found(levels=("provincial",), exclude_doc="x") == ["c"]
    scores = index.scores(query)  # one product serves several filtered rankings (cross-level tracing)
    assert [h.passage_id for h in index.top(scores, SearchFilters(levels=("district",)))] == ["d"]
    # rows written before validity was kept: every passage unknown, as the store then had every document
    assert found(statuses=("current", "unknown")) == ["a", "b", "c", "d"] and found(statuses=("repealed",)) == []


def test_validity_chooses_rows_before_the_ranking(tmp_path) -> None:
    import numpy as np

    from study_hub.index.filters import SearchFilters
    from study_hub.index.semantic import SemanticIndex, write_vectors

    statuses = ["current", "amended", "repealed", "unknown"]
    records = [IndexRecord(f"p{i}", f"d{i}", "", "", "正文。", "central", None, None, None, None, "zh", status)
               for i, status in enumerate(statuses)]
    write_vectors(tmp_path, records, [], np.eye(4, dtype=np.float32))
    index = SemanticIndex(tmp_path)
    query = np.array([0.4, 0.3, 0.2, 0.1], dtype=np.float32)
    found = [h.passage_id for h in index.search(query, SearchFilters(statuses=("current", "not_yet_effective",
                                                                               "unknown")))]
    assert found == ["p0", "p3"]
    assert [h.passage_id for h in index.search(query, SearchFilters(statuses=("amended", "repealed")))] == \
        ["p1", "p2"]


def test_vectors_are_stored_as_float16_and_score_as_float32_did(tmp_path) -> None:
    import numpy as np

    from study_hub.domain import IndexRecord
    from study_hub.index.filters import SearchFilters
    from study_hub.index.semantic import VECTORS, SemanticIndex, write_vectors

    rng = np.random.default_rng(5)
    matrix = rng.standard_normal((50, 16)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    records = [IndexRecord(f"p{i}", f"d{i % 5}", "", "", "正文。", "central", None, None, None, None, "zh")
               for i in range(50)]
    write_vectors(tmp_path, records, [], matrix)
    assert np.load(tmp_path / VECTORS).dtype == np.float16
    index = SemanticIndex(tmp_path)
    query = matrix[7] + 0.1 * matrix[3]
    query /= np.linalg.norm(query)
    assert np.abs(index.scores(query) - matrix @ query).max() < 2e-3
    assert index.search(query, SearchFilters(), limit=1)[0].passage_id == "p7"
    assert index.vector_of("p7").dtype == np.float32 and np.allclose(index.vector_of("p7"), matrix[7], atol=1e-3)
