"""Revision comparison (修订对照), the pure part: passages aligned in reading order, changes to the character."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from study_hub.segment import segment_text
from study_hub.study.versions import MAX_PAIRING, align, char_ops, similarity

OLD = ("关于社区议事协商的规定\n"
       "第一条 为了推动社区议事协商常态化，规范议事程序，保障居民参与社区治理的权利，制定本规定。\n"
       "第二条 社区居民委员会每季度至少召开一次居民议事会，议题由居民提出，经社区党组织审核后列入议程。\n"
       "第三条 议事会的决定应当在社区公开栏公开七日，接受居民监督，居民有异议的可以向街道办事处反映。\n"
       "第四条 本规定自发布之日起施行，由社区居民委员会负责解释，各居民小组应当认真遵照执行。\n")


def _passages(text: str):
    return segment_text("doc", text, title="关于社区议事协商的规定")


def _rebuilt(ops, old: str, new: str) -> tuple[str, str]:
    return "".join(old[o.old_start:o.old_end] for o in ops), "".join(new[o.new_start:o.new_end] for o in ops)


def test_unchanged_changed_added_and_removed_passages_in_reading_order() -> None:
    new = (OLD.replace("每季度至少", "每月至少")
              .replace("第三条 议事会的决定应当在社区公开栏公开七日，接受居民监督，居民有异议的可以向街道办事处反映。\n", "")
              .replace("第四条", "第三条 议事会应当邀请驻区单位代表和党员代表列席，听取意见建议，并做好会议记录存档备查。\n第四条"))
    old_passages, new_passages = _passages(OLD), _passages(new)
    assert len(old_passages) == 4  # one passage per article
    rows = align(old_passages, new_passages)
    assert [row.kind for row in rows] == ["unchanged", "changed", "removed", "added", "unchanged"]
    changed = rows[1]
    assert changed.old.text.startswith("第二条") and changed.new.text.startswith("第二条")
    edits = [(changed.old.text[o.old_start:o.old_end], changed.new.text[o.new_start:o.new_end])
             for o in changed.ops if o.op != "equal"]
    assert edits == [("季度", "月")]
    assert rows[0].old.id == rows[0].new.id  # unchanged passages keep their ids (document id + hash of the text)
    assert rows[2].new is None and rows[3].old is None


def test_a_passage_moved_elsewhere_is_removed_there_and_added_here() -> None:
    lines = OLD.split("\n")
    moved = "\n".join([lines[0], lines[1], lines[3], lines[2], lines[4]]) + "\n"
    rows = align(_passages(OLD), _passages(moved))
    kinds = [row.kind for row in rows]
    assert kinds.count("unchanged") == 3 and kinds.count("removed") == 1 and kinds.count("added") == 1
    removed = next(r for r in rows if r.kind == "removed")
    added = next(r for r in rows if r.kind == "added")
    assert removed.old.id == added.new.id  # the same text, so the same id: a reader sees it moved


def test_a_rewrite_is_not_paired_with_unrelated_text() -> None:
    rewrite = "关于社区议事协商的规定\n" + "".join(
        f"第{n}条 本条内容全部改写为与原文无关的新规定，涉及物业服务企业的收费标准和公示办法第{n}项。\n" for n in "一二三四")
    rows = align(_passages(OLD), _passages(rewrite))
    assert {row.kind for row in rows} == {"removed", "added"}
    assert similarity("每季度召开一次居民议事会", "每季度召开一次居民议事会") == 1.0
    assert similarity("甲乙丙", "丁戊己") == 0.0


def test_very_large_gaps_pair_by_position() -> None:
    old = segment_text("doc", "标题\n" + "".join(f"第{n}条 居民议事会第{n}次会议的议题由居民提出并经审核，会议决定应当公开接受监督。\n"
                                      for n in range(1, 700)), title="标题")
    new = segment_text("doc", "标题\n" + "".join(f"第{n}条 居民议事会第{n}次会议的议题由居民提出并经审议，会议决定应当公开接受监督。\n"
                                      for n in range(1, 700)), title="标题")
    assert len(old) * len(new) > MAX_PAIRING
    rows = align(old, new)
    assert len(rows) == len(old) and all(row.kind == "changed" for row in rows)


def test_edits_close_together_read_as_one_replacement() -> None:
    ops = char_ops("条例规定应当", "办法要求应当")
    assert [(o.op, o.old_start, o.old_end, o.new_start, o.new_end) for o in ops] == [
        ("replace", 0, 4, 0, 4), ("equal", 4, 6, 4, 6)]
    assert [o.op for o in char_ops("", "新增")] == ["insert"]
    assert [o.op for o in char_ops("删除", "")] == ["delete"]
    assert char_ops("", "") == []


@given(st.text(alphabet="甲乙丙丁，。ab\n<>&", max_size=60), st.text(alphabet="甲乙丙丁，。ab\n<>&", max_size=60))
def test_char_ops_cover_both_texts_in_order(old: str, new: str) -> None:
    ops = char_ops(old, new)
    assert _rebuilt(ops, old, new) == (old, new)
    for op in ops:
        if op.op == "equal":
            assert old[op.old_start:op.old_end] == new[op.new_start:op.new_end]
        assert (op.op == "insert") == (op.old_start == op.old_end and op.new_start < op.new_end)
        assert (op.op == "delete") == (op.new_start == op.new_end and op.old_start < op.old_end)
