"""Tables. The store is the one source of truth; indexes are derived from it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, MetaData, String, Text, func, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Named constraints so migrations behave the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def aware(moment: datetime | None) -> datetime | None:
    """A stored time with its zone: SQLite hands datetimes back without one, and they are stored in UTC."""
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Document(Base):
    __tablename__ = "documents"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    issuer: Mapped[str | None] = mapped_column(Text)  # the issuing body: 国务院
    speaker: Mapped[str | None] = mapped_column(Text)  # the person who spoke, if one did: 总理李强
    level: Mapped[str | None] = mapped_column(String(20), index=True)
    kind: Mapped[str | None] = mapped_column(String(20), index=True)
    date: Mapped[str | None] = mapped_column(String(10), index=True)  # YYYY[-MM[-DD]]
    doc_number: Mapped[str | None] = mapped_column(String(100))
    language: Mapped[str] = mapped_column(String(8))
    dates: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    source_path: Mapped[str] = mapped_column(Text)
    source_format: Mapped[str] = mapped_column(String(10))
    encoding: Mapped[str | None] = mapped_column(String(30))
    source_hash: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    char_count: Mapped[int] = mapped_column(Integer)
    passage_count: Mapped[int] = mapped_column(Integer)
    # Validity (时效性): current | amended | repealed | not_yet_effective | unknown, and since when
    status: Mapped[str] = mapped_column(String(20), default="unknown", server_default="unknown", index=True)
    status_date: Mapped[str | None] = mapped_column(String(10))  # YYYY[-MM[-DD]]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    passages: Mapped[list[PassageRow]] = relationship(
        back_populates="document", order_by="PassageRow.ordinal", cascade="all, delete-orphan",
        passive_deletes=True,
    )


class DocumentVersion(Base):
    """One text a document has had: version 1 when it was added, a new one each time its text changed.

    The newest version's text is the document's text. ``heading_levels`` (line -> level, from Markdown, HTML or
    Word headings) lets the segmenter cut an old text exactly as it cut it then; versions recorded when this
    table was made (migration 0011) have none, and are cut as plain text.
    """
    __tablename__ = "document_versions"
    __table_args__ = (Index("uq_document_versions_number", "document_id", "number", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the metadata when this text came
    heading_levels: Mapped[dict[str, int] | None] = mapped_column(JSON)
    source_path: Mapped[str] = mapped_column(Text)
    source_format: Mapped[str] = mapped_column(String(10))
    source_hash: Mapped[str] = mapped_column(String(64))
    char_count: Mapped[int] = mapped_column(Integer)
    ingested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PassageRow(Base):
    __tablename__ = "passages"
    __table_args__ = (Index("ix_passages_document_ordinal", "document_id", "ordinal"),)

    id: Mapped[str] = mapped_column(String(240), primary_key=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    ordinal: Mapped[int] = mapped_column(Integer)
    heading_path: Mapped[str] = mapped_column(Text, default="")  # elements joined by " > "
    char_start: Mapped[int] = mapped_column(Integer)
    char_end: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)

    document: Mapped[Document] = relationship(back_populates="passages")


# --- citations between documents (法条联想) ---------------------------------------------------------------------

class Citation(Base):
    """A reference in a passage to another document, a 文号 or an article, found at ingest (``store.citations``).

    ``start``/``end`` are offsets within the citing passage's text. ``target`` and ``target_key`` say what was
    looked up, so a reference the library cannot answer yet is kept (resolution ``unresolved``) and resolved when
    a document with that key arrives; ``article`` is 条:20 / 章:3 for article references.
    """
    __tablename__ = "citations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    passage_id: Mapped[str] = mapped_column(ForeignKey("passages.id", ondelete="CASCADE"), index=True)
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    surface: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(12))  # title | doc_number | article
    target: Mapped[str] = mapped_column(Text, default="")  # the title or 文号 looked up; "" = the citing document
    target_key: Mapped[str | None] = mapped_column(String(300), index=True)  # t:… / n:…; None = the citing document
    article: Mapped[str | None] = mapped_column(String(40))
    # Set to NULL by the database when the cited document or passage goes; the store resolves those rows again.
    to_document_id: Mapped[str | None] = mapped_column(ForeignKey("documents.id", ondelete="SET NULL"), index=True)
    to_passage_id: Mapped[str | None] = mapped_column(ForeignKey("passages.id", ondelete="SET NULL"), index=True)
    resolution: Mapped[str] = mapped_column(String(20))


class CitationKey(Base):
    """The keys a document is cited by (its title's, its 文号's): resolving a batch of references is one query."""
    __tablename__ = "citation_keys"

    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(300), primary_key=True, index=True)


# --- accounts and organisations ---------------------------------------------------------------------

class Unit(Base):
    """An organisation unit: 区委 → 街道党工委 → 社区党委 → 党支部 → 党小组, or an ad-hoc group."""
    __tablename__ = "units"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"), index=True)
    # "/1/4/9/": the ids from the root down to this unit, so "this unit and its descendants" is one LIKE.
    path: Mapped[str] = mapped_column(String(400), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# A unit's name is unique among its siblings (roots: parent 0), enforced by the database, not a read-then-write.
Index("uq_units_parent_name", func.coalesce(Unit.parent_id, 0), Unit.name, unique=True)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    login: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))  # the real name, as on the sign-in sheet
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))  # admin | organiser | member
    active: Mapped[bool] = mapped_column(default=True)
    # A one-time password (generated on import, by the demo): the next sign-in must set a new one first.
    must_change_password: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Membership(Base):
    __tablename__ = "memberships"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), primary_key=True, index=True)


class LoginSession(Base):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored."""
    __tablename__ = "login_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class AuditEntry(Base):
    """Security-relevant actions: sign-in (and failures), role changes, deletions, exports, imports."""
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(Integer)  # no FK: the log outlives deleted users
    action: Mapped[str] = mapped_column(String(40), index=True)
    subject: Mapped[str] = mapped_column(String(200), default="", index=True)  # e.g. a login, "note:12"
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ip: Mapped[str | None] = mapped_column(String(64))


