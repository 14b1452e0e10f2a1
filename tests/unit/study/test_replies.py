"""A reply's text as stored, the fingerprint that makes a repeated post the same reply, and the quoted excerpt."""

from __future__ import annotations

import pytest

from study_hub.study.replies import EXCERPT, MAX_REPLY, ReplyError, clean_body, excerpt, fingerprint


def test_text_is_kept_as_typed_but_for_line_ends_nul_and_surrounding_space() -> None:
    assert clean_body("  第一行\r\n第二行\r第三行\n\n ") == "第一行\n第二行\n第三行"
    assert clean_body("空\x00字符") == "空字符"
    assert clean_body("<script>alert(1)</script>") == "<script>alert(1)</script>"  # escaped when shown, not here


@pytest.mark.parametrize(("text", "code"), [("", "empty"), (" \n\t\r\n", "empty"), ("\x00", "empty"),
                                            ("长" * (MAX_REPLY + 1), "too_long")])
def test_empty_and_too_long_replies_are_refused_with_a_reason(text, code) -> None:
    with pytest.raises(ReplyError) as refused:
        clean_body(text)
    assert refused.value.code == code
    if code == "too_long":
        assert refused.value.values == {"limit": MAX_REPLY, "length": MAX_REPLY + 1}
        assert f"{MAX_REPLY:,}" in str(refused.value)


def test_the_longest_reply_fits() -> None:
    assert len(clean_body("长" * MAX_REPLY)) == MAX_REPLY


def test_a_form_post_and_an_api_post_of_the_same_words_are_the_same_reply() -> None:
    assert fingerprint(None, clean_body("同意\r\n")) == fingerprint(None, clean_body("同意"))
    assert fingerprint(None, "同意") != fingerprint(7, "同意")  # quoting another reply says something else
    assert fingerprint(None, "同意") != fingerprint(None, "同意。")


def test_an_excerpt_is_one_short_line() -> None:
    assert excerpt("第一段\n\n第二段") == "第一段 第二段"
    long = excerpt("字" * 500)
    assert len(long) == EXCERPT and long.endswith("…")
