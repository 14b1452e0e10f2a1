"""What the API and the pages both show, built once from the store and the search service.

Views stay thin (validate → call one of these → present), so a rule about what is shown lives here once.
"""

from __future__ import annotations

import html
from collections import Counter
from dataclasses import dataclass, field
from itertools import pairwise

from study_hub.domain import citation, document_url, heading_parts, passage_url
from study_hub.errors import StudyHubError
from study_hub.search.service import SearchHit, SearchRequest
from study_hub.store import DocumentFilter
from study_hub.webapp import schemas
from study_hub.webapp.context import AppContext
from study_hub.webapp.present import reading
from study_hub.webapp.present.citations import CiteSpan, DocumentCitations

FACETS = ("level", "kind", "issuer", "year", "status")


def hit(found: SearchHit) -> schemas.Hit:
    return schemas.Hit.model_validate(found, from_attributes=True)  # the same fields, ``url`` its property


def search(ctx: AppContext, request: SearchRequest, language: str = "zh") -> schemas.SearchResults:
    response = ctx.search.search(request)
    meaning = response.meaning
    return schemas.SearchResults(
        query=response.query, mode=response.mode, total=response.total, page=response.page, limit=response.limit,
        partial_from=response.partial_from, took_ms=response.took_ms, generation=response.generation,
        results=[hit(h) for h in response.results], facets=response.facets,
        meaning=schemas.Meaning(ready=meaning.ready, complete=meaning.complete, reason=meaning.reason,
                                passages_with_vectors=meaning.coverage[0], passages=meaning.coverage[1])
        if meaning is not None else None,
        notice=ctx.meaning_notice(meaning, language), in_history=response.in_history)


def summary(document) -> schemas.DocumentSummary:
    return schemas.DocumentSummary(
        doc_id=document.id, title=document.title, doc_number=document.doc_number, level=document.level,
        kind=document.kind, issuer=document.issuer, speaker=document.speaker, date=document.date,
        language=document.language, passage_count=document.passage_count, char_count=document.char_count,
        url=document_url(document.id), status=document.status or "unknown", status_date=document.status_date)


def _facets(documents) -> dict[str, dict[str, int]]:
    counts: dict[str, Counter] = {name: Counter() for name in FACETS}
    for document in documents:
        for name, value in (("level", document.level), ("kind", document.kind), ("issuer", document.issuer),
                            ("year", (document.date or "")[:4]), ("status", document.status or "unknown")):
            if value:
                counts[name][value] += 1
    return {name: dict(sorted(c.items(), key=lambda item: (-item[1], item[0]))) for name, c in counts.items()}


def documents(ctx: AppContext, where: DocumentFilter, page: int = 1, limit: int = 50) -> schemas.DocumentList:
    found = ctx.store.list_documents(where)
    shown = found[(page - 1) * limit: page * limit]
    return schemas.DocumentList(total=len(found), page=page, limit=limit, documents=[summary(d) for d in shown],
                                facets=_facets(found))


def _passage(passage, doc_id: str) -> schemas.Passage:
    return schemas.Passage(passage_id=passage.id, ordinal=passage.ordinal, heading_path=passage.heading_path,
                           char_start=passage.char_start, char_end=passage.char_end, text=passage.text,
                           url=passage_url(doc_id, passage.id))


def _outline(nodes: list[reading.OutlineNode]) -> list[schemas.OutlineNode]:
    return [schemas.OutlineNode(heading=n.heading, passage_id=n.passage_id, children=_outline(n.children))
            for n in nodes]


def document(ctx: AppContext, doc_id: str) -> tuple[schemas.DocumentDetail, object]:
    """The document with its passages and outline (and the stored row, for the reader's citations)."""
    row = ctx.store.get_document(doc_id)
    detail = schemas.DocumentDetail(
        **summary(row).model_dump(), dates=row.dates or {}, source_format=row.source_format, encoding=row.encoding,
        outline=_outline(reading.outline(row.passages)), passages=[_passage(p, row.id) for p in row.passages])
    return detail, row


@dataclass
class ReaderPassage:
    """A passage as the reader shows it: HTML with the search's words, the notes and the references to other
    documents marked, heading lines set apart, the notes anchored in it and what cites it."""
    passage: schemas.Passage
    html_lines: list[tuple[bool, int, str]]  # (is a heading line, offset of the line in the passage, HTML)
    citation: str
    notes: list = field(default_factory=list)
    cited_by: schemas.CitedBy | None = None