# --- study notes ----------------------------------------------------------------------------------------

class Note(Base):
    """A note anchored like a web annotation: passage + offsets + the quoted text with its context.

    ``document_id`` has no foreign key on purpose: a note outlives the document's removal, as an orphan.
    """
    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    document_id: Mapped[str] = mapped_column(String(200), index=True)
    passage_id: Mapped[str | None] = mapped_column(String(240), index=True)
    start: Mapped[int] = mapped_column(Integer)  # offsets within the passage text
    end: Mapped[int] = mapped_column(Integer)
    quote: Mapped[str] = mapped_column(Text)
    prefix: Mapped[str] = mapped_column(String(64), default="")
    suffix: Mapped[str] = mapped_column(String(64), default="")
    body: Mapped[str] = mapped_column(Text, default="")  # Markdown
    visibility: Mapped[str] = mapped_column(String(20), default="private")  # private | unit | organisers
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="SET NULL"), index=True)
    orphaned: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    tags: Mapped[list[NoteTag]] = relationship(cascade="all, delete-orphan", passive_deletes=True,
                                               lazy="selectin", order_by="NoteTag.tag")


class NoteTag(Base):
    __tablename__ = "note_tags"

    note_id: Mapped[int] = mapped_column(ForeignKey("notes.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(50), primary_key=True, index=True)


class NoteReply(Base):
    """A reply in the discussion under a shared note (交流研讨): it answers the note, optionally quoting another
    reply of the same note; replies do not nest.

    ``fingerprint`` (the SHA-256 of the quoted reply's id and the text) is unique per note and author: the same
    reply posted twice at once (a double click, two tabs) is one row, claimed by one conditional insert. It is
    cleared when the author deletes the reply, whose text is then erased and a placeholder kept, so replies that
    quoted it still make sense. A hidden reply is kept with who hid it and when.
    """
    __tablename__ = "note_replies"
    __table_args__ = (Index("ix_note_replies_note", "note_id", "id"),
                      Index("uq_note_replies_once", "note_id", "author_id", "fingerprint", unique=True))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    note_id: Mapped[int] = mapped_column(ForeignKey("notes.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    quote_reply_id: Mapped[int | None] = mapped_column(ForeignKey("note_replies.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text, default="")  # Markdown
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    hidden_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    hidden_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class NoteRead(Base):
    """How far a person has read a note's discussion: the newest reply id they were shown. One row per person and
    note, written by one upsert, so parallel visits never make two."""
    __tablename__ = "note_reads"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    note_id: Mapped[int] = mapped_column(ForeignKey("notes.id", ondelete="CASCADE"), primary_key=True, index=True)
    last_seen_reply_id: Mapped[int] = mapped_column(Integer, default=0)  # no FK: a mark, not a link
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# --- reading lists (学习清单) --------------------------------------------------------------------------------

class ReadingList(Base):
    __tablename__ = "reading_lists"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    items: Mapped[list[ReadingItem]] = relationship(cascade="all, delete-orphan", passive_deletes=True,
                                                    lazy="selectin", order_by="ReadingItem.position")


class ReadingItem(Base):
    """One thing to study: a whole document, a section (a heading subtree), one passage, or a saved search."""
    __tablename__ = "reading_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("reading_lists.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))  # document | section | passage | search
    document_id: Mapped[str | None] = mapped_column(String(200))  # no FK: a list outlives a removed document
    passage_id: Mapped[str | None] = mapped_column(String(240))  # the passage, or the section's first passage
    heading_path: Mapped[str] = mapped_column(Text, default="")  # a section: the heading path it covers
    query: Mapped[str] = mapped_column(Text, default="")  # a saved search
    title: Mapped[str] = mapped_column(Text, default="")
    guide: Mapped[str] = mapped_column(Text, default="")  # the organiser's 学习提示
    due: Mapped[str | None] = mapped_column(String(10))  # YYYY-MM-DD
    # The document changed and the passage or section is not in it any more (kept, shown as such).
    orphaned: Mapped[bool] = mapped_column(default=False)


class ReadingAssignment(Base):
    """A list assigned to a unit (its members and the units below) or to one person."""
    __tablename__ = "reading_assignments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("reading_lists.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    assigned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# One assignment of a list per unit or person; one item per place in a list.
Index("uq_reading_assignments_target", ReadingAssignment.list_id, func.coalesce(ReadingAssignment.unit_id, 0),
      func.coalesce(ReadingAssignment.user_id, 0), unique=True)
Index("uq_reading_items_position", ReadingItem.list_id, ReadingItem.position, unique=True)


class ItemProgress(Base):
    """Evidence of study, recorded by the server: when a member opened an item and when they marked it studied."""
    __tablename__ = "item_progress"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("reading_items.id", ondelete="CASCADE"), primary_key=True,
                                         index=True)
    opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    studied_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# --- study sessions and attendance (学习会 / 三会一课) -------------------------------------------------------

