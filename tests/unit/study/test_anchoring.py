"""Finding a note's quote again in changed passages: kept, moved with its context, or orphaned."""

from __future__ import annotations

from types import SimpleNamespace

from study_hub.study.notes import _locate


def passage(pid: str, text: str):
    return SimpleNamespace(id=pid, text=text)


def note(passage_id: str, text: str, quote: str):
    start = text.index(quote)
    return SimpleNamespace(passage_id=passage_id, start=start, end=start + len(quote), quote=quote,
                           prefix=text[max(0, start - 32):start], suffix=text[start + len(quote):start + len(quote) + 32])


OLD = "一、学习安排。每月第一个周五下午集中学习。二、补学。缺席者在周五前补学。"


def test_kept_where_it_is() -> None:
    p = passage("p1", OLD)
    assert _locate(note("p1", OLD, "集中学习"), [p], {"p1": p}) == (p, OLD.index("集中学习"))


def test_moves_with_its_sentence_into_another_passage() -> None:
    moved = passage("p2", "新增的一段话。" + OLD)
    found = _locate(note("p1", OLD, "集中学习"), [moved], {"p2": moved})
    assert found == (moved, moved.text.index("集中学习"))


def test_the_same_words_in_another_sentence_do_not_take_the_note() -> None:
    n = note("p1", OLD, "周五")  # the first 周五, in the study schedule
    rewritten = passage("p3", "一、学习安排。每月最后一个工作日集中学习。二、补学。缺席者在周五前补学。")
    assert _locate(n, [rewritten], {"p3": rewritten}) is None


def test_two_equally_good_places_leave_it_orphaned() -> None:
    n = note("p1", OLD, "集中学习")
    twice = passage("p4", OLD + OLD)
    assert _locate(n, [twice], {"p4": twice}) is None
