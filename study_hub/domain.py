"""Small frozen records passed between the stages (readers -> segmenter -> store), and how a passage is
cited and addressed (its citation and its URL in the reader), which every layer above shows the same way."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

LEVELS = ("central", "provincial", "municipal", "district")
KINDS = ("document", "regulation", "report", "speech", "news")
LANGUAGES = ("zh", "en")
HEADING_SEPARATOR = " > "
# Validity (时效性): 现行有效, 已修订, 已废止, 尚未生效, and unknown when nobody said (most documents that are not
# laws or regulations: reports, speeches, opinions).
STATUSES = ("current", "amended", "repealed", "not_yet_effective", "unknown")
# What search shows unless asked for history: the texts that are (or will be) in force, and those nobody rated,
# which are most of the library. An amended or repealed text is only shown on request: quoting it as today's rule
# is the mistake the badge exists to prevent.
CURRENT_STATUSES = ("current", "not_yet_effective", "unknown")
HISTORY_STATUSES = tuple(status for status in STATUSES if status not in CURRENT_STATUSES)  # amended, repealed
STATUS_ALIASES = {
    "current": "current", "in_force": "current", "valid": "current", "现行有效": "current", "现行": "current",
    "有效": "current",
    "amended": "amended", "revised": "amended", "superseded": "amended", "已修订": "amended", "已修改": "amended",
    "已修正": "amended", "修订": "amended", "已被修订": "amended",
    "repealed": "repealed", "abolished": "repealed", "已废止": "repealed", "废止": "repealed", "失效": "repealed",
    "已失效": "repealed",
    "not_yet_effective": "not_yet_effective", "pending": "not_yet_effective", "尚未生效": "not_yet_effective",
    "未生效": "not_yet_effective", "尚未施行": "not_yet_effective",
    "unknown": "unknown", "未知": "unknown", "不详": "unknown",
}


def status_of(value: str | None) -> str | None:
    """The canonical status of what a person wrote (现行有效, Amended, not-yet-effective), or None for an empty
    value; a value that is no status is returned as written, for ``DocumentMeta.problems`` to name."""
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    return STATUS_ALIASES.get(text.lower().replace("-", "_").replace(" ", "_"), STATUS_ALIASES.get(text, text))

_DATE_RE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


def is_calendar_date(value: str) -> bool:
    """YYYY, YYYY-MM or YYYY-MM-DD naming a real year, month and day (not 2024-13-45)."""
    if not _DATE_RE.match(value):
        return False
    padded = value + "-01-01"[len(value) - 4:]  # 2024 → 2024-01-01, 2024-06 → 2024-06-01
    try:
        _dt.date.fromisoformat(padded)
    except ValueError:
        return False
    return True

# A speaker folded into the issuer, "国务院（总理李强）" or "State Council (Premier Li Qiang)": the bracketed end.
_FOLDED = re.compile(r"^(?P<body>.*?[^\s（(])\s*[（(](?P<inner>[^（()）]+)[）)]$")
_TITLES = ("总书记|副总理|总理|国家主席|副主席|主席|副委员长|委员长|副书记|书记|副省长|省长|副市长|市长|副区长|区长|"
           "副县长|县长|副部长|部长|副主任|主任|副局长|局长|厅长|院长|秘书长|镇长|乡长|发言人")
_NAME = r"(?:[\u4e00-\u9fff]{2,4}|[\u4e00-\u9fff]{1,6}[·•][\u4e00-\u9fff]{1,8})"
# A title and a name (总理李强, 国务院总理李强) or a bare name, then 同志 or whom they speak for
# (习近平代表第19届中央委员会).
_SPEAKER = re.compile(rf"^(?:[\u4e00-\u9fff]{{0,8}}?(?:{_TITLES})\s*{_NAME}|(?P<name>{_NAME}))(?:同志)?(?:代表.+)?$")
_SPEAKER_EN = re.compile(r"^(?:(?:Vice |Deputy )?(?:Premier|President|Chairman|General Secretary|Secretary|"
                         r"Governor|Mayor|Minister|Director|Spokesperson)\s+\S.*)$", re.IGNORECASE)
# What else a bracket after an organ says: how it acted (批准), the text's state (试行, 草案), a bare title, a year,
# another organ.
_NOT_A_NAME = re.compile(r"^(?:批准|通过|发布|公布|印发|转发|试行|暂行|草案|修订|修正|节选|摘要|全文|原文|代章|"
                         rf"联合|合署|筹备|简称|全称|以下简称|{_TITLES})$"
                         r"|(?:中央|部|局|厅|委|院|会|署|办|处|科|省|市|区|县|镇|乡|村|州|旗|年|月|日|版|稿|本|届|次)$")


def split_issuer(issuer: str | None) -> tuple[str | None, str | None]:
    """(issuing body, speaker) of an issuer that may fold the speaker in:
    "国务院（总理李强）" -> ("国务院", "总理李强"), "国务院" -> ("国务院", None).

    Only a bracket at the end that names a person is split off: a title and a name (总理李强), a bare name
    (习近平), a name speaking for someone (胡锦涛代表第17届中央委员会), or an English title and name. A bracket
    that says something else stays part of the issuer: 全国人民代表大会（批准）, 中共中央办公厅（2021年）,
    某某委员会（筹）, 国家发展改革委（原国家计委）. The speaker is the bracketed text as written, so folding it back
    gives the original."""
    if not issuer:
        return issuer, None
    match = _FOLDED.match(issuer.strip())
    if match is None:
        return issuer, None
    inner = match["inner"].strip()
    chinese = _SPEAKER.match(inner)
    if chinese is not None:
        if chinese["name"] and _NOT_A_NAME.search(chinese["name"]):
            return issuer, None
    elif not _SPEAKER_EN.match(inner):
        return issuer, None
    return match["body"].strip(), inner


def fold_issuer(issuer: str | None, speaker: str | None) -> str | None:
    """The one-string form ``split_issuer`` undoes: "国务院" + "总理李强" -> "国务院（总理李强）"."""
    if not speaker:
        return issuer
    if not issuer:
        return speaker
    return f"{issuer} ({speaker})" if (issuer + speaker).isascii() else f"{issuer}（{speaker}）"


@dataclass(frozen=True)
class DocumentMeta:
    """What is known about a document. ``None`` means unknown, so metas can be layered with ``merged``."""

    id: str | None = None
    title: str | None = None
    issuer: str | None = None  # the issuing body: 国务院, 中共中央
    speaker: str | None = None  # who spoke or delivered it, when a person did: 总理李强, 习近平
    level: str | None = None
    kind: str | None = None
    date: str | None = None  # YYYY, YYYY-MM or YYYY-MM-DD: the document's own date (成文/通过/发布)
    doc_number: str | None = None  # 文号, e.g. 中发〔2021〕16号
    language: str | None = None
    dates: dict[str, str] = field(default_factory=dict)  # role (issued/adopted/published/effective) -> ISO
    extra: dict[str, Any] = field(default_factory=dict)  # catalog fields kept as they are (source, licence)
    # Validity (时效性) and the date it took that status; None: this source does not say (a stored status stays)
    status: str | None = None
    status_date: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", status_of(self.status))
        if self.status_date is not None and not str(self.status_date).strip():
            object.__setattr__(self, "status_date", None)
        # An issuer with the speaker folded in (older catalogs, forms): the body stays the issuer, and the
        # bracketed person becomes the speaker unless one is given.
        body, speaker = split_issuer(self.issuer)
        if speaker is not None:
            object.__setattr__(self, "issuer", body)
            if not self.speaker:
                object.__setattr__(self, "speaker", speaker)

    def merged(self, override: DocumentMeta) -> DocumentMeta:
        """This meta with every known (non-None, non-empty) field of ``override`` taking precedence."""
        changes: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(override, f.name)
            if f.name in ("dates", "extra"):
                changes[f.name] = {**getattr(self, f.name), **value}
            elif value not in (None, ""):
                changes[f.name] = value
        if override.status is not None:  # a status and its date go together: a new status never keeps an old date
            changes["status_date"] = override.status_date
        return dataclasses.replace(self, **changes)

    def problems(self) -> list[str]:
        """Reasons this meta cannot be stored as it is (empty when it is fine)."""
        found = []
        if self.level is not None and self.level not in LEVELS:
            found.append(f"level {self.level!r} is not one of {', '.join(LEVELS)}")
        if self.kind is not None and self.kind not in KINDS:
            found.append(f"kind {self.kind!r} is not one of {', '.join(KINDS)}")
        if self.language is not None and self.language not in LANGUAGES:
            found.append(f"language {self.language!r} is not one of {', '.join(LANGUAGES)}")
        if self.status is not None and self.status not in STATUSES:
            found.append(f"status {self.status!r} is not one of {', '.join(STATUSES)} (or 现行有效, 已修订, 已废止, "
                         "尚未生效)")
        if self.status_date is not None and self.status is None:
            found.append("status_date needs a status: say which status the document took on that date")
        for role, value in [("date", self.date), ("status_date", self.status_date), *self.dates.items()]:
            if value is not None and not is_calendar_date(value):
                found.append(f"{role} {value!r} is not YYYY, YYYY-MM or YYYY-MM-DD")
        return found


@dataclass(frozen=True)
class RawDocument:
    """A file read into normalised text: one paragraph per line, no blank lines, no trailing spaces."""

    source_path: str
    source_format: str  # txt, md, html, docx, pdf
    text: str
    source_hash: str  # sha256 of the file's bytes: an unchanged file is a no-op on re-ingest
    encoding: str | None = None  # the detected encoding for text formats
    meta: DocumentMeta = field(default_factory=DocumentMeta)  # what the file itself declares
    heading_levels: dict[int, int] = field(default_factory=dict)  # line number -> level (md #, html h1..)


@dataclass(frozen=True)
class Passage:
    """A citable piece of a document: ``document_text[char_start:char_end] == text`` always."""

    id: str
    doc_id: str
    ordinal: int
    heading_path: tuple[str, ...]
    char_start: int
    char_end: int
    text: str

    @property
    def heading(self) -> str:
        return HEADING_SEPARATOR.join(self.heading_path)


@dataclass(frozen=True)
class IndexRecord:
    """What the indexes need of one passage: its text and its document's filterable metadata."""

    passage_id: str
    doc_id: str
    title: str
    heading: str
    text: str
    level: str | None
    kind: str | None
    issuer: str | None
    date: str | None
    doc_number: str | None
    language: str
    status: str = "unknown"

    @property
    def year(self) -> int | None:
        return int(self.date[:4]) if self.date else None


def heading_parts(heading_path: str) -> list[str]:
    return [part for part in heading_path.split(HEADING_SEPARATOR) if part] if heading_path else []


def citation(document, heading_path: str = "") -> str:
    """How a passage is cited in a study note or a report: title, 文号, heading path, date."""
    heading = "，".join(heading_parts(heading_path))
    if document.language == "en":
        parts = [document.title, f"({document.doc_number})" if document.doc_number else "", heading, document.date]
        return ", ".join(p for p in parts if p) + "."
    title = document.title if document.title.startswith("《") else f"《{document.title}》"
    head = title + (f"（{document.doc_number}）" if document.doc_number else "")
    return "，".join(p for p in (head, heading, document.date) if p) + "。"


def document_url(doc_id: str) -> str:
    return f"/documents/{quote(doc_id, safe='')}"


def passage_url(doc_id: str, passage_id: str) -> str:
    return f"{document_url(doc_id)}#p-{quote(passage_id, safe='')}"
