"""The heading grammar of Chinese and English official documents.

Ranks order the heading kinds from the outermost in: 编/篇/Part (1) > 章/Chapter (2) > 节/Section (3)
> 条/Article (4) > 一、/I. (5) > （一） (6) > 1./1． (7) > （1） (8). A heading closes every open heading
of its own rank or deeper. Articles (第N条, Article N) are *units*: the numbered items inside an
article are its enumerations, not headings of their own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_CN_NUM = "〇零一二三四五六七八九十百千两"
_SPACE = "[ \u3000\u00a0]"
# A sentence ends at one of these, plus closing quotes/brackets that belong to it.
SENTENCE_END = re.compile(r"(?:[。！？!?；;]|…{1,2}|\.(?=\s|$))+[”’」』）)\]\"']*")
_INLINE_TITLE_END = re.compile(r"[。：:．]")

RANK_ARTICLE = 4


@dataclass(frozen=True)
class Heading:
    rank: int
    label: str  # 第三条, 一、, （二）, Article 5
    path_element: str  # how the heading reads in a heading path: 一、总体要求, （一）指导思想, 第三条
    standalone: bool  # the line is only a heading; otherwise the line's text continues after the title
    is_article: bool = False


@dataclass(frozen=True)
class _Pattern:
    regex: re.Pattern[str]
    rank: int
    always_standalone: bool = False  # chapter-like headings: a title line, never a paragraph
    is_article: bool = False


_PATTERNS = [
    _Pattern(re.compile(rf"^(第[{_CN_NUM}\d]+[编篇]|第[{_CN_NUM}\d]+部分){_SPACE}*"), 1, always_standalone=True),
    _Pattern(re.compile(rf"^(第[{_CN_NUM}\d]+章){_SPACE}*"), 2, always_standalone=True),
    _Pattern(re.compile(rf"^(第[{_CN_NUM}\d]+节){_SPACE}*"), 3, always_standalone=True),
    # 第N条 opens an article unless the words after it show a sentence about the article (第三条规定的……).
    _Pattern(re.compile(rf"^(第[{_CN_NUM}\d]+条(?:之[{_CN_NUM}]+)?)(?:{_SPACE}+|$|(?![的规款项中所、，]))"),
             RANK_ARTICLE, is_article=True),
    _Pattern(re.compile(rf"^([{_CN_NUM}]{{1,3}}、){_SPACE}*"), 5),
    _Pattern(re.compile(rf"^([（(][{_CN_NUM}]{{1,3}}[）)]){_SPACE}*"), 6),
    _Pattern(re.compile(r"^(\d{1,2}[.．、])(?!\d)[ \u3000]*(?=\S)"), 7),
    _Pattern(re.compile(r"^([（(]\d{1,2}[）)])[ \u3000]*"), 8),
    # English official translations
    _Pattern(re.compile(r"^(Part [IVXLC]+|PART [IVXLC]+)\b\.?\s*"), 1, always_standalone=True),
    _Pattern(re.compile(r"^(Chapter [IVXLC\d]+|CHAPTER [IVXLC\d]+)\b\.?\s*"), 2, always_standalone=True),
    _Pattern(re.compile(r"^(Section \d+|SECTION \d+)\b\.?\s*"), 3, always_standalone=True),
    _Pattern(re.compile(r"^(Article \d+)\b\.?\s*"), RANK_ARTICLE, is_article=True),
    _Pattern(re.compile(r"^([IVX]{1,5}\.)\s+(?=[A-Z])"), 5),
]
_STANDALONE_MAX = 60  # longer lines are paragraphs that open with a number, not title lines
_INLINE_TITLE_MAX = 40


def parse_heading(line: str) -> Heading | None:
    """The heading that opens ``line``, or None when the line is body text."""
    for pattern in _PATTERNS:
        match = pattern.regex.match(line)
        if not match:
            continue
        label = match.group(1)
        rest = line[match.end():].strip()
        if pattern.is_article:
            return Heading(pattern.rank, label, label, standalone=not rest, is_article=True)
        has_sentence = bool(SENTENCE_END.search(rest))
        if pattern.always_standalone:
            if len(line) > _STANDALONE_MAX or (has_sentence and not rest.endswith(("”", "》"))):
                return None  # "第一章节..." inside prose, or a sentence that starts with 第N章
            return Heading(pattern.rank, label, line, standalone=True)
        if not rest or (len(line) <= _STANDALONE_MAX and not has_sentence):
            return Heading(pattern.rank, label, line, standalone=True)
        end = _INLINE_TITLE_END.search(rest)
        title = rest[: end.start()] if end and end.start() <= _INLINE_TITLE_MAX else ""
        return Heading(pattern.rank, label, line[: match.end()] + title, standalone=False)
    return None


def starts_numbered_heading(line: str) -> bool:
    return parse_heading(line.strip()) is not None


def sentence_ends(text: str) -> list[int]:
    """Offsets just after each sentence end in ``text`` (the text's end included)."""
    ends = [m.end() for m in SENTENCE_END.finditer(text)]
    if not ends or ends[-1] != len(text):
        ends.append(len(text))
    return ends
