import pytest

from study_hub.segment.grammar import parse_heading, sentence_ends


@pytest.mark.parametrize(
    ("line", "rank", "element", "standalone"),
    [
        ("一、总体要求", 5, "一、总体要求", True),
        ("（一）指导思想。以习近平新时代中国特色社会主义思想为指导。", 6, "（一）指导思想", False),
        ("（二十二）加强基层治理队伍建设", 6, "（二十二）加强基层治理队伍建设", True),
        ("第一章　总则", 2, "第一章　总则", True),
        ("第一编 总则", 1, "第一编 总则", True),
        ("第三节　战略导向", 3, "第三节　战略导向", True),
        ("第二十四条 省、自治区、直辖市根据当地实际情况，可以决定将基层管理迫切需要的县级人民政府部门的行政处罚权交由能够有效承接的乡镇人民政府、街道办事处行使。",
         4, "第二十四条", False),
        ("1．坚持党的领导。必须坚持党的全面领导。", 7, "1．坚持党的领导", False),
        ("（3）完善考核办法", 8, "（3）完善考核办法", True),
        ("Chapter I General Principles", 2, "Chapter I General Principles", True),
        ("Article 1 The People's Republic of China is a socialist state.", 4, "Article 1", False),
        ("II. Major Tasks", 5, "II. Major Tasks", True),
    ],
)
def test_headings(line: str, rank: int, element: str, standalone: bool) -> None:
    heading = parse_heading(line)
    assert heading is not None
    assert (heading.rank, heading.path_element, heading.standalone) == (rank, element, standalone)


@pytest.mark.parametrize(
    "line",
    [
        "依照本法第三条规定，居民委员会应当……",
        "第三条规定的事项，由街道办事处负责。",  # a sentence about an article, not the article
        "2023年国内生产总值增长5.2%。",
        "1.5亿人次参加志愿服务。",
        "一是加大宏观调控力度，推动经济回升向好。",
        "——经济总体回升向好。",
        "第一章节的内容说明了这一点，并且延续到下一个部分，一共有很多字超过了标题的长度限制很多很多。",
    ],
)
def test_body_lines_are_not_headings(line: str) -> None:
    assert parse_heading(line) is None


def test_sentence_ends_keep_closing_quotes() -> None:
    text = "他说：“要抓落实。”我们照办！还有吗？没有……结束"
    ends = sentence_ends(text)
    pieces = [text[a:b] for a, b in zip([0, *ends], ends, strict=False)]
    assert pieces == ["他说：“要抓落实。”", "我们照办！", "还有吗？", "没有……", "结束"]