class StudySession(Base):
    __tablename__ = "study_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30))
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    place: Mapped[str] = mapped_column(Text, default="")
    online_link: Mapped[str] = mapped_column(Text, default="")
    host_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="SET NULL"), index=True)
    reading_list_id: Mapped[int | None] = mapped_column(ForeignKey("reading_lists.id", ondelete="SET NULL"))
    agenda: Mapped[str] = mapped_column(Text, default="")
    minutes: Mapped[str] = mapped_column(Text, default="")
    # 主持人 and 记录人 of the record book. No foreign keys, like the deciders on attendance rows: users are
    # deactivated, never deleted, and SQLite cannot add a constraint to a table without copying it (the copy
    # would cascade-delete the attendance rows).
    presider_id: Mapped[int | None] = mapped_column(Integer)
    recorder_id: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SessionInvitee(Base):
    """Who is expected: a unit (its members and the units below) or one person."""
    __tablename__ = "session_invitees"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("study_sessions.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))


class Attendance(Base):
    """One expected attendee's record: check-in, leave, absence, make-up study."""
    __tablename__ = "attendance"

    session_id: Mapped[int] = mapped_column(ForeignKey("study_sessions.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    status: Mapped[str] = mapped_column(String(20))  # present | late | leave_requested | excused | absent
    checked_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    method: Mapped[str] = mapped_column(String(10), default="")  # qr | code | manual
    leave_reason: Mapped[str] = mapped_column(Text, default="")
    leave_decided_by: Mapped[int | None] = mapped_column(Integer)
    makeup_reflection: Mapped[str] = mapped_column(Text, default="")
    makeup_submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    makeup_confirmed_by: Mapped[int | None] = mapped_column(Integer)
    makeup_confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CheckinToken(Base):
    """A check-in token shown on the organiser's screen (QR and short code): valid for every expected member
    for a few seconds (the screen shows the next one before it expires)."""
    __tablename__ = "checkin_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("study_sessions.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(8), index=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CheckinAttempt(Base):
    """A check-in attempt of a member, recorded before its code is judged; kept when the code was wrong, so
    the limit on wrong codes holds across requests and worker processes."""
    __tablename__ = "checkin_attempts"
    __table_args__ = (Index("ix_checkin_attempts_member", "session_id", "user_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("study_sessions.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# --- index jobs ------------------------------------------------------------------------------------------------

class IndexJob(Base):
    """Index work for the job worker, with its state and progress (the task queue carries only the id).

    state: queued -> running -> done | failed. At most one job of a kind waits at a time and one runs at a time
    (unique partial indexes): ten uploads in a minute queue one update, which takes them all in, and two
    workers never build at once. A running job's worker writes a
    heartbeat; a job whose worker died (SIGKILL, a lost node) is queued again by the next worker that starts.
    """
    __tablename__ = "index_jobs"
    __table_args__ = (Index("uq_index_jobs_one_queued_per_kind", "kind", unique=True,
                            sqlite_where=text("state = 'queued'"), postgresql_where=text("state = 'queued'")),
                      Index("uq_index_jobs_one_running", "state", unique=True,
                            sqlite_where=text("state = 'running'"), postgresql_where=text("state = 'running'")),
                      Index("ix_index_jobs_state", "state", "id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # update | embed | rebuild
    state: Mapped[str] = mapped_column(String(10), default="queued")
    requested_by: Mapped[str] = mapped_column(String(200), default="")  # a login, or "cli", "upload", "worker"
    reason: Mapped[str] = mapped_column(Text, default="")
    phase: Mapped[str] = mapped_column(String(20), default="")  # keyword | embedding
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    phase_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str] = mapped_column(String(200), default="")  # host:pid of the process running it
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    message: Mapped[str] = mapped_column(Text, default="")  # the outcome, or the failure with its reason
    generation: Mapped[str] = mapped_column(String(60), default="")  # the generation it published last
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
