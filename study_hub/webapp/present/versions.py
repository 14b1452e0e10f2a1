"""What the API and the pages show of a document's versions and of two versions compared (修订对照).

Every piece of a document's text is HTML-escaped before it is marked: a version's text is whatever a file said,
and hostile text stays text.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from study_hub.accounts import Principal
from study_hub.domain import Passage, document_url
from study_hub.store import VersionInfo
from study_hub.study.versions import AlignedRow, Comparison, DiffOp
from study_hub.webapp import schemas
from study_hub.webapp.context import AppContext


def compare_url(doc_id: str, old: int, new: int) -> str:
    return f"{document_url(doc_id)}/compare?{urlencode({'from': old, 'to': new})}"


def _summary(doc_id: str, info: VersionInfo, previous: int | None) -> schemas.VersionSummary:
    meta = info.meta
    return schemas.VersionSummary(
        number=info.number, ingested_at=info.ingested_at, current=info.current, title=meta.get("title"),
        date=meta.get("date"), status=meta.get("status"), status_date=meta.get("status_date"),
        source_format=info.source_format, source_hash=info.source_hash, char_count=info.char_count,
        url=f"/api/documents/{quote(doc_id, safe='')}/versions/{info.number}",
        compare_url=compare_url(doc_id, previous, info.number) if previous is not None else None)


def versions(ctx: AppContext, doc_id: str) -> list[schemas.VersionSummary]:
    """A document's versions, oldest first, each linked to its comparison with the one before."""
    found = ctx.versions.versions(doc_id)
    return [_summary(doc_id, info, found[index - 1].number if index else None) for index, info in enumerate(found)]


def version(ctx: AppContext, doc_id: str, number: int) -> schemas.VersionDetail:
    listed = {v.number: v for v in versions(ctx, doc_id)}
    row = ctx.versions.version(doc_id, number)  # an unknown number: 404 with what to do
    return schemas.VersionDetail(**listed[number].model_dump(), doc_id=doc_id, meta=row.meta or {}, text=row.text)


def _compared(passage: Passage | None) -> schemas.ComparedPassage | None:
    if passage is None:
        return None
    return schemas.ComparedPassage(passage_id=passage.id, heading_path=passage.heading, char_start=passage.char_start,
                                   char_end=passage.char_end, text=passage.text)


def comparison(ctx: AppContext, who: Principal | None, doc_id: str, old: int, new: int) -> schemas.ComparisonOut:
    found = ctx.versions.compare(who, doc_id, old, new)
    return _comparison_out(ctx, found)


def _comparison_out(ctx: AppContext, found: Comparison) -> schemas.ComparisonOut:
    listed = {v.number: v for v in versions(ctx, found.doc_id)}
    return schemas.ComparisonOut(
        doc_id=found.doc_id, title=found.title, from_version=listed[found.old.number],
        to_version=listed[found.new.number], counts=found.counts,
        rows=[schemas.ComparedRow(kind=row.kind, old=_compared(row.old), new=_compared(row.new),
                                  ops=[schemas.DiffOp(**vars(op)) for op in row.ops],
                                  notes=[note.id for note in row.notes]) for row in found.rows],
        metadata_changes=[schemas.MetadataChange(field=name, old=before, new=after)
                          for name, before, after in found.metadata_changes],
        unplaced_notes=[note.id for note in found.unplaced_notes])


# --- the comparison page ---------------------------------------------------------------------------------

def marked(text: str, ops: list[DiffOp], side: str) -> str:
    """``text`` (one side of a changed passage) escaped, what the other side lacks in <del> (old side) or <ins>
    (new side)."""
    pieces = []
    for op in ops:
        start, end = (op.old_start, op.old_end) if side == "old" else (op.new_start, op.new_end)
        if start == end:
            continue
        chunk = html.escape(text[start:end])
        if op.op == "equal":
            pieces.append(chunk)
        else:
            pieces.append(f"<del>{chunk}</del>" if side == "old" else f"<ins>{chunk}</ins>")
    return "".join(pieces)


@dataclass
class Side:
    passage: Passage
    html: str


@dataclass
class ShownRow:
    kind: str
    old: Side | None
    new: Side | None
    notes: list


@dataclass
class Block:
    """What the page shows in order: a changed, added or removed row, or a run of unchanged rows (folded)."""
    rows: list[ShownRow]
    unchanged: bool


def _side(passage: Passage | None, ops: list[DiffOp], side: str, whole: str | None) -> Side | None:
    if passage is None:
        return None
    if ops:
        return Side(passage, marked(passage.text, ops, side))
    text = html.escape(passage.text)
    return Side(passage, f"<{whole}>{text}</{whole}>" if whole else text)


def _shown(row: AlignedRow) -> ShownRow:
    return ShownRow(row.kind, _side(row.old, row.ops, "old", "del" if row.kind == "removed" else None),
                    _side(row.new, row.ops, "new", "ins" if row.kind == "added" else None), row.notes)


def page_blocks(found: Comparison) -> list[Block]:
    """The rows in reading order, each run of unchanged passages one block (the page folds it, unless a note of
    the reader's is in it)."""
    blocks: list[Block] = []
    for row in found.rows:
        folded = row.kind == "unchanged" and not row.notes
        if blocks and blocks[-1].unchanged and folded:
            blocks[-1].rows.append(_shown(row))
        else:
            blocks.append(Block([_shown(row)], folded))
    return blocks
