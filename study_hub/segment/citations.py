"""References from a document's passages to other documents (法条联想). Pure: text in, spans out.

Three kinds of reference are found, each as a span of one passage's text:

- ``title``: 《中华人民共和国监察法》, and the titles quoted inside a title (《关于修改〈物业管理条例〉的决定》 cites
  the decision and, inside it, the regulation). A 《…》 counts only when it reads like a document's title (it ends
  with 法, 条例, 意见, 通知, 规划, 报告… or says 关于…), so 《人民日报》 or a film's name is not a reference.
  "（以下简称《纲要草案》）" makes the short name stand for the full title in the rest of the document.
- ``doc_number``: 文号 such as 中发〔2021〕16号, with 〔〕[]［］()（）【】 around the year, full or half width.
- ``article``: 第二十条, 第三章, 第十一条第(五)项, after 本条例 / 本法 / … (the document itself), after a title
  (《…》第十五条: the cited document), after another article reference (、第四十五条 / 至第六十九条: the same
  target), or alone (第二十条: the document itself). A line that opens with 第N条 is the article's own heading,
  not a reference.

Resolving a reference against the library is the store's work; what is pure about it lives here too: the lookup
keys of titles and 文号 (``title_key``, ``number_key``, ``document_keys``), the choice among the documents that
share a key (``choose``) and the articles of a document by their heading paths (``article_index``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from study_hub.segment.grammar import parse_heading

KINDS = ("title", "doc_number", "article")
RESOLUTIONS = ("exact_title", "title_variant", "doc_number", "article_in_cited", "article_in_same", "unresolved")
LEVEL_ORDER = ("central", "provincial", "municipal", "district")
MAX_KEY = 200  # the key column holds 300; a cited title is at most 150 characters, so a longer key matches nothing

_NUM = r"[〇零一二三四五六七八九十百千两\d]+"
_CN_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
              "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}

_TITLE = re.compile(r"《([^《》\n]{1,150})》")
_INNER_TITLE = re.compile(r"〈([^〈〉《》\n]{1,150})〉")
# "（以下简称《纲要草案》）" right after a title: the short name stands for it from here on.
_ALIAS = re.compile(r"[ \u3000]*[（(][ \u3000]*(?:以下|下文)?简称[ \u3000]*[“\"]?《([^《》\n]{1,40})》[”\"]?"
                    r"[ \u3000]*[）)]")
# What a document's title ends with (after any bracketed edition note); 关于 anywhere also makes it one.
_DOCUMENT_END = re.compile(
    r"(法|法典|条例|规定|办法|细则|章程|规则|准则|规程|标准|意见|通知|通告|公告|决定|决议|方案|规划|纲要|计划|报告|"
    r"建议|协定|公约|条约|宣言|议定书|修正案|白皮书|批复|纪要|讲话|要点|措施|清单|指南|指引|说明|草案|书)$")
_EDITION = re.compile(r"\((?:[^()]*\d{4}[^()]*|试行|暂行|修订|修正|修订稿)\)$")  # (试行) (2018年修正) (2021-2023年)
_DRAFT = re.compile(r"\((?:草案|修订草案|征求意见稿|送审稿)\)$")
# An issuing organ ends with one of these: 中共中央, 国务院, 全国人民代表大会常务委员会, 民政部, 北京市人民政府…
_ORGAN = (r"[\u4e00-\u9fff]{1,30}?"
          r"(?:中央|国务院|委员会|常委会|人民政府|政府|办公厅|办公室|党委|党组|部|局|厅|委|院|会|署|行)")
_ISSUER_PREFIX = re.compile(rf"^((?:{_ORGAN}[、，,]?)+)(?=关于)")
_COUNTRY = "中华人民共和国"
_FOLD_DROP = re.compile(r"[\s“”‘’\"'「」『』〈〉<>《》·•・、，,]")
_SEPARATORS = re.compile(r"[\s、，,·]")

# In running text: the bracketed year, serial and 号 first (fast), then the 机关代字 from the characters before.
_NUMBER_CORE = re.compile(r"[〔\[［(（【〖][ \u3000]*(?P<year>\d{4})[ \u3000]*[〕\]］)）】〗]"
                          r"[ \u3000]*(?P<serial>\d{1,5})[ \u3000]*号")
_HAN_RUN_BEFORE = re.compile(r"([\u4e00-\u9fff]{1,12})[ \u3000]*\Z")
_DOC_NUMBER = re.compile(
    r"(?P<org>[\u4e00-\u9fff]{1,12})[ \u3000]*[〔\[［(（【〖][ \u3000]*(?P<year>\d{4})[ \u3000]*"
    r"[〕\]］)）】〗][ \u3000]*(?P<serial>\d{1,5})[ \u3000]*号")
# Words a 机关代字 never holds; the code starts after the last of them ("根据中发" -> "中发").
_ORG_BOUNDARY = re.compile(
    r".*(?:根据|依据|按照|依照|参照|遵照|对照|贯彻|落实|执行|学习|印发|转发|下发|发布|颁布|文件|通知|精神|要求|规定|"
    r"[见按据照和及与或的以在是为即经由将把对从等于号])")  # not 并: the code of Taiyuan (并政发, 并政办发)
_ORG_MAX = 5  # 中发, 国办发, 京政办发, 国办发明电: codes are short

_ARTICLE = re.compile(
    rf"第(?P<num>{_NUM})(?P<unit>条|章)(?!件)(?:之(?P<sub>{_NUM}))?"
    rf"(?:第(?:{_NUM}|[（(]{_NUM}[)）])款)?(?:第(?:{_NUM}|[（(]{_NUM}[)）])项)?")
_SELF = re.compile(r"本(?:条例|法|办法|规定|章程|细则|准则|规则|决定|意见|方案|纲要|规划|通知|决议|实施细则|实施办法)$")
_CHAIN = re.compile(r"^[ \u3000]*(?:、|和|及|以及|或者|或|至|到|与)[ \u3000]*$")
# A bare 第N条 right after a name (宪法第三十五条, 国发〔2015〕28号第三条) cites that document, not this one.
_NAMED_BEFORE = re.compile(r"(?:法|法典|条例|办法|规定|章程|细则|准则|决定|纲要|意见|号|〉)$")


@dataclass(frozen=True)
class Reference:
    """A reference found in the ``passage``-th passage of a document, ``text[start:end] == surface``."""
    passage: int
    start: int
    end: int
    surface: str
    kind: str  # title | doc_number | article
    target: str  # the title (folded; a short name's full title) or the 文号 (normalised); "" for the document itself
    key: str | None  # the lookup key (t:…, n:…); None: the citing document itself
    article: str | None = None  # article references: 条:20, 条:20之1, 章:3


@dataclass(frozen=True)
class Candidate:
    """A document of the library that a reference's key points at."""
    doc_id: str
    title: str
    issuer: str | None = None
    level: str | None = None
    date: str | None = None
    doc_number: str | None = None


