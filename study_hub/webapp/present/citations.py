"""Citations between documents as the API and the pages show them: what a document or passage cites, what cites
it (grouped by the citing document's level), and the spans the reader turns into links."""

from __future__ import annotations

import html
from collections import Counter
from dataclasses import dataclass, field

from study_hub.domain import LEVELS, document_url, passage_url
from study_hub.segment.citations import newest_first
from study_hub.store.citations import CitationRecord
from study_hub.webapp import schemas
from study_hub.webapp.context import AppContext
from study_hub.webapp.i18n import translator

SAME_DOCUMENT = "same_document"
OTHER_LEVEL = "other"
GROUPS = (SAME_DOCUMENT, *LEVELS, OTHER_LEVEL)


def _target_url(record: CitationRecord) -> str | None:
    if record.to_document_id is None:
        return None
    if record.to_passage_id is None:
        return document_url(record.to_document_id)
    return passage_url(record.to_document_id, record.to_passage_id)


def citation_out(record: CitationRecord) -> schemas.CitationOut:
    target = None
    if record.to_document_id is not None:
        target = schemas.CitationTarget(doc_id=record.to_document_id, title=record.to_title or "",
                                        level=record.to_level, passage_id=record.to_passage_id,
                                        heading_path=record.to_heading_path, url=_target_url(record) or "")
    return schemas.CitationOut(id=record.id, passage_id=record.passage_id, start=record.start, end=record.end,
                               surface=record.surface, kind=record.kind, target=record.target, article=record.article,
                               resolution=record.resolution, to=target,
                               url=passage_url(record.document_id, record.passage_id))


def _listing(records: list[CitationRecord], doc_id: str, passage_id: str | None) -> schemas.CitationList:
    return schemas.CitationList(
        doc_id=doc_id, passage_id=passage_id, total=len(records),
        by_kind=dict(Counter(r.kind for r in records)), by_resolution=dict(Counter(r.resolution for r in records)),
        citations=[citation_out(r) for r in records])


def of_document(ctx: AppContext, doc_id: str) -> schemas.CitationList:
    return _listing(ctx.store.citations.from_document(doc_id), doc_id, None)


def of_passage(ctx: AppContext, passage_id: str) -> schemas.CitationList:
    records = ctx.store.citations.from_passage(passage_id)
    doc_id = records[0].document_id if records else ctx.store.passage_in_context(passage_id)[1].id
    return _listing(records, doc_id, passage_id)


def citing_passage(record: CitationRecord) -> schemas.CitingPassage:
    return schemas.CitingPassage(
        citation_id=record.id, doc_id=record.document_id, title=record.from_title, level=record.from_level,
        date=record.from_date, passage_id=record.passage_id, heading_path=record.from_heading_path,
        surface=record.surface, kind=record.kind, resolution=record.resolution, to_passage_id=record.to_passage_id,
        url=passage_url(record.document_id, record.passage_id))


def _group(record: CitationRecord, cited_doc: str) -> str:
    if record.document_id == cited_doc:
        return SAME_DOCUMENT
    return record.from_level if record.from_level in LEVELS else OTHER_LEVEL


def _cited_by(records: list[CitationRecord], doc_id: str, passage_id: str | None) -> schemas.CitedBy:
    """Grouped by level, central first; within a level the newest citing document first, in reading order."""
    by_level: dict[str, list[schemas.CitingPassage]] = {}
    ordered = sorted(records, key=lambda r: (GROUPS.index(_group(r, doc_id)), newest_first(r.from_date),
                                             r.document_id))  # stable: reading order within a document
    for record in ordered:
        by_level.setdefault(_group(record, doc_id), []).append(citing_passage(record))
    return schemas.CitedBy(doc_id=doc_id, passage_id=passage_id, total=len(records),
                           documents=len({r.document_id for r in records if r.document_id != doc_id}),
                           by_level=by_level)


def cited_by_document(ctx: AppContext, doc_id: str) -> schemas.CitedBy:
    """What cites a document: other documents' references to it or to any of its articles."""
    return _cited_by(ctx.store.citations.to_document(doc_id), doc_id, None)


def cited_by_passage(ctx: AppContext, passage_id: str) -> schemas.CitedBy:
    """What cites one passage (an article), its own document's references to it included."""
    records = ctx.store.citations.to_passage(passage_id)
    doc_id = ctx.store.passage_in_context(passage_id)[1].id if not records else records[0].to_document_id
    return _cited_by(records, doc_id or "", passage_id)


# --- the reader -------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CiteSpan:
    """A reference as the reader marks it: a link to what it cites, or a mark saying the library lacks it."""
    start: int
    end: int
    href: str | None  # None: unresolved
    title: str  # the tooltip: what it links to, or that the library lacks it
    kind: str

    def open_tag(self) -> str:
        if self.href is None:
            return f'<span class="cite unresolved" title="{html.escape(self.title)}">'
        return f'<a class="cite cite-{self.kind}" href="{html.escape(self.href)}" title="{html.escape(self.title)}">'

    def close_tag(self) -> str:
        return "</span>" if self.href is None else "</a>"


@dataclass
class DocumentCitations:
    """Everything the reader shows about citations: spans per passage, what cites each passage and the whole."""
    spans: dict[str, list[CiteSpan]] = field(default_factory=dict)
    cited_by_passage: dict[str, schemas.CitedBy] = field(default_factory=dict)
    cited_by: schemas.CitedBy | None = None


def for_reader(ctx: AppContext, doc_id: str, language: str = "zh") -> DocumentCitations:
    """Two queries: this document's references, and every reference to it (whole or by article)."""
    t = translator(language)
    shown = DocumentCitations()
    for record in ctx.store.citations.from_document(doc_id):
        if record.to_document_id is None:
            title = t("cite_unresolved")
        else:
            title = " · ".join(part for part in (record.to_title, record.to_heading_path) if part)
        shown.spans.setdefault(record.passage_id, []).append(
            CiteSpan(record.start, record.end, _target_url(record), title, record.kind))
    incoming = ctx.store.citations.to_document(doc_id, same_document=True)
    shown.cited_by = _cited_by([r for r in incoming if r.document_id != doc_id], doc_id, None)
    by_passage: dict[str, list[CitationRecord]] = {}
    for record in incoming:
        if record.to_passage_id is not None:
            by_passage.setdefault(record.to_passage_id, []).append(record)
    shown.cited_by_passage = {pid: _cited_by(records, doc_id, pid) for pid, records in by_passage.items()}
    return shown


def citing_documents(cited_by: schemas.CitedBy) -> list[tuple[str, list[tuple[schemas.CitingPassage,
                                                                                 list[schemas.CitingPassage]]]]]:
    """(group, [(the first citing passage of a document, all its citing passages)]) for a page to list one line per
    citing document."""
    out = []
    for group, passages in cited_by.by_level.items():
        documents: dict[str, list[schemas.CitingPassage]] = {}
        for passage in passages:
            documents.setdefault(passage.doc_id, []).append(passage)
        out.append((group, [(found[0], found) for found in documents.values()]))
    return out
