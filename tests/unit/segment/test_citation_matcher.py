"""The pure part of citations: finding references in passage text, title and 文号 keys, choosing a document."""

import pytest

from study_hub.segment.citations import (
    Candidate,
    Reference,
    article_index,
    article_key,
    choose,
    cn_number,
    document_keys,
    find_references,
    looks_like_document,
    parse_number,
    title_key,
)


def refs(*texts: str) -> list[Reference]:
    return find_references(list(texts))


def spans(*texts: str) -> list[tuple[str, str, str | None, str | None]]:
    return [(r.surface, r.kind, r.key, r.article) for r in refs(*texts)]


@pytest.mark.parametrize(("text", "number"), [
    ("一", 1), ("十", 10), ("十二", 12), ("二十", 20), ("二十八", 28), ("一百", 100), ("一百零一", 101),
    ("一百二十", 120), ("二百三十五", 235), ("一千零二十", 1020), ("两", 2), ("〇", 0), ("20", 20), ("２０", 20)])
def test_chinese_numbers(text: str, number: int) -> None:
    assert cn_number(text) == number


def test_chinese_numbers_refuse_other_text() -> None:
    assert cn_number("二a") is None


@pytest.mark.parametrize("variant", [
    "中华人民共和国监察法", "监察法", "中华人民共和国 监察法", "中华人民共和国监察法（2024年修正）",
    "中华人民共和国监察法(2024年修订)"])
def test_title_variants_share_a_key(variant: str) -> None:
    assert title_key(variant) == "t:监察法"


@pytest.mark.parametrize("variant", [
    "中共中央 国务院关于加强基层治理体系和治理能力现代化建设的意见",
    "中共中央、国务院关于加强基层治理体系和治理能力现代化建设的意见",
    "中共中央国务院关于加强基层治理体系和治理能力现代化建设的意见",
    "关于加强基层治理体系和治理能力现代化建设的意见",
    "中共中央　国务院关于加强基层治理体系和治理能力现代化建设的意见"])
def test_issuing_organs_are_not_part_of_the_key(variant: str) -> None:
    assert title_key(variant) == "t:关于加强基层治理体系和治理能力现代化建设的意见"


def test_an_edition_note_is_not_part_of_the_key_but_a_draft_is() -> None:
    assert title_key("中国共产党工作机关条例（试行）") == title_key("中国共产党工作机关条例")
    assert title_key("培育发展社区社会组织专项行动方案（2021-2023年）") == title_key("培育发展社区社会组织专项行动方案")
    # A draft is another text than the law adopted from it.
    assert title_key("国民经济和社会发展第十四个五年规划和2035年远景目标纲要（草案）") != title_key(
        "中华人民共和国国民经济和社会发展第十四个五年规划和2035年远景目标纲要")


@pytest.mark.parametrize(("title", "document"), [
    ("物业管理条例", True), ("中华人民共和国宪法", True), ("关于加强社区工作者队伍建设的意见", True),
    ("巴黎协定", True), ("纲要草案", True), ("中国共产党工作机关条例（试行）", True), ("2025年国务院政府工作报告", True),
    ("人民日报", False), ("求是", False), ("哪吒2", False), ("黑神话：悟空", False), ("义勇军进行曲", False)])
def test_what_reads_like_a_document_title(title: str, document: bool) -> None:
    assert looks_like_document(title) is document


def test_titles_full_and_short() -> None:
    text = "根据《中华人民共和国宪法》和《物业管理条例》，结合本市实际，制定本条例。"
    found = refs(text)
    assert [(r.surface, r.kind, r.key) for r in found] == [
        ("《中华人民共和国宪法》", "title", "t:宪法"), ("《物业管理条例》", "title", "t:物业管理条例")]
    for r in found:
        assert text[r.start:r.end] == r.surface


def test_newspapers_and_films_are_not_references() -> None:
    assert refs("《人民日报》发表评论，电影《哪吒2》票房创新高。") == []


def test_a_title_inside_a_title_is_a_reference_of_its_own() -> None:
    found = spans("2007年8月26日《国务院关于修改〈物业管理条例〉的决定》第一次修订")
    assert found == [("《国务院关于修改〈物业管理条例〉的决定》", "title", "t:关于修改物业管理条例的决定", None),
                     ("〈物业管理条例〉", "title", "t:物业管理条例", None)]


def test_a_short_name_defined_by_yixia_jiancheng_stands_for_its_title_later() -> None:
    found = refs("编制了《北京市国民经济和社会发展第十五个五年规划纲要（草案）》（以下简称《纲要草案》），全文提交。",
                 "《纲要草案》坚持以人民为中心。")
    assert [(r.passage, r.surface) for r in found] == [
        (0, "《北京市国民经济和社会发展第十五个五年规划纲要（草案）》"), (1, "《纲要草案》")]
    assert found[1].target == found[0].target and found[1].key == found[0].key