# --- numbers, titles, 文号 ---------------------------------------------------------------------------------------

def cn_number(text: str) -> int | None:
    """二十 -> 20, 一百零一 -> 101, 十二 -> 12, 20 -> 20, ２０ -> 20; None for anything else."""
    if text.isdigit():
        return int(text)
    total, section, digit = 0, 0, None
    for char in text:
        if char in _CN_DIGITS:
            digit = _CN_DIGITS[char]
        elif char in _CN_UNITS:
            section += (1 if digit is None else digit) * _CN_UNITS[char]
            digit = None
        else:
            return None
        if char == "千":  # 一千零二十: thousands close a section of their own
            total, section = total + section, 0
    return total + section + (digit or 0)


def fold(text: str) -> str:
    """A title as compared: full/half width folded, no spaces, quotes or inner brackets, Latin lower-cased."""
    return _FOLD_DROP.sub("", unicodedata.normalize("NFKC", text)).lower()


def _strip_editions(title: str, drafts: bool = False) -> str:
    """``title`` without the bracketed notes at its end: editions ((试行), (2018年修正)), and drafts if asked."""
    patterns = (_EDITION, _DRAFT) if drafts else (_EDITION,)
    while True:
        for pattern in patterns:
            stripped = pattern.sub("", title)
            if stripped and stripped != title:
                title = stripped
                break
        else:
            return title


def split_title(title: str) -> tuple[str, str]:
    """(issuing organs, the rest) of a folded title: 中共中央国务院关于…的意见 -> (中共中央国务院, 关于…的意见);
    中华人民共和国 is dropped from the rest, and an edition note such as (试行) or (2018年修正) from its end."""
    folded = fold(title)
    issuer = ""
    match = _ISSUER_PREFIX.match(folded)
    if match:
        issuer, folded = match.group(1), folded[match.end():]
    rest = _strip_editions(folded.removeprefix(fold(_COUNTRY)))
    return _SEPARATORS.sub("", issuer), rest


def title_key(title: str) -> str | None:
    """The lookup key of a title: its variants share it (中华人民共和国 or not, 中共中央 国务院 or not)."""
    _, rest = split_title(title)
    return f"t:{rest}" if rest and len(rest) <= MAX_KEY else None


def looks_like_document(title: str) -> bool:
    """Whether a 《…》 names a document (a law, a regulation, an opinion, a report…), not a newspaper or a film."""
    bare = _strip_editions(fold(title), drafts=True)
    return bool(bare) and ("关于" in bare or bool(_DOCUMENT_END.search(bare)))


