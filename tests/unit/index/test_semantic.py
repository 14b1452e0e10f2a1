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

    from study_hub.index.keyword import SearchFilters
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