@pytest.mark.parametrize("written", [
    "中发〔2021〕16号", "中发[2021]16号", "中发［2021］16号", "中发(2021)16号", "中发（2021）16号", "中发【2021】16号",
    "中发 〔2021〕 16 号", "中发〔２０２１〕１６号"])
def test_document_numbers_in_every_bracket_and_width(written: str) -> None:
    found = refs(f"根据{written}文件精神，制定本方案。")
    assert [(r.surface, r.kind, r.target, r.key) for r in found] == [
        (written, "doc_number", "中发〔2021〕16号", "n:2021-16")]


@pytest.mark.parametrize(("text", "surface"), [
    ("按照中发〔2021〕16号要求", "中发〔2021〕16号"),
    ("经研究，现将国办发〔2019〕3号转发给你们", "国办发〔2019〕3号"),
    ("贯彻落实京政办发[2020]15号的部署", "京政办发[2020]15号"),
    ("中共中央办公厅 国务院办公厅印发厅字〔2019〕38号", "厅字〔2019〕38号"),
])
def test_the_issuing_code_of_a_number_starts_after_the_words_before_it(text: str, surface: str) -> None:
    assert [r.surface for r in refs(text)] == [surface]


def test_parse_number_and_document_keys() -> None:
    assert parse_number("中发〔2021〕16号") == ("中发", 2021, 16)
    assert parse_number("国务院令第379号") is None  # an order number has no year: not a 文号 we resolve
    assert document_keys("中共中央 国务院关于加强基层治理体系和治理能力现代化建设的意见", "中发〔2021〕16号") == {
        "t:关于加强基层治理体系和治理能力现代化建设的意见", "n:2021-16"}
    assert document_keys("物业管理条例", "第379号") == {"t:物业管理条例"}
    assert document_keys("关于" + "加强" * 200 + "的意见", None) == set()  # longer than any cited title can be


def test_articles_of_the_document_itself() -> None:
    found = refs("第十二条 业主大会决定本条例第十一条第(五)项和第(六)项规定的事项，决定本条例第十一条规定的其他事项。")
    assert [(r.surface, r.key, r.article) for r in found] == [
        ("本条例第十一条第(五)项", None, "条:11"), ("本条例第十一条", None, "条:11")]


@pytest.mark.parametrize(("text", "expected"), [
    ("依照本法第六十七条至第六十九条的规定履行。", [("本法第六十七条", "条:67"), ("第六十九条", "条:69")]),
    ("未依照本法第四十四条、第四十五条的规定", [("本法第四十四条", "条:44"), ("第四十五条", "条:45")]),
    ("行使本条例第三十四条和第四十四条规定的", [("本条例第三十四条", "条:34"), ("第四十四条", "条:44")]),
    ("本法第二章、第三章适用于公职人员", [("本法第二章", "章:2"), ("第三章", "章:3")]),
    ("违反本条例第七十八条第二款第（一）项规定的", [("本条例第七十八条第二款第（一）项", "条:78")]),
    ("模范地履行本章程第三条所规定的党员的各项义务", [("本章程第三条", "条:3")]),
    ("适用本办法第十一条规定", [("本办法第十一条", "条:11")]),
    ("依照第二十条的规定处理。", [("第二十条", "条:20")]),
    ("本法第一百零一条", [("本法第一百零一条", "条:101")]),
    ("依照本条例第20条执行", [("本条例第20条", "条:20")]),
    ("本法第二十条之一", [("本法第二十条之一", "条:20之1")]),
])
def test_article_references(text: str, expected: list[tuple[str, str]]) -> None:
    found = refs(text)
    assert [(r.surface, r.article) for r in found] == expected
    assert all(r.kind == "article" and r.key is None and r.target == "" for r in found)


def test_an_article_after_a_title_cites_that_document() -> None:
    found = refs("本法所称公职人员，是指《中华人民共和国监察法》第十五条规定的人员。",
                 "《中华人民共和国监察法》第十五条第二项规定的人员")
    assert [(r.surface, r.kind, r.key, r.article) for r in found] == [
        ("《中华人民共和国监察法》", "title", "t:监察法", None), ("第十五条", "article", "t:监察法", "条:15"),
        ("《中华人民共和国监察法》", "title", "t:监察法", None), ("第十五条第二项", "article", "t:监察法", "条:15")]


def test_a_list_of_articles_after_a_title_all_cite_it() -> None:
    found = refs("依照《中华人民共和国行政处罚法》第五十一条、第五十七条的规定")
    assert [(r.surface, r.key) for r in found] == [
        ("《中华人民共和国行政处罚法》", "t:行政处罚法"), ("第五十一条", "t:行政处罚法"), ("第五十七条", "t:行政处罚法")]