def parse_number(text: str) -> tuple[str, int, int] | None:
    """(机关代字, year, serial) of a 文号 written anywhere in ``text`` (the first one), else None."""
    match = _DOC_NUMBER.search(unicodedata.normalize("NFKC", text or ""))
    if not match or not 1949 <= int(match.group("year")) <= 2100:
        return None
    org = _org_of(match.group("org"))
    return (org, int(match.group("year")), int(match.group("serial"))) if org else None


def _org_of(run: str) -> str:
    """The 机关代字 at the end of a run of Chinese characters before a 文号's year."""
    boundary = _ORG_BOUNDARY.match(run)
    org = run[boundary.end():] if boundary else run
    return org[-_ORG_MAX:]


def numbers_in(text: str) -> Iterator[tuple[int, int, str, int, int]]:
    """Every 文号 written in ``text``, in order: (start, end, 机关代字, year, serial). The bracketed year, serial and
    号 are found first (fast), then the code is read back from the characters before, after the last word a code
    never holds ("根据中发〔2021〕16号" -> 中发)."""
    for match in _NUMBER_CORE.finditer(text) if "号" in text else ():
        run = _HAN_RUN_BEFORE.search(text, max(0, match.start() - 16), match.start())
        org = _org_of(run.group(1)) if run else ""
        year, serial = int(match.group("year")), int(match.group("serial"))
        if org and 1949 <= year <= 2100:
            yield run.end(1) - len(org), match.end(), org, year, serial


def number_key(year: int, serial: int) -> str:
    return f"n:{year}-{serial}"


def normalised_number(org: str, year: int, serial: int) -> str:
    return f"{org}〔{year}〕{serial}号"


def document_keys(title: str, doc_number: str | None) -> set[str]:
    """The keys under which a document is found: its title's, and its 文号's when it has one."""
    keys = {key} if (key := title_key(title)) else set()
    parsed = parse_number(doc_number) if doc_number else None
    if parsed:
        keys.add(number_key(parsed[1], parsed[2]))
    return keys


# --- finding references -------------------------------------------------------------------------------------------

def _title_reference(index: int, text: str, start: int, end: int, title: str,
                     aliases: dict[str, str]) -> Reference | None:
    folded = fold(title)
    target = aliases.get(folded)
    if target is None:
        if not looks_like_document(title):
            return None
        target = folded
    key = title_key(target)
    return Reference(index, start, end, text[start:end], "title", target, key) if key else None


def _heading_at(text: str, start: int) -> bool:
    """Whether the line from ``start`` on opens with a heading (第三条 …: the article itself, not a reference)."""
    line_end = text.find("\n", start)
    return parse_heading(text[start: line_end if line_end >= 0 else len(text)]) is not None


def _article_key(match: re.Match[str]) -> str | None:
    number = cn_number(match.group("num"))
    if number is None:
        return None
    sub = cn_number(match.group("sub")) if match.group("sub") else None
    return f"{match.group('unit')}:{number}" + (f"之{sub}" if sub else "")


def _passage_references(index: int, text: str, aliases: dict[str, str]) -> list[Reference]:
    found: list[Reference] = []
    titles: list[tuple[int, int, Reference | None]] = []  # every 《…》 span, with its reference if it is one
    skip_before = -1
    for match in _TITLE.finditer(text):
        if match.start() < skip_before:  # the short name inside an "（以下简称《…》）"
            continue
        reference = _title_reference(index, text, match.start(), match.end(), match.group(1), aliases)
        titles.append((match.start(), match.end(), reference))
        if reference is not None:
            found.append(reference)
            alias = _ALIAS.match(text, match.end())
            if alias:
                aliases[fold(alias.group(1))] = reference.target
                skip_before = alias.end()
        for inner in _INNER_TITLE.finditer(text, match.start() + 1, match.end() - 1):
            nested = _title_reference(index, text, inner.start(), inner.end(), inner.group(1), {})
            if nested is not None:
                found.append(nested)

    def in_title(position: int) -> bool:
        return any(start < position < end for start, end, _ in titles)

    for start, end, org, year, serial in numbers_in(text):
        if in_title(start):
            continue
        found.append(Reference(index, start, end, text[start:end], "doc_number",
                               normalised_number(org, year, serial), number_key(year, serial)))

    previous: Reference | None = None  # the article reference just before, for 、第四十五条 and 至第六十九条
    for match in _ARTICLE.finditer(text):
        start, end = match.start(), match.end()
        line_start = text.rfind("\n", 0, start) + 1
        if in_title(start) or (not text[line_start:start].strip(" \u3000\t") and _heading_at(text, start)):
            previous = None  # inside a title, or the article's own heading
            continue
        article = _article_key(match)
        if article is None:
            previous = None
            continue
        before = text[max(0, start - 8):start]
        after_title = [ref for s, e, ref in titles if e <= start and not text[e:start].strip(" \u3000")]
        if after_title:
            if after_title[0] is None:  # after a 《…》 that is no document's title: not ours to link
                previous = None
                continue
            target, key = after_title[0].target, after_title[0].key
        elif (self_word := _SELF.search(before)) is not None:
            start, target, key = start - len(before) + self_word.start(), "", None
        elif previous is not None and _CHAIN.match(text[previous.end:start]):
            target, key = previous.target, previous.key
        elif _NAMED_BEFORE.search(before):
            previous = None
            continue
        else:
            target, key = "", None
        previous = Reference(index, start, end, text[start:end], "article", target, key, article)
        found.append(previous)
    return sorted(found, key=lambda ref: (ref.start, -ref.end))


