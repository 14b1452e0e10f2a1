from study_hub.search.highlight import match_spans, render_snippet
from study_hub.segment.tokens import default_analyzer


def test_every_repetition_is_marked_on_the_right_characters() -> None:
    text = "坚持党建引领。党建引领基层治理，以党建引领凝聚合力。"
    spans = match_spans(text, {"党建引领"}, [], default_analyzer())
    assert [text[s:e] for s, e in spans] == ["党建引领"] * 3
    assert spans == [(2, 6), (7, 11), (17, 21)]


def test_overlapping_tokens_mark_the_whole_word() -> None:
    text = "坚持马克思主义，学习马克思的著作。"
    spans = match_spans(text, {"马克", "马克思"}, [], default_analyzer())
    assert [text[s:e] for s, e in spans] == ["马克思", "马克思"]


def test_exact_wording_is_marked_across_the_original_whitespace() -> None:
    text = "第一章　总　　则\n第一条 为了加强城市居民委员会的建设"
    spans = match_spans(text, set(), ["总则 第一条"], default_analyzer())
    assert [text[s:e] for s, e in spans] == ["总　　则\n第一条"]


def test_snippet_escapes_html_and_centres_on_matches() -> None:
    text = "<b>" + "无关的文字。" * 40 + "推进接诉即办改革。" + "无关的文字。" * 40
    spans = match_spans(text, {"接诉即办"}, [], default_analyzer())
    snippet = render_snippet(text, spans, width=60)
    assert "<mark>接诉即办</mark>" in snippet and snippet.startswith("…") and snippet.endswith("…")
    assert "<b>" not in render_snippet(text, spans, width=1000)
    assert "&lt;b&gt;" in render_snippet(text, spans, width=1000)