@pytest.mark.parametrize("text", [
    "第三条 国家提倡业主通过公开、公平、公正的市场竞争机制选择物业服务企业。",  # the article's own heading
    "第一章 总则\n第一条 为了规范物业管理活动，制定本条例。",
    "根据宪法第三十五条，公民有言论自由。",  # another document, named without brackets
    "依照国发〔2015〕28号第三条执行",
    "电影《哪吒2》第三章的情节",  # after a 《…》 that is no document: not ours to link
    "第一条件是安全。",
    "《关于修改〈中华人民共和国监察法〉第十五条的决定》",  # inside a title
])
def test_what_is_not_an_article_reference(text: str) -> None:
    assert [r for r in refs(text) if r.kind == "article"] == []


def test_a_sentence_that_opens_with_an_article_number_is_a_reference() -> None:
    # The grammar reads "第三条规定的……" as a sentence about the article, not its heading.
    assert [(r.surface, r.article) for r in refs("第三条规定的事项，由街道办事处负责。")] == [("第三条", "条:3")]


def test_hostile_text_is_just_text() -> None:
    text = '<script>alert("《x》")</script>《<img src=x onerror=alert(1)>条例》 中发〔2021〕16号"><b>'
    found = refs(text)
    assert [(r.surface, r.kind) for r in found] == [
        ("《<img src=x onerror=alert(1)>条例》", "title"), ("中发〔2021〕16号", "doc_number")]
    for r in found:
        assert text[r.start:r.end] == r.surface
    assert refs("") == [] and refs("《》《") == [] and refs("第条 第章 〔〕号") == []


def test_offsets_hold_across_lines() -> None:
    text = "第五条 前款所列事项。\n违反本条例第十七条、第四十五条规定，依照《物业管理条例》处理。"
    for r in refs(text):
        assert text[r.start:r.end] == r.surface


def test_choose_prefers_the_exact_title_then_the_higher_level_then_the_version_in_force() -> None:
    national = Candidate("national", "物业管理条例", "国务院", "central", "2018-03-19")
    variant = Candidate("variant", "中华人民共和国物业管理条例", None, "central", "2003-06-08")
    assert choose("title", "物业管理条例", [variant, national]) == (national, "exact_title")
    assert choose("title", "中华人民共和国物业管理条例", [national]) == (national, "title_variant")
    old = Candidate("old", "中华人民共和国监察法", "全国人大", "central", "2018-03-20")
    new = Candidate("new", "中华人民共和国监察法", "全国人大", "central", "2024-12-25")
    assert choose("title", "中华人民共和国监察法", [old, new])[0] == new
    assert choose("title", "中华人民共和国监察法", [old, new], citing_date="2020-06-20")[0] == old
    assert choose("title", "物业管理条例", []) is None


def test_choose_respects_the_organs_a_title_names() -> None:
    ministry = Candidate("m", "关于大力培育发展社区社会组织的意见", "民政部", "central")
    council = Candidate("c", "关于大力培育发展社区社会组织的意见", "国务院办公厅", "central")
    assert choose("title", "民政部关于大力培育发展社区社会组织的意见", [council, ministry]) == (ministry, "title_variant")
    assert choose("title", "财政部关于大力培育发展社区社会组织的意见", [council, ministry]) is None
    both = Candidate("b", "中共中央 国务院关于加强基层治理体系和治理能力现代化建设的意见", "中共中央 国务院", "central")
    assert choose("title", "中共中央、国务院关于加强基层治理体系和治理能力现代化建设的意见", [both]) == (both, "exact_title")
    assert choose("title", "关于加强基层治理体系和治理能力现代化建设的意见", [both]) == (both, "title_variant")
    # A short name defined in the text is not its title's exact match.
    assert choose("title", both.title, [both], written="纲要") == (both, "title_variant")


def test_choose_a_document_number() -> None:
    opinion = Candidate("o", "意见", doc_number="中发〔2021〕16号")
    other = Candidate("x", "通知", doc_number="国发〔2021〕16号")
    assert choose("doc_number", "中发〔2021〕16号", [other, opinion]) == (opinion, "doc_number")
    assert choose("doc_number", "国办发〔2021〕16号", [other, opinion]) is None
    assert choose("doc_number", "中发〔2020〕16号", [opinion]) is None


def test_articles_by_heading_path() -> None:
    assert article_key("第三条") == "条:3" and article_key("第一章　总则") == "章:1"
    assert article_key("第二十条之一") == "条:20之1" and article_key("一、总体要求") is None
    index = article_index([("p0", []), ("p1", ["第一章 总则", "第一条"]), ("p2", ["第一章 总则", "第二条"]),
                           ("p3", ["第一章 总则", "第二条"]), ("p4", ["第二章 业主", "第三条"])])
    assert index == {"章:1": "p1", "条:1": "p1", "条:2": "p2", "章:2": "p4", "条:3": "p4"}