def _marked(text: str, hits: list[tuple[int, int]], notes: list[tuple[int, int, int]],
            cites: list[CiteSpan] = ()) -> str:
    """``text`` HTML-escaped; search matches in <mark>, noted spans in <mark class="note" data-note=…>, references
    in a link to what they cite (or a mark saying the library lacks it) around those marks.

    The text is cut at every boundary; each piece takes the marks covering it, and runs of pieces under the same
    reference share one link. A reference inside another (〈物业管理条例〉 in 《国务院关于修改〈物业管理条例〉的决定》)
    is the innermost one's: links never nest.
    """
    bounds = {0, len(text)}
    for s, e in hits:
        bounds.update((s, e))
    for s, e, _ in notes:
        bounds.update((s, e))
    for cite in cites:
        bounds.update((cite.start, cite.end))
    runs: list[tuple[CiteSpan | None, list[str]]] = []
    for start, end in pairwise(sorted(bounds)):
        if not 0 <= start < end <= len(text):
            continue
        chunk = html.escape(text[start:end])
        hit = any(s <= start and end <= e for s, e in hits)
        noted = [n for s, e, n in notes if s <= start and end <= e]
        if noted:
            classes = "note hit" if hit else "note"
            piece = f'<mark class="{classes}" data-note="{noted[0]}">{chunk}</mark>'
        elif hit:
            piece = f"<mark>{chunk}</mark>"
        else:
            piece = chunk
        covering = [c for c in cites if c.start <= start and end <= c.end]
        cite = min(covering, key=lambda c: c.end - c.start) if covering else None
        if runs and runs[-1][0] is cite:
            runs[-1][1].append(piece)
        else:
            runs.append((cite, [piece]))
    return "".join("".join(pieces) if cite is None else cite.open_tag() + "".join(pieces) + cite.close_tag()
                   for cite, pieces in runs)


def reader_passages(ctx: AppContext, detail: schemas.DocumentDetail, row, q: str = "",
                    notes: list | None = None, citations: DocumentCitations | None = None) -> list[ReaderPassage]:
    marks = ctx.search.highlighter(q) if q.strip() else (lambda text: [])
    citations = citations or DocumentCitations()
    by_passage: dict[str, list] = {}
    for note in notes or []:
        if not note.orphaned and note.passage_id:
            by_passage.setdefault(note.passage_id, []).append(note)
    shown = []
    for passage in detail.passages:
        headings = set(heading_parts(passage.heading_path))
        spans = marks(passage.text)
        anchored = by_passage.get(passage.passage_id, [])
        cites = citations.spans.get(passage.passage_id, [])
        lines, offset = [], 0
        for line in passage.text.split("\n"):
            end = offset + len(line)
            local_hits = [(max(s, offset) - offset, min(e, end) - offset) for s, e in spans if s < end and e > offset]
            local_notes = [(max(n.start, offset) - offset, min(n.end, end) - offset, n.id) for n in anchored
                           if n.start < end and n.end > offset]
            local_cites = [CiteSpan(max(c.start, offset) - offset, min(c.end, end) - offset, c.href, c.title, c.kind)
                           for c in cites if c.start < end and c.end > offset]
            lines.append((line.strip() in headings, offset, _marked(line, local_hits, local_notes, local_cites)))
            offset = end + 1
        shown.append(ReaderPassage(passage, lines, citation(row, passage.heading_path), anchored,
                                   citations.cited_by_passage.get(passage.passage_id)))
    return shown


def passage(ctx: AppContext, passage_id: str, per_level: int = 3) -> schemas.PassageDetail:
    row, document_row, before, after = ctx.store.passage_in_context(passage_id)
    related: dict[str, list[schemas.Hit]] = {}
    available = ctx.health_of_semantic()
    if available:
        try:
            related = {level: [hit(h) for h in hits]
                       for level, hits in ctx.search.related(passage_id, per_level).items()}
        except StudyHubError:  # the passage is newer than the index: nothing to trace yet
            available = False
    return schemas.PassageDetail(
        **_passage(row, document_row.id).model_dump(), doc_id=document_row.id, document=summary(document_row),
        citation=citation(document_row, row.heading_path),
        previous=_passage(before, document_row.id) if before else None,
        next=_passage(after, document_row.id) if after else None, related=related, related_available=available)
