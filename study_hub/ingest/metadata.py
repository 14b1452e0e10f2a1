"""Metadata read from the text itself, for files that come without a catalog entry or front matter.

Only what the text states is taken: title (first line), 文号, dates with their role
(成文/印发 -> issued, 通过 -> adopted, 发布/公布 -> published, 施行 -> effective), the issuing organ
(the words before 关于 in the title, or the signature line above the closing date), and from those the
level, kind and language. Nothing is guessed where the text is silent.
"""

from __future__ import annotations

import re

from study_hub.domain import DocumentMeta
from study_hub.segment.citations import normalised_number, numbers_in

_CN_DIGITS = {"〇": 0, "零": 0, "○": 0, "Ｏ": 0, "O": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6,
              "七": 7, "八": 8, "九": 9}

# An order's number (令), which has no year: 国务院令第379号, 中华人民共和国主席令第 31 号.
_ORDER_NUMBER = re.compile(r"(?P<organ>[\u4e00-\u9fa5]{1,16}令)[ \u3000]*第[ \u3000]*(?P<serial>\d{1,5})[ \u3000]*号")
# Words before a number in its line that make it another document's: the text cites it, it is not its own.
_CITING_WORDS = "根据|依据|按照|依照|参照|遵照|贯彻|落实|转发"
_CITES_ANOTHER = re.compile(f"{_CITING_WORDS}|》")
_ORDER_PREFIX = re.compile(f"^中华人民共和国|^.*(?:{_CITING_WORDS})")  # what an order's organ does not hold
_CN_DATE = re.compile(r"(?P<y>[〇零○一二三四五六七八九ＯO]{4})年(?P<m>[一二三四五六七八九十]{1,3})月"
                      r"(?P<d>[一二三四五六七八九十]{1,3})日")
_AR_DATE = re.compile(r"(?P<y>(?:19|20)\d{2})\s*年\s*(?P<m>\d{1,2})\s*月\s*(?:(?P<d>\d{1,2})\s*日)?")
_ISO_DATE = re.compile(r"(?<!\d)(?P<y>(?:19|20)\d{2})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})(?!\d)")
_ROLE_WORDS = [("effective", re.compile(r"施行|生效")), ("adopted", re.compile(r"通过|批准")),
               ("published", re.compile(r"发布|公布|印发")), ("issued", re.compile(r"成文"))]
_ORGAN_END = re.compile(r"(中央|国务院|委员会|常务委员会|人民政府|办公厅|办公室|党委|党组|部|局|厅|委|院|会|署|政府)$")
_KIND_BY_TITLE = [
    ("regulation", re.compile(r"(条例|法|规定|办法|细则|章程|规则|准则)(（[^）]*）)?$")),
    ("report", re.compile(r"报告$")),
    ("speech", re.compile(r"讲话$|致辞$|发言$")),
    ("document", re.compile(r"(意见|通知|决定|方案|规划|纲要|决议|公告|通报|批复|函)$")),
]
_PROVINCIAL_CITIES = ("北京市", "天津市", "上海市", "重庆市")


def _cn_number(text: str) -> int:
    """一 -> 1, 十二 -> 12, 二十八 -> 28, 三十一 -> 31."""
    if "十" not in text:
        return _CN_DIGITS[text]
    tens, _, ones = text.partition("十")
    return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[ones] if ones else 0)


def _iso(year: int, month: int | None, day: int | None) -> str | None:
    if month is None:
        return f"{year:04d}"
    if not 1 <= month <= 12:
        return None
    if day is None:
        return f"{year:04d}-{month:02d}"
    return f"{year:04d}-{month:02d}-{day:02d}" if 1 <= day <= 31 else None


def find_dates(text: str) -> list[tuple[int, str]]:
    """(offset, ISO date) for every date written in text, in order."""
    found = []
    for match in _CN_DATE.finditer(text):
        year = int("".join(str(_CN_DIGITS[c]) for c in match["y"]))
        iso = _iso(year, _cn_number(match["m"]), _cn_number(match["d"]))
        if iso:
            found.append((match.start(), iso))
    for regex in (_AR_DATE, _ISO_DATE):
        for match in regex.finditer(text):
            iso = _iso(int(match["y"]), int(match["m"]), int(match["d"]) if match["d"] else None)
            if iso:
                found.append((match.start(), iso))
    return sorted(found)


def _role_of(line: str, offset: int) -> str | None:
    window = line[max(0, offset - 4): offset + 40]
    for role, regex in _ROLE_WORDS:
        if regex.search(window):
            return role
    return None


