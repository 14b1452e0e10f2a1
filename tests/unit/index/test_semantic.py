"""What the embedding index encodes for a passage."""

from study_hub.domain import IndexRecord
from study_hub.index.semantic import embedded_text


def test_passages_are_embedded_with_their_context() -> None:
    record = IndexRecord("d.1", "d", "中华人民共和国农村集体经济组织法", "第二章 成员 > 第十五条", "第十五条 ……",
                         "central", "regulation", None, None, None, "zh")
    assert embedded_text(record) == "中华人民共和国农村集体经济组织法 > 第二章 成员 > 第十五条\n第十五条 ……"


def test_a_passage_without_context_is_its_text() -> None:
    record = IndexRecord("d.1", "d", "", "", "正文。", None, None, None, None, None, "zh")
    assert embedded_text(record) == "正文。"
