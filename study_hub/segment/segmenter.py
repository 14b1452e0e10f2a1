"""Split a document's normalised text into passages along its own structure.

How it works, in two steps:
1. Group lines. Each line is a heading (see ``grammar``) or body text. Headings keep a stack, so every
   body line knows its heading path. A *unit* (an article 第N条, or an item whose line runs on after
   its title, like "（一）指导思想。以……") gathers the lines that follow it until the next heading.
   Under a plain section title ("一、总体要求" alone on its line) each paragraph stands on its own.
   A title line never becomes a passage of its own: it is joined to the first passage of its section.
2. Pack. A unit becomes one passage when it fits ``max_chars``; paragraphs shorter than ``min_chars``
   join the next paragraph of their section; anything longer than ``max_chars`` is cut at sentence ends
   (。！？；… and their closing quotes) into near-equal parts, never inside a sentence. Only a single
   sentence longer than ``hard_max_chars`` (text without punctuation) is cut at clause marks or, at worst,
   at the hard limit.

Why these bounds (defaults for Chinese; English counts ~3 characters per Chinese one):
- ``max_chars`` 400: a passage reads at a glance in a result list, holds one idea for keyword ranking,
  and fits the embedding model's 512-token window with its prompt.
- ``min_chars`` 40: no passage is a bare salutation ("各位代表：") or an orphaned date line.

Every passage satisfies ``text[char_start:char_end] == passage.text``; passages never overlap and,
apart from the title line, cover the whole text.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field

from study_hub.domain import Passage
from study_hub.segment.grammar import parse_heading, sentence_ends

_CLAUSE_END = re.compile(r"[，,、：:]|\s+")


@dataclass(frozen=True)
class SegmentBounds:
    min_chars: int = 40
    max_chars: int = 400
    hard_max_chars: int = 1200

    @classmethod
    def for_language(cls, language: str | None) -> SegmentBounds:
        return cls(min_chars=100, max_chars=1200, hard_max_chars=3600) if language == "en" else cls()


@dataclass
class _Group:
    path: tuple[str, ...]
    is_unit: bool
    spans: list[list[int]] = field(default_factory=list)  # [start, end] of each paragraph


def segment_text(
    doc_id: str,
    text: str,
    *,
    title: str | None = None,
    heading_levels: dict[int, int] | None = None,
    bounds: SegmentBounds | None = None,
) -> list[Passage]:
    """Passages of ``text`` in reading order, with stable ids derived from ``doc_id`` and their text."""
    bounds = bounds or SegmentBounds()
    groups = _group_lines(text, title, heading_levels or {})
    spans: list[tuple[tuple[str, ...], int, int]] = []
    for group in groups:
        for start, end in _pack(text, group, bounds):
            spans.append((group.path, start, end))
    return _make_passages(doc_id, text, spans)


def _line_spans(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for line in text.split("\n"):
        spans.append((start, start + len(line)))
        start += len(line) + 1
    return spans


def _same_title(line: str, title: str | None) -> bool:
    squeeze = re.compile(r"\s+")
    return bool(title) and squeeze.sub("", line) == squeeze.sub("", title or "")


def _group_lines(text: str, title: str | None, heading_levels: dict[int, int]) -> list[_Group]:
    lines = _line_spans(text)
    # The first line is the title when it says so, or when the file marked it as the top heading.
    first = 1 if lines and (_same_title(text[slice(*lines[0])], title) or heading_levels.get(0) == 1) else 0

    stack: list[tuple[int, str, bool]] = []  # (rank, path element, is_article)
    groups: list[_Group] = []
    pending_start: int | None = None  # start of title lines waiting for their first paragraph

    def current_path() -> tuple[str, ...]:
        return tuple(element for _, element, _ in stack)

    def in_article() -> bool:
        return any(is_article for _, _, is_article in stack)

    for number in range(first, len(lines)):
        start, end = lines[number]
        line = text[start:end]
        heading = parse_heading(line)
        hinted = heading_levels.get(number)
        if heading is not None and in_article() and heading.rank > 4 and hinted is None:
            heading = None  # （一）、1. inside an article enumerate its content
        if heading is not None or hinted is not None:
            rank = heading.rank if heading is not None else hinted
            element = heading.path_element if heading is not None else line
            standalone = heading.standalone if heading is not None else True
            is_article = heading.is_article if heading is not None else False
            while stack and stack[-1][0] >= rank:
                stack.pop()
            stack.append((rank, element, is_article))
            if standalone and not is_article:
                pending_start = start if pending_start is None else pending_start
                continue
            groups.append(_Group(current_path(), True, [[start if pending_start is None else pending_start,
                                                           end]]))
            pending_start = None
            continue
        path = current_path()
        if pending_start is not None:
            groups.append(_Group(path, bool(stack) and stack[-1][2], [[pending_start, end]]))
            pending_start = None
        elif groups and groups[-1].path == path:
            groups[-1].spans.append([start, end])
        else:
            groups.append(_Group(path, False, [[start, end]]))
    if pending_start is not None:  # trailing title lines: attach them to the last passage
        if groups:
            groups[-1].spans[-1][1] = lines[-1][1]
        else:
            groups.append(_Group(current_path(), False, [[pending_start, lines[-1][1]]]))
    return groups


def _pack(text: str, group: _Group, bounds: SegmentBounds) -> list[tuple[int, int]]:
    spans = [tuple(span) for span in group.spans]
    total = spans[-1][1] - spans[0][0]
    if group.is_unit and total <= bounds.max_chars:
        return [(spans[0][0], spans[-1][1])]
    if group.is_unit:
        return _balanced(text, spans, bounds)
    # A section: one passage per paragraph; short ones join the next (the last one joins the previous).
    merged: list[list[int]] = []
    for start, end in spans:
        if merged and merged[-1][1] - merged[-1][0] < bounds.min_chars:
            merged[-1][1] = end
        else:
            merged.append([start, end])
    if len(merged) > 1 and merged[-1][1] - merged[-1][0] < bounds.min_chars:
        tail = merged.pop()
        merged[-1][1] = tail[1]
    out: list[tuple[int, int]] = []
    for start, end in merged:
        if end - start <= bounds.max_chars:
            out.append((start, end))
        else:
            out.extend(_balanced(text, [(start, end)], bounds))
    return out


def _pieces(text: str, start: int, end: int, bounds: SegmentBounds) -> list[tuple[int, int]]:
    """Sentences of text[start:end]; a sentence over the hard limit is cut at clauses, then hard."""
    out: list[tuple[int, int]] = []
    previous = start
    for offset in sentence_ends(text[start:end]):
        sentence_end = start + offset
        if sentence_end - previous > bounds.hard_max_chars:
            out.extend(_cut_overlong(text, previous, sentence_end, bounds.max_chars))
        elif sentence_end > previous:
            out.append((previous, sentence_end))
        previous = sentence_end
    return out


def _cut_overlong(text: str, start: int, end: int, limit: int) -> list[tuple[int, int]]:
    out = []
    while end - start > limit:
        window = text[start:start + limit]
        cuts = [m.end() for m in _CLAUSE_END.finditer(window) if m.end() > limit // 2]
        cut = start + (cuts[-1] if cuts else limit)
        out.append((start, cut))
        start = cut
    out.append((start, end))
    return out


def _balanced(text: str, spans: list[tuple[int, int]], bounds: SegmentBounds) -> list[tuple[int, int]]:
    """Cut paragraphs into sentence-aligned parts of near-equal size, each at most max_chars if possible.

    Paragraph ends are preferred cut points: the part stays within its paragraph when that paragraph ends
    close enough to the target size.
    """
    pieces = [p for start, end in spans for p in _pieces(text, start, end, bounds)]
    paragraph_ends = {end for _, end in spans}
    first, last = spans[0][0], spans[-1][1]
    parts = max(1, math.ceil((last - first) / bounds.max_chars))
    out: list[tuple[int, int]] = []
    part_start = first
    for i, (_, piece_end) in enumerate(pieces):
        remaining_parts = parts - len(out)
        target = (last - part_start) / max(1, remaining_parts)
        size = piece_end - part_start
        is_last = i == len(pieces) - 1
        next_size = pieces[i + 1][1] - part_start if not is_last else size
        if is_last:
            out.append((part_start, last))
        elif next_size > bounds.max_chars or size >= target or (
            piece_end in paragraph_ends and size >= 0.6 * target
        ):
            out.append((part_start, piece_end))
            part_start = pieces[i + 1][0]
    if len(out) > 1 and out[-1][1] - out[-1][0] < bounds.min_chars:  # no stub at the end
        tail = out.pop()
        out[-1] = (out[-1][0], tail[1])
    return out


def _passage_id(doc_id: str, text: str, seen: dict[str, int]) -> str:
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=5).hexdigest()
    seen[digest] = seen.get(digest, 0) + 1
    return f"{doc_id}.{digest}" if seen[digest] == 1 else f"{doc_id}.{digest}-{seen[digest]}"


def _make_passages(doc_id: str, text: str, spans: list[tuple[tuple[str, ...], int, int]]) -> list[Passage]:
    """Trim whitespace at the edges, derive ids from the text so unchanged passages keep them."""
    passages: list[Passage] = []
    seen: dict[str, int] = {}
    for path, start, end in spans:
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start == end:
            continue
        body = text[start:end]
        passages.append(Passage(_passage_id(doc_id, body, seen), doc_id, len(passages), path, start, end, body))
    return passages