def find_doc_number(text: str) -> str | None:
    """The document's own 文号 in its opening lines ``text``, written the standard way (迎发〔2023〕8号,
    国务院令第379号), else None.

    A number standing on a line of its own (under the title, as GB/T 9704 places it) is the document's; else the
    first one in a line that does not cite another document before it (根据…, 《…》（国发〔2020〕5号）: those
    are the documents it answers, not its own number)."""
    own_line, first = None, None
    text = re.sub(r"令[ \u3000]*\n[ \u3000]*第", "令第", text)  # an order's header: 国务院令 / 第752号 on two lines
    for line in text.split("\n"):
        bare = line.strip(" \u3000()（）")
        found = [(start, end, normalised_number(org, year, serial))
                 for start, end, org, year, serial in numbers_in(line)]
        for match in _ORDER_NUMBER.finditer(line):
            organ = _ORDER_PREFIX.sub("", match["organ"])  # the organ starts after 根据… (a citing word stays before)
            found.append((match.end("organ") - len(organ), match.end(), f"{organ}第{int(match['serial'])}号"))
        for start, end, number in sorted(found):
            if own_line is None and bare == line[start:end]:
                own_line = number
            if first is None and not _CITES_ANOTHER.search(line, 0, start):
                first = number
    return own_line or first


def guess_language(text: str) -> str:
    sample = text[:5000]
    cjk = sum(1 for ch in sample if "\u4e00" <= ch <= "\u9fff")
    letters = sum(1 for ch in sample if ch.isascii() and ch.isalpha())
    return "zh" if cjk * 3 >= letters else "en"


def issuer_from_title(title: str) -> str | None:
    head, sep, _ = title.partition("关于")
    head = head.strip()
    return head if sep and head and _ORGAN_END.search(head) else None


def level_of_issuer(issuer: str | None) -> str | None:
    """The administrative level of the lowest unit named: 太原市迎泽区委 -> district."""
    if not issuer:
        return None
    first = re.split(r"[\s、，,]+", issuer.strip())[0]
    if re.match(r"^(中共中央|中央|国务院|全国人民代表大会|全国人大|全国政协|最高人民|中华人民共和国)", first):
        return "central"
    core = first.removeprefix("中共").removeprefix("中国共产党").replace("自治区", "省").replace("自治州", "市")
    if re.search(r"[区县旗](?:委|人民政府|政府|人大|政协|纪委|委员会|党委|党工委|办公室|$)", core):
        return "district"
    if core.startswith(_PROVINCIAL_CITIES):
        return "provincial"
    if "市" in core:
        return "municipal"
    if "省" in core:
        return "provincial"
    return None


def kind_of_title(title: str) -> str | None:
    bare = re.sub(r"[（(][^）)]*[）)]$", "", title.strip()).strip()
    for kind, regex in _KIND_BY_TITLE:
        if regex.search(bare):
            return kind
    return None


def parse_metadata(text: str, title: str | None = None) -> DocumentMeta:
    """Metadata stated in the normalised ``text``. ``title`` is the one the file declares, if any."""
    lines = text.split("\n")
    # The first line is the title when it is short and something follows it (a one-line file is all text).
    title = title or (lines[0].strip() if len(lines) > 1 and len(lines[0]) <= 120 else None)
    language = guess_language(text)
    head = "\n".join(lines[:12])
    tail_lines = lines[-6:]

    dates: dict[str, str] = {}
    for line in lines[:12] + tail_lines:
        for offset, iso in find_dates(line):
            role = _role_of(line, offset)
            # A line that is only a date, at the end, is the signing date (成文日期).
            if role is None and line in tail_lines and len(line) <= 20:
                role = "issued"
            if role and role not in dates:
                dates[role] = iso
    date = dates.get("issued") or dates.get("adopted") or dates.get("published")
    if date is None:
        head_dates = find_dates(head)
        date = head_dates[0][1] if head_dates else None

    issuer = issuer_from_title(title) if title else None
    if issuer is None:
        for i, line in enumerate(tail_lines[:-1]):  # the signature: an organ's name just above the date
            if len(line) <= 40 and _ORGAN_END.search(line) and find_dates(tail_lines[i + 1]):
                issuer = line.strip()
    return DocumentMeta(
        title=title,
        issuer=issuer,
        level=level_of_issuer(issuer),
        kind=kind_of_title(title) if title else None,
        date=date,
        doc_number=find_doc_number(head),
        language=language,
        dates=dates,
    )
