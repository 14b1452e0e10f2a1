"""Segmentation on the real documents of ../shared/corpus, plus properties that must hold for any text."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from study_hub.domain import Passage
from study_hub.ingest.normalize import normalize_text
from study_hub.segment import SegmentBounds, segment_text
from study_hub.segment.grammar import SENTENCE_END


def _segment(corpus: Path, catalog: dict[str, dict], doc_id: str) -> tuple[str, list[Passage]]:
    text = normalize_text((corpus / "docs" / f"{doc_id}.txt").read_text(encoding="utf-8"))
    record = catalog[doc_id]
    return text, segment_text(doc_id, text, title=record["title"],
                              bounds=SegmentBounds.for_language(record["language"]))


def _assert_well_formed(text: str, passages: list[Passage]) -> None:
    previous_end = 0
    for ordinal, passage in enumerate(passages):
        assert passage.ordinal == ordinal
        assert text[passage.char_start:passage.char_end] == passage.text
        assert passage.char_start >= previous_end, "passages overlap"
        assert passage.text == passage.text.strip()
        previous_end = passage.char_end
    assert len({p.id for p in passages}) == len(passages)


def test_grassroots_opinions_parts_and_items(shared_corpus, shared_catalog) -> None:
    text, passages = _segment(shared_corpus, shared_catalog, "central-doc-2021-grassroots-governance-opinions")
    parts = {p.heading_path[0] for p in passages if p.heading_path}
    items = [p.heading_path for p in passages if len(p.heading_path) == 2]
    assert len(parts) == 7
    assert len(set(items)) == 27
    assert passages[0].heading_path == ()  # the preamble paragraph
    assert passages[1].heading_path == ("一、总体要求", "（一）指导思想")
    assert passages[1].text.startswith("一、总体要求\n（一）指导思想。以习近平")  # the part title joins it
    assert ("七、加强组织保障", "（六）营造基层治理良好氛围") in items
    assert not any(p.text.startswith("中共中央 国务院关于") for p in passages)  # the title line is no passage
    _assert_well_formed(text, passages)


def test_regulation_one_passage_per_article_with_chapter(shared_corpus, shared_catalog) -> None:
    doc_id = "central-law-people-mediation-2010"
    text, passages = _segment(shared_corpus, shared_catalog, doc_id)
    article_lines = re.findall(r"^(第[一二三四五六七八九十百]+条)", text, flags=re.MULTILINE)
    articles = [p for p in passages if p.heading_path and p.heading_path[-1].endswith("条")]
    assert [p.heading_path[-1] for p in articles] == article_lines
    assert len(article_lines) == 35
    assert all(re.match(r"^第[一二三四五六七八九十]+章", p.heading_path[0]) for p in articles)
    assert articles[0].heading_path == ("第一章 总则", "第一条")
    assert articles[0].text.startswith("第一章")  # the chapter title is part of its first article
    assert all(p.text.startswith(p.heading_path[-1]) or p.text.startswith("第") for p in articles)
    _assert_well_formed(text, passages)


def test_items_inside_an_article_stay_in_the_article(shared_corpus, shared_catalog) -> None:
    _text, passages = _segment(shared_corpus, shared_catalog, "central-law-urban-residents-committee-2018")
    article3 = next(p for p in passages if p.heading_path == ("第三条",))
    assert "（一）宣传宪法" in article3.text and "（六）向人民政府" in article3.text


def test_speech_without_line_breaks_is_cut_at_sentence_ends(shared_corpus, shared_catalog) -> None:
    doc_id = "sp-2020-09-17-grassroots-representatives"
    text, passages = _segment(shared_corpus, shared_catalog, doc_id)
    assert max(len(line) for line in text.split("\n")) > 3000  # the source lost its paragraph breaks
    bounds = SegmentBounds()
    for passage in passages:
        assert len(passage.text) <= bounds.max_chars
        assert SENTENCE_END.search(passage.text[-3:]), f"ends mid-sentence: …{passage.text[-20:]}"
    assert len(passages) >= len(text) // bounds.max_chars
    _assert_well_formed(text, passages)


def test_every_document_round_trips(shared_corpus, shared_catalog) -> None:
    for doc_id in shared_catalog:
        text, passages = _segment(shared_corpus, shared_catalog, doc_id)
        assert passages, doc_id
        _assert_well_formed(text, passages)
        bounds = SegmentBounds.for_language(shared_catalog[doc_id]["language"])
        # Only single over-long sentences may exceed the soft bound, never the hard one.
        assert max(len(p.text) for p in passages) <= bounds.hard_max_chars, doc_id
        covered = sum(len(p.text) for p in passages)
        assert covered >= 0.97 * (len(text) - len(text.split("\n")[0]) - text.count("\n")), doc_id


def test_unchanged_passages_keep_their_ids_when_a_paragraph_changes(shared_corpus, shared_catalog) -> None:
    text, before = _segment(shared_corpus, shared_catalog, "central-doc-2021-grassroots-governance-opinions")
    edited = text.replace("（三）保障基层治理投入。完善乡镇（街道）经费保障机制",
                          "（三）保障基层治理投入。健全乡镇（街道）经费保障机制")
    after = segment_text("central-doc-2021-grassroots-governance-opinions", edited,
                         title=shared_catalog["central-doc-2021-grassroots-governance-opinions"]["title"])
    changed = {p.id for p in before} ^ {p.id for p in after}
    assert len(changed) == 2  # the old and the new version of the one edited passage
    assert [p.id for p in before if p.id in changed] != [p.id for p in after if p.id in changed]


def test_markup_heading_hints_build_the_path() -> None:
    text = "总则说明\n本办法适用于全市各社区，由街道办事处负责组织实施和监督检查工作。\n附则\n本办法自发布之日起施行，由市民政局负责解释，各区可以结合实际制定细则。"
    passages = segment_text("doc", text, heading_levels={0: 2, 2: 2})
    assert [p.heading_path for p in passages] == [("总则说明",), ("附则",)]


_paragraph = st.text(
    alphabet=st.sampled_from(list("基层治理是国家治理的基石，。！？；…“”（一）1.\n 第条章一二三、abc ")), max_size=600
)


@settings(max_examples=150, deadline=None)
@given(text=st.lists(_paragraph, max_size=8).map("\n".join))
def test_any_text_segments_into_exact_non_overlapping_passages(text: str) -> None:
    text = normalize_text(text)
    passages = segment_text("doc", text)
    _assert_well_formed(text, passages)
    assert all(len(p.text) <= SegmentBounds().hard_max_chars for p in passages)
    non_space = re.sub(r"\s", "", text)
    assert sum(len(re.sub(r"\s", "", p.text)) for p in passages) == len(non_space)
