"""The discussion under shared notes (交流研讨): replies, their moderation, and what is new since one's last visit.

- A discussion belongs to a shared note (``unit`` or ``organisers``) and is read and joined by exactly those who
  may read the note (``policy.discussable_notes``, the notes' own visibility rules). A private note has no
  discussion: replying under one is refused, and the replies of a note its author made private again are kept
  but shown to nobody, its author included, until it is shared again. A note one may not read is "not found",
  and so is a reply id of another note.
- A reply answers the note and may quote another reply of the same note (shown as a short excerpt); replies do
  not nest. Bodies are Markdown (rendered like note bodies: raw HTML off), 1 to ``MAX_REPLY`` characters.
- The same text posted twice by the same author under the same note is one reply: the row is claimed by one
  conditional insert on a unique fingerprint, so a double click or two tabs posting at once make one reply,
  and the repeat answers the reply that exists (``created`` False). Reposting a hidden reply's text gets the
  hidden reply back, not a fresh copy.
- Its author edits a reply within ``policy.REPLY_EDIT_WINDOW`` of posting and deletes it at any time, unless
  it is hidden (``policy.reply_change_refusal``). Deleting erases the text and keeps a placeholder, so the
  replies that quoted it still read in order; it is audited.
- The note's author and those who manage the note's unit (``policy.may_moderate_replies``) hide and unhide
  replies: the reply is kept with who hid it and when, and the change is audited (``reply_hidden``,
  ``reply_unhidden``). A hidden reply reads "此回复已被隐藏" to everyone but its author and the moderators.
- New replies: replies by others, neither hidden nor deleted, above one's mark for that note (``NoteRead``).
  Visiting a discussion moves the mark to the newest reply shown, in one upsert that never moves it back.
  The counts for a page are set-based queries, never one per note.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, case, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from study_hub.accounts import AccountService, Principal
from study_hub.accounts.policy import (
    discussable_notes,
    may_moderate_replies,
    reply_change_refusal,
    visible_notes,
)
from study_hub.errors import NotFoundError, PermissionDenied, StudyHubError
from study_hub.store import DocumentStore
from study_hub.store.db import dialect_insert, insert_new
from study_hub.store.models import Note, NoteRead, NoteReply, Unit, User, aware, utcnow

MAX_REPLY = 5_000  # characters: a considered answer, not a second note (notes hold 20,000)
PREVIEW = 3  # the newest replies shown under a note on the notes page and in the reader
EXCERPT = 120  # characters of a quoted reply shown above the reply that quotes it


class ReplyError(StudyHubError):
    """A reply that cannot be taken as it is. ``code`` and ``values`` let a page say it in its own language."""

    def __init__(self, message: str, code: str = "", **values):
        super().__init__(message)
        self.code = code
        self.values = values


@dataclass
class QuotedReply:
    id: int
    author_name: str
    excerpt: str | None  # None when the quoted reply is hidden from the reader, or deleted
    hidden: bool
    deleted: bool


@dataclass
class ReplyView:
    id: int
    note_id: int
    author_id: int
    author_name: str
    body: str | None  # None when hidden from the reader, or deleted
    created_at: datetime
    edited_at: datetime | None
    hidden: bool
    hidden_by: str | None  # who hid it: told to those who read its text (its author and the moderators)
    hidden_at: datetime | None
    deleted: bool
    quote: QuotedReply | None
    mine: bool
    new: bool  # posted by someone else since the reader's last visit
    may_edit: bool
    may_delete: bool
    may_hide: bool


@dataclass
class Thread:
    note_id: int
    open: bool  # False: a private note, which has no discussion
    may_moderate: bool
    new: int  # replies new to the reader before this visit
    replies: list[ReplyView] = field(default_factory=list)

    @property
    def may_reply(self) -> bool:
        return self.open


@dataclass
class ThreadSummary:
    """What the notes page and the reader show under a shared note: counts and the newest few replies."""
    note_id: int
    count: int
    new: int
    may_moderate: bool
    latest: list[ReplyView] = field(default_factory=list)  # oldest first, at most ``PREVIEW``


@dataclass
class Unread:
    mine: int  # new replies under one's own notes
    shared: int  # new replies under notes others shared with one

    @property
    def total(self) -> int:
        return self.mine + self.shared


def clean_body(body: str | None) -> str:
    """A reply's text as stored: line ends as "\\n" (a form sends "\\r\\n": the same reply typed in the page and
    sent to the API is the same text), no NUL (PostgreSQL refuses it), no surrounding blank space; 1 to
    ``MAX_REPLY`` characters."""
    text = (body or "").replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "").strip()
    if not text:
        raise ReplyError("a reply needs some text", "empty")
    if len(text) > MAX_REPLY:
        raise ReplyError(f"a reply holds at most {MAX_REPLY:,} characters and this one has {len(text):,}: "
                         "shorten it, or say it in two replies", "too_long", limit=MAX_REPLY, length=len(text))
    return text


def fingerprint(quote_reply_id: int | None, body: str) -> str:
    return hashlib.sha256(f"{quote_reply_id or 0}\n{body}".encode()).hexdigest()


def excerpt(body: str) -> str:
    flat = " ".join(body.split())
    return flat if len(flat) <= EXCERPT else flat[:EXCERPT - 1] + "…"


_Author, _Hider, _Quoted, _QuotedAuthor = aliased(User), aliased(User), aliased(NoteReply), aliased(User)


def _with_names(query):
    """Replies with their author's and hider's names and the reply they quote, in the same query."""
    return (query.add_columns(_Author.display_name, _Hider.display_name, _Quoted.id, _Quoted.author_id, _Quoted.body,
                              _Quoted.hidden_at, _Quoted.deleted_at, _QuotedAuthor.display_name)
            .join(_Author, _Author.id == NoteReply.author_id)
            .outerjoin(_Hider, _Hider.id == NoteReply.hidden_by)
            .outerjoin(_Quoted, _Quoted.id == NoteReply.quote_reply_id)
            .outerjoin(_QuotedAuthor, _QuotedAuthor.id == _Quoted.author_id))


@dataclass
class _NoteFacts:
    id: int
    owner_id: int
    visibility: str
    unit_path: str | None


class ReplyService:
    def __init__(self, store: DocumentStore, accounts: AccountService, clock: Callable[[], datetime] = utcnow):
        self.sessions = store.sessions
        self.accounts = accounts
        self.clock = clock  # edit windows and the times replies are posted, hidden and deleted (UTC, aware)

    # --- the note a discussion belongs to -------------------------------------------------------------------

    def _note(self, session: Session, who: Principal, note_id: int) -> _NoteFacts:
        row = session.execute(select(Note.id, Note.owner_id, Note.visibility, Unit.path)
                              .outerjoin(Unit, Unit.id == Note.unit_id)
                              .where(Note.id == note_id, visible_notes(who, self.accounts))).first()
        if row is None:
            raise NotFoundError(f"no note {note_id}")
        return _NoteFacts(*row)

    def _open_note(self, session: Session, who: Principal, note_id: int) -> tuple[_NoteFacts, bool]:
        """The note (not found unless ``who`` reads it) and whether ``who`` moderates its discussion; a private
        note has none to change."""
        note = self._note(session, who, note_id)
        if note.visibility == "private":
            raise ReplyError("a private note has no discussion: share it with a unit first", "private")
        return note, may_moderate_replies(who, note.owner_id, note.unit_path)

    @staticmethod
    def _reply(session: Session, note_id: int, reply_id: int) -> NoteReply:
        reply = session.scalars(select(NoteReply).where(NoteReply.id == reply_id,
                                                        NoteReply.note_id == note_id)).first()
        if reply is None:  # a reply of another note is not found here either: ids never tell what else exists
            raise NotFoundError(f"no reply {reply_id} under note {note_id}")
        return reply

    # --- reading ----------------------------------------------------------------------------------------------

    def thread(self, who: Principal, note_id: int, mark_seen: bool = True) -> Thread:
        """The whole discussion of a note, oldest first; visiting it marks what it shows as seen."""
        with self.sessions() as session:
            note = self._note(session, who, note_id)
            if note.visibility == "private":
                return Thread(note_id=note_id, open=False, may_moderate=False, new=0)
            moderate = may_moderate_replies(who, note.owner_id, note.unit_path)
            seen = session.scalar(select(NoteRead.last_seen_reply_id).where(
                NoteRead.user_id == who.id, NoteRead.note_id == note_id)) or 0
            rows = session.execute(_with_names(select(NoteReply)).where(NoteReply.note_id == note_id)
                                   .order_by(NoteReply.id)).all()
        now = self.clock()
        replies = [self._view(who, row, moderate, seen, now) for row in rows]
        if mark_seen and rows and rows[-1][0].id > seen:
            self.mark_seen(who, note_id, rows[-1][0].id)
        return Thread(note_id=note_id, open=True, may_moderate=moderate, new=sum(r.new for r in replies),
                      replies=replies)

    def reply(self, who: Principal, note_id: int, reply_id: int) -> ReplyView:
        with self.sessions() as session:
            note = self._note(session, who, note_id)
            if note.visibility == "private":
                raise NotFoundError(f"no reply {reply_id} under note {note_id}")
            moderate = may_moderate_replies(who, note.owner_id, note.unit_path)
            seen = session.scalar(select(NoteRead.last_seen_reply_id).where(
                NoteRead.user_id == who.id, NoteRead.note_id == note_id)) or 0
            row = session.execute(_with_names(select(NoteReply)).where(
                NoteReply.id == reply_id, NoteReply.note_id == note_id)).first()
        if row is None:
            raise NotFoundError(f"no reply {reply_id} under note {note_id}")
        return self._view(who, row, moderate, seen, self.clock())

    def mark_seen(self, who: Principal, note_id: int, reply_id: int) -> None:
        """Move ``who``'s mark for the note up to ``reply_id``: one upsert on (user, note), so parallel visits
        make one row, and the larger mark wins whatever order they commit in."""
        try:
            with self.sessions.begin() as session:
                insert = dialect_insert(session, NoteRead).values(user_id=who.id, note_id=note_id,
                                                                  last_seen_reply_id=reply_id, seen_at=self.clock())
                session.execute(insert.on_conflict_do_update(
                    index_elements=[NoteRead.user_id, NoteRead.note_id],
                    set_={"last_seen_reply_id": case(
                        (insert.excluded.last_seen_reply_id > NoteRead.last_seen_reply_id,
                         insert.excluded.last_seen_reply_id), else_=NoteRead.last_seen_reply_id),
                        "seen_at": insert.excluded.seen_at}))
        except IntegrityError:  # the note was deleted meanwhile: nothing left to have seen
            pass

    def summaries(self, who: Principal, notes: Iterable) -> dict[int, ThreadSummary]:
        """For the shared ones of ``notes`` (``NoteView``s ``who`` may read): how many replies, how many new to
        ``who``, and the newest ``PREVIEW``: three queries for the whole page, whatever the number of notes."""
        shared = {n.id: n for n in notes if n.visibility != "private"}
        if not shared:
            return {}
        with self.sessions() as session:
            paths = dict(session.execute(select(Unit.id, Unit.path).where(
                Unit.id.in_({n.unit_id for n in shared.values() if n.unit_id}))).all())
            read = aliased(NoteRead)
            new = and_(NoteReply.author_id != who.id, NoteReply.hidden_at.is_(None),
                       NoteReply.id > func.coalesce(read.last_seen_reply_id, 0))
            counts = session.execute(
                select(NoteReply.note_id, func.count(NoteReply.id), func.sum(case((new, 1), else_=0)),
                       func.max(read.last_seen_reply_id))
                .outerjoin(read, and_(read.note_id == NoteReply.note_id, read.user_id == who.id))
                .where(NoteReply.note_id.in_(list(shared)), NoteReply.deleted_at.is_(None))
                .group_by(NoteReply.note_id)).all()
            ranked = select(NoteReply.id, func.row_number().over(
                partition_by=NoteReply.note_id, order_by=NoteReply.id.desc()).label("rank")).where(
                NoteReply.note_id.in_([note_id for note_id, count, _, _ in counts if count]),
                NoteReply.deleted_at.is_(None)).subquery()
            rows = session.execute(_with_names(select(NoteReply)).where(NoteReply.id.in_(
                select(ranked.c.id).where(ranked.c.rank <= PREVIEW))).order_by(NoteReply.id)).all() if counts else []
        now = self.clock()
        found = {note_id: (count, new_count or 0, seen or 0) for note_id, count, new_count, seen in counts}
        newest: dict[int, list] = {}
        for row in rows:
            newest.setdefault(row[0].note_id, []).append(row)
        result = {}
        for note_id, note in shared.items():
            count, new_count, seen = found.get(note_id, (0, 0, 0))
            moderate = may_moderate_replies(who, note.owner_id, paths.get(note.unit_id))
            latest = [self._view(who, row, moderate, seen, now) for row in newest.get(note_id, [])]
            result[note_id] = ThreadSummary(note_id=note_id, count=count, new=new_count, may_moderate=moderate,
                                            latest=latest)
        return result

    def unread(self, who: Principal) -> Unread:
        """New replies under ``who``'s own notes and under the notes shared with them: one query."""
        read = aliased(NoteRead)
        mine = Note.owner_id == who.id
        query = (select(func.sum(case((mine, 1), else_=0)), func.sum(case((mine, 0), else_=1)))
                 .select_from(NoteReply).join(Note, Note.id == NoteReply.note_id)
                 .outerjoin(read, and_(read.note_id == NoteReply.note_id, read.user_id == who.id))
                 .where(discussable_notes(who, self.accounts), NoteReply.author_id != who.id,
                        NoteReply.hidden_at.is_(None), NoteReply.deleted_at.is_(None),
                        NoteReply.id > func.coalesce(read.last_seen_reply_id, 0)))
        with self.sessions() as session:
            mine_count, shared_count = session.execute(query).one()
        return Unread(mine=int(mine_count or 0), shared=int(shared_count or 0))

    # --- writing ----------------------------------------------------------------------------------------------

    def post(self, who: Principal, note_id: int, body: str, quote_reply_id: int | None = None
             ) -> tuple[ReplyView, bool]:
        """A reply under the note: (the reply, whether it is new). The same text again from the same author is
        the reply they already have."""
        text = clean_body(body)
        with self.sessions() as session:
            self._open_note(session, who, note_id)
            if quote_reply_id is not None:
                quoted = self._reply(session, note_id, quote_reply_id)
                if quoted.deleted_at is not None or quoted.hidden_at is not None:
                    raise ReplyError("that reply was deleted or hidden and cannot be quoted", "gone")
        key = fingerprint(quote_reply_id, text)
        try:
            with self.sessions.begin() as session:
                created = session.execute(insert_new(session, NoteReply).values(
                    note_id=note_id, author_id=who.id, quote_reply_id=quote_reply_id, body=text, fingerprint=key,
                    created_at=self.clock()).returning(NoteReply.id)).scalar()
                # Taken: the same reply posted a moment ago (or at this moment, by a second click) is the answer.
                reply_id = created if created is not None else session.scalar(select(NoteReply.id).where(
                    NoteReply.note_id == note_id, NoteReply.author_id == who.id, NoteReply.fingerprint == key))
        except IntegrityError:  # the note (or the quoted reply) was deleted since it was read
            raise NotFoundError(f"no note {note_id}") from None
        return self.reply(who, note_id, reply_id), created is not None

    def edit(self, who: Principal, note_id: int, reply_id: int, body: str) -> ReplyView:
        text = clean_body(body)
        now = self.clock()
        with self.sessions() as session:
            self._open_note(session, who, note_id)
            reply = self._changeable(session, who, note_id, reply_id, now, edit=True)
        if text != reply.body:
            try:
                self._change(reply_id, body=text, edited_at=now, fingerprint=fingerprint(reply.quote_reply_id, text))
            except IntegrityError:  # the unique fingerprint: another reply of theirs here says just this
                raise ReplyError("you already posted a reply with this text under this note", "duplicate") from None
        return self.reply(who, note_id, reply_id)

    def delete(self, who: Principal, note_id: int, reply_id: int) -> ReplyView:
        now = self.clock()
        with self.sessions() as session:
            self._open_note(session, who, note_id)
            self._changeable(session, who, note_id, reply_id, now, edit=False)
        if self._change(reply_id, body="", fingerprint=None, deleted_at=now):
            self.accounts.audit("reply_deleted", who.id, f"reply:{reply_id}", {"note": note_id})
        return self.reply(who, note_id, reply_id)

    def _change(self, reply_id: int, **values) -> bool:
        """Change a reply unless it was hidden or deleted since it was read (a conditional update: a moderator
        hiding it at the same moment wins, and the author's change is refused)."""
        with self.sessions.begin() as session:
            changed = session.execute(update(NoteReply).where(
                NoteReply.id == reply_id, NoteReply.hidden_at.is_(None), NoteReply.deleted_at.is_(None))
                .values(**values).execution_options(synchronize_session=False)).rowcount
        if not changed:
            raise ReplyError("this reply was hidden or deleted meanwhile", "gone")
        return True

    def _changeable(self, session: Session, who: Principal, note_id: int, reply_id: int, now: datetime, *,
                    edit: bool) -> NoteReply:
        reply = self._reply(session, note_id, reply_id)
        if reply.deleted_at is not None:
            raise ReplyError("this reply was deleted", "gone")
        refusal = reply_change_refusal(who, reply.author_id, aware(reply.created_at), reply.hidden_at is not None,
                                       now, edit=edit)
        if refusal:
            raise PermissionDenied(refusal)
        return reply

    def hide(self, who: Principal, note_id: int, reply_id: int, hidden: bool = True) -> ReplyView:
        """Hide (or unhide) a reply: its author and the moderators still read it, everyone else sees that it was
        hidden. One conditional update, so parallel clicks record one change, audited once."""
        now = self.clock()
        with self.sessions() as session:
            _, moderate = self._open_note(session, who, note_id)
            reply = self._reply(session, note_id, reply_id)
        if not moderate:
            raise PermissionDenied("only the note's author and the organisers of its unit can hide replies")
        if reply.deleted_at is not None:
            raise ReplyError("this reply was deleted", "gone")
        change = update(NoteReply).where(NoteReply.id == reply_id, NoteReply.deleted_at.is_(None))
        change = change.where(NoteReply.hidden_at.is_(None)).values(hidden_at=now, hidden_by=who.id) if hidden \
            else change.where(NoteReply.hidden_at.is_not(None)).values(hidden_at=None, hidden_by=None)
        with self.sessions.begin() as session:
            changed = session.execute(change.execution_options(synchronize_session=False)).rowcount
        author_id = reply.author_id
        if changed:
            self.accounts.audit("reply_hidden" if hidden else "reply_unhidden", who.id, f"reply:{reply_id}",
                                {"note": note_id, "author_id": author_id})
        return self.reply(who, note_id, reply_id)

    # --- what a reader sees ---------------------------------------------------------------------------------------

    @staticmethod
    def _view(who: Principal, row, moderate: bool, seen: int, now: datetime) -> ReplyView:
        reply, author, hider, quoted_id, quoted_author_id, quoted_body, quoted_hidden, quoted_deleted, \
            quoted_author = row
        deleted, hidden, mine = reply.deleted_at is not None, reply.hidden_at is not None, reply.author_id == who.id
        readable = not deleted and (not hidden or mine or moderate)
        quote = None
        if quoted_id is not None:
            quote_readable = quoted_deleted is None and (quoted_hidden is None or quoted_author_id == who.id or
                                                         moderate)
            quote = QuotedReply(id=quoted_id, author_name=quoted_author,
                                excerpt=excerpt(quoted_body) if quote_readable else None,
                                hidden=quoted_hidden is not None, deleted=quoted_deleted is not None)
        created = aware(reply.created_at)
        may_edit, may_delete = (not deleted and reply_change_refusal(who, reply.author_id, created, hidden, now,
                                                                     edit=edit) is None for edit in (True, False))
        return ReplyView(
            id=reply.id, note_id=reply.note_id, author_id=reply.author_id, author_name=author,
            body=reply.body if readable else None, created_at=created, edited_at=aware(reply.edited_at),
            hidden=hidden, hidden_by=hider if hidden and readable else None,
            hidden_at=aware(reply.hidden_at) if hidden and readable else None, deleted=deleted, quote=quote,
            mine=mine, new=not mine and not hidden and not deleted and reply.id > seen,
            may_edit=may_edit, may_delete=may_delete, may_hide=moderate and not deleted)