def find_references(texts: Sequence[str]) -> list[Reference]:
    """Every reference in a document's passages (their texts in reading order), in order.

    The passages are read in order because a short name defined in one ("以下简称《纲要》") stands for its full
    title in the later ones.
    """
    aliases: dict[str, str] = {}
    found: list[Reference] = []
    for index, text in enumerate(texts):
        found.extend(_passage_references(index, text, aliases))
    return found


# --- resolving ------------------------------------------------------------------------------------------------------

def _issuers_agree(cited: str, candidate: Candidate) -> bool:
    """A title cited with its organs (民政部关于…) names only a document of those organs."""
    if not cited:
        return True
    own, _ = split_title(candidate.title)
    known = own or _SEPARATORS.sub("", fold(candidate.issuer or ""))
    return not known or known == cited


def choose(reference_kind: str, target: str, candidates: Iterable[Candidate], citing_date: str | None = None,
           written: str | None = None, citing: str | None = None) -> tuple[Candidate, str] | None:
    """The document a title or 文号 reference (or an article reference through its title) names, among the
    documents that share its key, and how it was found: exact_title, title_variant or doc_number.

    Titles: a document whose title is the cited one exactly wins; then, among variants, the higher level
    (a short title cited in a local regulation names the national one), then the newest version issued no later
    than the citing document. 文号: the year and serial match and the 机关代字 ends the cited one.
    ``written``: the title as the text writes it, when that is not ``target`` (a short name defined by 以下简称):
    only the title as written can match exactly. ``citing``: the citing document, which a 文号 never names
    (the 文号 read from a text's opening lines may be one it cites: 根据中发〔2021〕16号……).
    """
    pool = list(candidates)
    if reference_kind == "doc_number":
        pool = [candidate for candidate in pool if candidate.doc_id != citing]
        parsed = parse_number(target)
        if parsed is None:
            return None
        matches = []
        for candidate in pool:
            own = parse_number(candidate.doc_number or "")
            if own and own[1:] == parsed[1:] and parsed[0].endswith(own[0]):
                matches.append((len(own[0]), candidate))
        if not matches:
            return None
        return max(matches, key=lambda item: (item[0], item[1].doc_id))[1], "doc_number"

    issuer, rest = split_title(target)
    exact = fold(written or target)
    agreeing = [c for c in pool if split_title(c.title)[1] == rest and _issuers_agree(issuer, c)]
    if not agreeing:
        return None

    def rank(candidate: Candidate) -> tuple:
        level = LEVEL_ORDER.index(candidate.level) if candidate.level in LEVEL_ORDER else len(LEVEL_ORDER)
        date = candidate.date or ""
        in_time = not citing_date or not date or date[:len(citing_date)] <= citing_date
        return (fold(candidate.title) != exact, level, not in_time, newest_first(date), candidate.doc_id)

    best = min(agreeing, key=rank)
    return best, "exact_title" if fold(best.title) == exact else "title_variant"


def newest_first(date: str | None) -> tuple[int, ...]:
    """A sort key that puts later dates (YYYY[-MM[-DD]]) first and no date last."""
    return (*(-ord(char) for char in date or ""), 0)


def article_key(heading: str) -> str | None:
    """The article key of one heading-path element: 第三条 -> 条:3, 第一章　总则 -> 章:1, else None."""
    match = re.match(rf"第(?P<num>{_NUM})(?P<unit>条|章)(?:之(?P<sub>{_NUM}))?", heading.strip())
    return _article_key(match) if match else None


def article_index(passages: Iterable[tuple[str, Sequence[str]]]) -> dict[str, str]:
    """article key -> the first passage under that article or chapter, from (passage id, heading path elements)
    in reading order (a long article runs over several passages: a reference lands on its start)."""
    index: dict[str, str] = {}
    for passage_id, headings in passages:
        for heading in headings:
            key = article_key(heading)
            if key is not None and key not in index:
                index[key] = passage_id
    return index
