"""Small frozen records passed between the stages (readers -> segmenter -> store), and how a passage is
cited and addressed (its citation and its URL in the reader), which every layer above shows the same way."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

LEVELS = ("central", "provincial", "municipal", "district")
KINDS = ("document", "regulation", "report", "speech", "news")
LANGUAGES = ("zh", "en")
HEADING_SEPARATOR = " > "

_DATE_RE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


@dataclass(frozen=True)
class DocumentMeta:
    """What is known about a document. ``None`` means unknown, so metas can be layered with ``merged``."""

    id: str | None = None
    title: str | None = None
    issuer: str | None = None
    level: str | None = None
    kind: str | None = None
    date: str | None = None  # YYYY, YYYY-MM or YYYY-MM-DD: the document's own date (成文/通过/发布)
    doc_number: str | None = None  # 文号, e.g. 中发〔2021〕16号
    language: str | None = None
    dates: dict[str, str] = field(default_factory=dict)  # role (issued/adopted/published/effective) -> ISO
    extra: dict[str, Any] = field(default_factory=dict)  # catalog fields kept as they are (source, licence)

    def merged(self, override: DocumentMeta) -> DocumentMeta:
        """This meta with every known (non-None, non-empty) field of ``override`` taking precedence."""
        changes: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(override, f.name)
            if f.name in ("dates", "extra"):
                changes[f.name] = {**getattr(self, f.name), **value}
            elif value not in (None, ""):
                changes[f.name] = value
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
        for role, value in [("date", self.date), *self.dates.items()]:
            if value is not None and not _DATE_RE.match(value):
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
