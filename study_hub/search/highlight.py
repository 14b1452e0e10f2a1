"""Where the query matched inside a passage, in character offsets of the passage's original text.

Word matches come from the analyzer's own token offsets over the passage (the same tokens the index
holds), so repeated words are all found and overlapping tokens (马克思 and 马克) merge into one span;
exact wording comes from ``exact_pattern``. Snippets cut a window around the densest matches.
"""

from __future__ import annotations

import html
from collections.abc import Iterable

from study_hub.segment.tokens import Analyzer, exact_pattern, fold

Span = tuple[int, int]


def merge(spans: Iterable[Span]) -> list[Span]:
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:  # overlapping; touching matches stay separate marks
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


def match_spans(text: str, terms: set[str], phrases: Iterable[str], analyzer: Analyzer) -> list[Span]:
    spans: list[Span] = analyzer.term_spans(text, terms) if terms else []
    folded = fold(text) if phrases else ""
    for phrase in phrases:
        pattern = exact_pattern(phrase)
        if pattern is not None:
            spans.extend(m.span() for m in pattern.finditer(folded) if m.end() > m.start())
    return merge(spans)


def snippet_window(text: str, spans: list[Span], width: int) -> Span:
    """The ``width``-character window of ``text`` that covers the most matched characters."""
    if len(text) <= width or not spans:
        return 0, min(len(text), width)
    best_start, best_cover = 0, -1
    for anchor, _ in spans:
        start = max(0, min(anchor - width // 4, len(text) - width))
        cover = sum(max(0, min(e, start + width) - max(s, start)) for s, e in spans)
        if cover > best_cover:
            best_start, best_cover = start, cover
    return best_start, best_start + width


def render_snippet(text: str, spans: list[Span], width: int = 160, open_tag: str = "<mark>",
                   close_tag: str = "</mark>", escape: bool = True) -> str:
    """A window of ``text`` with the matches wrapped in tags (HTML-escaped by default)."""
    start, end = snippet_window(text, spans, width)
    quote = html.escape if escape else (lambda s: s)
    pieces = ["…" if start > 0 else ""]
    cursor = start
    for s, e in spans:
        s, e = max(s, start), min(e, end)
        if s >= e:
            continue
        pieces += [quote(text[cursor:s]), open_tag, quote(text[s:e]), close_tag]
        cursor = e
    pieces.append(quote(text[cursor:end]))
    pieces.append("…" if end < len(text) else "")
    return "".join(pieces).replace("\n", " ")
