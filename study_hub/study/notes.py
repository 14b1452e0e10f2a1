"""Study notes anchored to the original text, with visibility rules, re-anchoring and export.

A note is anchored like a web annotation: passage id, start/end offsets within the passage text, the quoted
text and up to 32 characters of context on each side. When a document's text changes, ``reanchor`` finds
each note's quote again: where it still is (kept), or the one place in the same document where the quote
appears with the same immediate context, 16 characters on both sides or else on one side (moved with its
sentence); otherwise, or when two places fit equally well, the note is marked orphaned and shown with its
quote. A note is never moved to the same words in another context.

Who sees a note:
- ``private`` (the default): its owner only; nobody else, admins included.
- ``unit``: the owner, the members of the chosen unit, and the organisers of that unit or a unit above it.
- ``organisers``: the owner and the organisers of the chosen unit or a unit above it.
Admins see every note that is not private. Only the owner edits a note; the owner (or an admin, for a note
that is not private, audited) deletes it. A note that a person may not see is "not found" to them.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from study_hub.accounts import AccountService, Principal
from study_hub.accounts.policy import visible_notes
from study_hub.domain import citation
from study_hub.errors import NotFoundError, PermissionDenied, StudyHubError
from study_hub.store import DocumentStore
from study_hub.store.models import Document, Note, NoteTag, PassageRow, Unit, User, utcnow

VISIBILITIES = ("private", "unit", "organisers")
CONTEXT = 32
IMMEDIATE_CONTEXT = 16  # characters of context that must match on each side for a note to move
MAX_BODY = 20_000
MAX_TAGS = 20
MAX_TAG = 50


class NoteError(StudyHubError):
    pass


@dataclass
class NoteView:
    id: int
    owner_id: int
    owner_name: str
    document_id: str
    document_title: str | None
    passage_id: str | None
    heading_path: str
    start: int
    end: int
    quote: str
    prefix: str
    suffix: str
    body: str
    tags: list[str]
    visibility: str
    unit_id: int | None
    unit_name: str | None
    orphaned: bool
    created_at: datetime
    updated_at: datetime
    editable: bool


@dataclass
class ReanchorReport:
    kept: int = 0
    moved: int = 0
    orphaned: int = 0


def clean_tags(tags: list[str] | None) -> list[str]:
    cleaned = list(dict.fromkeys(t.strip().lstrip("#") for t in tags or [] if t and t.strip().lstrip("#")))
    if len(cleaned) > MAX_TAGS or any(len(t) > MAX_TAG for t in cleaned):
        raise NoteError(f"at most {MAX_TAGS} tags of at most {MAX_TAG} characters each")
    return cleaned


class NoteService:
    def __init__(self, store: DocumentStore, accounts: AccountService, zone: tzinfo = UTC):
        self.store = store
        self.sessions = store.sessions
        self.accounts = accounts
        self.zone = zone  # exports say when, in the site's time zone

    # --- who sees what --------------------------------------------------------------------------------

    def _visible(self, who: Principal):
        """The SQL condition for the notes ``who`` may read (``policy.visible_notes``)."""
        return visible_notes(who, self.accounts)

    def _check_sharing(self, who: Principal, visibility: str, unit_id: int | None) -> int | None:
        if visibility not in VISIBILITIES:
            raise NoteError(f"visibility must be one of {', '.join(VISIBILITIES)}")
        if visibility == "private":
            return None
        if unit_id is None:
            raise NoteError("sharing a note needs a unit (one of yours)")
        if unit_id not in who.unit_ids:
            raise PermissionDenied("you can share notes only with units you belong to")
        return unit_id

    # --- writing --------------------------------------------------------------------------------------------

    def create(self, who: Principal, passage_id: str, start: int, end: int, body: str = "",
               tags: list[str] | None = None, visibility: str = "private", unit_id: int | None = None) -> NoteView:
        passage, document, _, _ = self.store.passage_in_context(passage_id)
        if not 0 <= start < end <= len(passage.text):
            raise NoteError(f"the selection {start}–{end} is outside the passage (0–{len(passage.text)})")
        if len(body) > MAX_BODY:
            raise NoteError(f"a note holds at most {MAX_BODY} characters")
        unit_id = self._check_sharing(who, visibility, unit_id)
        note = Note(owner_id=who.id, document_id=document.id, passage_id=passage.id, start=start, end=end,
                    quote=passage.text[start:end], prefix=passage.text[max(0, start - CONTEXT):start],
                    suffix=passage.text[end:end + CONTEXT], body=body, visibility=visibility, unit_id=unit_id,
                    created_at=utcnow(), updated_at=utcnow())
        note.tags = [NoteTag(tag=t) for t in clean_tags(tags)]
        with self.sessions.begin() as session:
            session.add(note)
            session.flush()
            note_id = note.id
        return self.get(who, note_id)

    def update(self, who: Principal, note_id: int, *, body: str | None = None, tags: list[str] | None = None,
               visibility: str | None = None, unit_id: int | None = None) -> NoteView:
        self.get(who, note_id)  # not visible: not found
        with self.sessions.begin() as session:
            note = session.get(Note, note_id)
            if note.owner_id != who.id:
                raise PermissionDenied("only the author can edit a note")
            if body is not None:
                if len(body) > MAX_BODY:
                    raise NoteError(f"a note holds at most {MAX_BODY} characters")
                note.body = body
            if tags is not None:
                note.tags = [NoteTag(tag=t) for t in clean_tags(tags)]
            if visibility is not None:
                note.unit_id = self._check_sharing(who, visibility, unit_id if unit_id is not None else note.unit_id)
                note.visibility = visibility
            note.updated_at = utcnow()
        return self.get(who, note_id)

    def delete(self, who: Principal, note_id: int) -> None:
        view = self.get(who, note_id)
        if view.owner_id != who.id and not (who.is_admin and view.visibility != "private"):
            raise PermissionDenied("only the author (or an admin, for a shared note) can delete a note")
        with self.sessions.begin() as session:
            session.delete(session.get(Note, note_id))
        self.accounts.audit("note_deleted", who.id, f"note:{note_id}",
                            {"owner_id": view.owner_id, "document": view.document_id})

    # --- reading --------------------------------------------------------------------------------------------

    def get(self, who: Principal, note_id: int) -> NoteView:
        found = self._query(who, select(Note).where(Note.id == note_id))
        if not found:
            raise NotFoundError(f"no note {note_id}")
        return found[0]

    def list(self, who: Principal, *, mine_only: bool = False, others_only: bool = False,
             document: str | None = None,
             tag: str | None = None, text: str | None = None, since: date | None = None,
             until: date | None = None, limit: int = 200, offset: int = 0) -> list[NoteView]:
        query = select(Note)
        if mine_only:
            query = query.where(Note.owner_id == who.id)
        if others_only:  # what others shared with ``who`` (the visibility rules of ``_query`` still apply)
            query = query.where(Note.owner_id != who.id)
        if document:
            query = query.where(Note.document_id == document)
        if tag:
            query = query.where(Note.tags.any(NoteTag.tag == tag.strip().lstrip("#")))
        if text:
            query = query.where(or_(Note.body.contains(text, autoescape=True),
                                    Note.quote.contains(text, autoescape=True)))
        if since:
            query = query.where(Note.created_at >= datetime.combine(since, datetime.min.time()))
        if until:
            query = query.where(Note.created_at < datetime.combine(until, datetime.max.time()))
        query = query.order_by(Note.created_at.desc(), Note.id.desc()).limit(limit).offset(offset)
        return self._query(who, query)

    def my_documents_and_tags(self, who: Principal) -> tuple[list[tuple[str, str]], list[str]]:
        """(document id, title) of the documents ``who`` wrote notes on, by title, and their tags: two queries."""
        with self.sessions() as session:
            documents = session.execute(select(Note.document_id, Document.title).distinct().join(
                Document, Document.id == Note.document_id, isouter=True).where(Note.owner_id == who.id)).all()
            tags = session.scalars(select(NoteTag.tag).distinct().join(Note, Note.id == NoteTag.note_id).where(
                Note.owner_id == who.id).order_by(NoteTag.tag)).all()
        return sorted(((d, title or d) for d, title in documents), key=lambda item: item[1]), list(tags)

    def _query(self, who: Principal, query) -> list[NoteView]:
        with self.sessions() as session:
            notes = list(session.scalars(query.where(self._visible(who))))
            owners = dict(session.execute(select(User.id, User.display_name).where(
                User.id.in_({n.owner_id for n in notes}))).all()) if notes else {}
            units = dict(session.execute(select(Unit.id, Unit.name).where(
                Unit.id.in_({n.unit_id for n in notes if n.unit_id}))).all()) if notes else {}
            titles = dict(session.execute(select(Document.id, Document.title).where(
                Document.id.in_({n.document_id for n in notes}))).all()) if notes else {}
            headings = dict(session.execute(select(PassageRow.id, PassageRow.heading_path).where(
                PassageRow.id.in_({n.passage_id for n in notes if n.passage_id}))).all()) if notes else {}
            return [NoteView(
                id=n.id, owner_id=n.owner_id, owner_name=owners.get(n.owner_id, "?"), document_id=n.document_id,
                document_title=titles.get(n.document_id), passage_id=n.passage_id,
                heading_path=headings.get(n.passage_id, ""), start=n.start, end=n.end, quote=n.quote,
                prefix=n.prefix, suffix=n.suffix, body=n.body, tags=[t.tag for t in n.tags],
                visibility=n.visibility, unit_id=n.unit_id, unit_name=units.get(n.unit_id), orphaned=n.orphaned,
                created_at=n.created_at, updated_at=n.updated_at, editable=n.owner_id == who.id) for n in notes]

    # --- after a document changes -----------------------------------------------------------------------------

    def reanchor(self, document_id: str) -> ReanchorReport:
        return reanchor(self.store, document_id)

    # --- export -------------------------------------------------------------------------------------------------

    def export(self, who: Principal, notes: list[NoteView], fmt: str) -> bytes:
        if fmt not in ("md", "docx"):
            raise NoteError("export format must be md or docx")
        citations = self._citations(notes)
        self.accounts.audit("notes_exported", who.id, f"user:{who.login}", {"format": fmt, "notes": len(notes)})
        made = utcnow().astimezone(self.zone)
        return _markdown(who, notes, citations, made).encode("utf-8") if fmt == "md" else \
            _docx(who, notes, citations, made)

    def _citations(self, notes: list[NoteView]) -> dict[int, str]:
        with self.sessions() as session:
            documents = {d.id: d for d in session.scalars(select(Document).where(
                Document.id.in_({n.document_id for n in notes})))}
        return {n.id: citation(documents[n.document_id], n.heading_path) if n.document_id in documents else
                n.document_id for n in notes}


def reanchor(store: DocumentStore, document_id: str) -> ReanchorReport:
    """Find every note of the document again in its current passages (see the module docstring)."""
    with store.sessions.begin() as session:
        return reanchor_in(session, document_id)


def reanchor_in(session: Session, document_id: str) -> ReanchorReport:
    """``reanchor`` inside the caller's transaction: the ingest saves a changed document and moves its notes
    in one transaction, so a crash between the two cannot leave notes pointing at deleted passages."""
    report = ReanchorReport()
    passages = list(session.scalars(select(PassageRow).where(PassageRow.document_id == document_id)
                                    .order_by(PassageRow.ordinal)))
    by_id = {p.id: p for p in passages}
    for note in session.scalars(select(Note).where(Note.document_id == document_id)):
        where = _locate(note, passages, by_id)
        if where is None:
            if not note.orphaned:  # newly orphaned (an orphan stays one until its quote comes back)
                report.orphaned += 1
            note.orphaned = True
            continue
        passage, start = where
        if passage.id == note.passage_id and start == note.start and not note.orphaned:
            report.kept += 1
            continue
        note.passage_id, note.start, note.end = passage.id, start, start + len(note.quote)
        note.prefix = passage.text[max(0, start - CONTEXT):start]
        note.suffix = passage.text[note.end:note.end + CONTEXT]
        note.orphaned = False
        report.moved += 1
    session.flush()
    return report


def _locate(note: Note, passages: list[PassageRow], by_id: dict[str, PassageRow]) -> tuple[PassageRow, int] | None:
    same = by_id.get(note.passage_id or "")
    if same is not None and same.text[note.start:note.end] == note.quote:
        return same, note.start
    before, after = note.prefix[-IMMEDIATE_CONTEXT:], note.suffix[:IMMEDIATE_CONTEXT]
    both, one = [], []  # occurrences with the same words on both sides / on one side
    for passage in passages:
        at = passage.text.find(note.quote)
        while at >= 0:
            head, tail = passage.text[:at], passage.text[at + len(note.quote):]
            # Context cut by a passage boundary counts as matching what is left of it.
            left = head.endswith(before) or before.endswith(head)
            right = tail.startswith(after) or after.startswith(tail)
            if left and right:
                both.append((passage, at))
            elif left or right:
                one.append((passage, at))
            at = passage.text.find(note.quote, at + 1)
    for matches in (both, one):
        if len(matches) == 1:
            return matches[0]
        in_same = [m for m in matches if m[0].id == note.passage_id]
        if len(in_same) == 1:
            return in_same[0]
        if matches:
            return None  # several equally good places: ambiguous, so orphaned rather than guessed
    return None


def _markdown(who: Principal, notes: list[NoteView], citations: dict[int, str], made: datetime) -> str:
    lines = [f"# 学习笔记 · {who.display_name}", "", f"导出时间：{made:%Y-%m-%d %H:%M %Z}，共 {len(notes)} 条", ""]
    for note in notes:
        lines += [f"## {note.document_title or note.document_id}", ""]
        lines += [f"> {line}" for line in note.quote.splitlines() or [""]]
        orphaned = "（原文已修改，此批注未能重新定位）" if note.orphaned else ""
        lines += ["", f"出处：{citations[note.id]}{orphaned}", ""]
        if note.body:
            lines += [note.body, ""]
        if note.tags:
            lines += ["标签：" + " ".join(f"#{t}" for t in note.tags), ""]
        lines += [f"*{note.created_at:%Y-%m-%d}*", ""]
    return "\n".join(lines)


def _docx(who: Principal, notes: list[NoteView], citations: dict[int, str], made: datetime) -> bytes:
    from docx import Document as Docx
    from docx.shared import Pt

    out = Docx()
    out.add_heading(f"学习笔记 · {who.display_name}", level=1)
    out.add_paragraph(f"导出时间：{made:%Y-%m-%d %H:%M %Z}，共 {len(notes)} 条")
    for note in notes:
        out.add_heading(note.document_title or note.document_id, level=2)
        quote = out.add_paragraph(style="Intense Quote")
        quote.add_run(note.quote)
        source = out.add_paragraph()
        run = source.add_run("出处：" + citations[note.id])
        run.font.size = Pt(9)
        for block in filter(None, note.body.split("\n\n")):
            out.add_paragraph(block)
        if note.tags:
            out.add_paragraph("标签：" + " ".join(f"#{t}" for t in note.tags))
    buffer = io.BytesIO()
    out.save(buffer)
    return buffer.getvalue()
