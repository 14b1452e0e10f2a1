"""Response models of the JSON API: the contract other tools call (never table objects)."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import Form, Path
from fastapi.responses import JSONResponse
from pydantic import BaseModel, BeforeValidator, Field

from study_hub.study.replies import MAX_REPLY


def _iso(pattern: str, what: str):
    # Pydantic would also read numbers as dates ("0.0" as 1970-01-01): here a date is written out.
    def check(value):
        if isinstance(value, (date, datetime)) or re.match(pattern, str(value)):
            return value
        raise ValueError(f"a {what} is written {'YYYY-MM-DD' if what == 'date' else 'YYYY-MM-DDTHH:MM[:SS][+08:00]'}")
    return BeforeValidator(check)


MAX_ID = 2**31 - 1  # the largest id an INTEGER column holds (PostgreSQL): larger ones are refused, not a 500
RowId = Annotated[int, Field(ge=1, le=MAX_ID)]
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]

IsoDate = Annotated[date, _iso(r"\d{4}-\d{2}-\d{2}$", "date")]
IsoDateTime = Annotated[datetime, _iso(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}", "time")]
FormText = Annotated[str, Form(max_length=500)]  # a metadata field typed beside an upload
FormChoice = Annotated[str, Form(max_length=20)]  # a level, kind or date chosen beside an upload

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class Hit(BaseModel):
    passage_id: str
    doc_id: str
    title: str
    doc_number: str | None
    level: str | None
    kind: str | None
    issuer: str | None = Field(description="The issuing body (发文机关).")
    speaker: str | None = Field(None, description="Who spoke, for a speech or report (讲话人).")
    date: str | None
    heading_path: str = Field(description="Headings above the passage, joined by ' > '.")
    text: str
    snippet: str = Field(description="HTML: escaped text around the matches, which are wrapped in <mark>.")
    score: float = Field(description="The score of the ranking that ordered these results: BM25 (keyword), cosine "
                                     "similarity (semantic), the fitted ranking model's log-odds (hybrid). "
                                     "Compare it within one response only.")
    url: str = Field(description="The passage in the document reader.")
    rankers: list[str] = Field(description="Which rankers found it: keyword, semantic.")
    status: str = Field("unknown", description="The document's validity (时效性): current, amended, repealed, "
                                               "not_yet_effective or unknown.")
    status_date: str | None = Field(None, description="When it took that status (YYYY[-MM[-DD]]).")


class Meaning(BaseModel):
    ready: bool = Field(description="Search by meaning ranks now (else keyword ranking answered).")
    complete: bool = Field(description="Every passage has its vector.")
    reason: str | None = Field(description="Why it is not ready: off, loading_model, model_failed, no_vectors, "
                                           "other_model.")
    passages_with_vectors: int
    passages: int


class SearchResults(BaseModel):
    query: str
    mode: str = Field(description="The mode that ranked these results (exact wording is always keyword).")
    total: int
    page: int
    limit: int
    partial_from: int | None = Field(description="Rank (0-based) from which results contain only some words.")
    took_ms: float
    generation: str | None = Field(description="The index generation that answered.")
    results: list[Hit]
    facets: dict[str, dict[str, int]] = Field(description="Counts by level, kind, issuer, year and status (validity).")
    meaning: Meaning | None = Field(default=None, description="For a hybrid or semantic request: whether search "
                                                              "by meaning could rank it, and how complete it is.")
    notice: str | None = Field(default=None, description="What to tell a person while search by meaning is not "
                                                         "complete (the keyword ranking answered, or part of it).")
    in_history: int | None = Field(default=None, description=(
        "Passages with these words in amended or repealed documents, left out by the default search (ask with "
        "history=true or status:); null when the request chose statuses itself."))


class DocumentSummary(BaseModel):
    doc_id: str
    title: str
    doc_number: str | None
    level: str | None
    kind: str | None
    issuer: str | None = Field(description="The issuing body (发文机关).")
    speaker: str | None = Field(None, description="Who spoke, for a speech or report (讲话人).")
    date: str | None
    language: str
    passage_count: int
    char_count: int
    url: str
    status: str = Field("unknown", description="Validity (时效性): current, amended, repealed, not_yet_effective or "
                                               "unknown (nobody said).")
    status_date: str | None = Field(None, description="When it took that status (YYYY[-MM[-DD]]).")


class DocumentList(BaseModel):
    total: int
    page: int
    limit: int
    documents: list[DocumentSummary]
    facets: dict[str, dict[str, int]] = Field(description="Counts by level, kind, issuer, year and status of all "
                                                          "matches.")


class Passage(BaseModel):
    passage_id: str
    ordinal: int
    heading_path: str
    char_start: int = Field(description="Offset of the passage in the document's text: text[start:end].")
    char_end: int
    text: str
    url: str


class OutlineNode(BaseModel):
    heading: str
    passage_id: str = Field(description="The first passage under this heading.")
    children: list[OutlineNode] = []


class DocumentDetail(DocumentSummary):
    dates: dict[str, str]
    source_format: str
    encoding: str | None
    outline: list[OutlineNode]
    passages: list[Passage]


class VersionSummary(BaseModel):
    """One text a document has had (version 1: as added; a new one each time its text changed)."""
    number: int
    ingested_at: datetime = Field(description="When this text was ingested.")
    current: bool = Field(description="The document's text now.")
    title: str | None
    date: str | None
    status: str | None = Field(description="Validity recorded with this text.")
    status_date: str | None
    source_format: str
    source_hash: str = Field(description="SHA-256 of the file this text was read from.")
    char_count: int
    url: str = Field(description="This version's text and metadata (the API).")
    compare_url: str | None = Field(description="This version against the one before it (the page), if any.")


class VersionDetail(VersionSummary):
    doc_id: str
    meta: dict[str, Any] = Field(description="The metadata when this text came: title, issuer, speaker, level, "
                                             "kind, date, doc_number, language, dates, status, status_date.")
    text: str = Field(description="The normalised text, as the reader showed it then.")


class DiffOp(BaseModel):
    op: Literal["equal", "insert", "delete", "replace"]
    old_start: int = Field(description="Offsets into the old passage's text: old.text[old_start:old_end].")
    old_end: int
    new_start: int = Field(description="Offsets into the new passage's text.")
    new_end: int


class ComparedPassage(BaseModel):
    passage_id: str
    heading_path: str
    char_start: int = Field(description="Offset in that version's text.")
    char_end: int
    text: str


class ComparedRow(BaseModel):
    kind: Literal["unchanged", "changed", "added", "removed"]
    old: ComparedPassage | None = Field(description="The passage in the older version (none: added).")
    new: ComparedPassage | None = Field(description="The passage in the newer version (none: removed).")
    ops: list[DiffOp] = Field(description="For a changed passage: what changed, character by character.")
    notes: list[int] = Field(description="Notes you may see, written on an older text, anchored here now.")


class MetadataChange(BaseModel):
    field: str
    old: Any
    new: Any


class ComparisonOut(BaseModel):
    """Two versions of a document side by side, passage by passage (修订对照)."""
    model_config = {"populate_by_name": True}

    doc_id: str
    title: str
    from_version: VersionSummary = Field(alias="from")
    to_version: VersionSummary = Field(alias="to")
    counts: dict[str, int] = Field(description="Rows by kind: unchanged, changed, added, removed.")
    rows: list[ComparedRow]
    metadata_changes: list[MetadataChange]
    unplaced_notes: list[int] = Field(description="Notes you may see, written on an older text, that are not in a "
                                                  "passage of the newer version (orphaned by the change).")


class PassageDetail(Passage):
    doc_id: str
    document: DocumentSummary
    citation: str
    previous: Passage | None
    next: Passage | None
    related: dict[str, list[Hit]] = Field(
        description="Cross-level tracing: the most similar passages in documents of each other level.")
    related_available: bool = Field(description="False when the embedding index is not built or not loaded.")


CitationKind = Literal["title", "doc_number", "article"]
Resolution = Literal["exact_title", "title_variant", "doc_number", "article_in_cited", "article_in_same", "unresolved"]


class CitationTarget(BaseModel):
    """The document (and the article's passage, for an article reference) a reference resolves to."""
    doc_id: str
    title: str
    level: str | None
    passage_id: str | None = Field(description="The cited article's (first) passage; null for a whole document.")
    heading_path: str | None
    url: str = Field(description="The cited passage (or document) in the reader.")


class CitationOut(BaseModel):
    """A reference in a passage's text to another document, a 文号 or an article (法条联想)."""
    id: int
    passage_id: str = Field(description="The citing passage.")
    start: int = Field(description="Offsets within the citing passage's text: text[start:end] == surface.")
    end: int
    surface: str
    kind: CitationKind
    target: str = Field(description="What was looked up: the title (a short name's full title) or the 文号; "
                                    "empty for the citing document itself.")
    article: str | None = Field(description="条:20 (第二十条), 条:20之1, 章:3 for article references.")
    resolution: Resolution = Field(description="How it was resolved: exact_title, title_variant, doc_number, "
                                               "article_in_cited, article_in_same; unresolved when the library "
                                               "lacks the cited document.")
    to: CitationTarget | None
    url: str = Field(description="The citing passage in the reader.")


class CitationList(BaseModel):
    """What a document or a passage cites, in reading order."""
    doc_id: str
    passage_id: str | None
    total: int
    by_kind: dict[str, int]
    by_resolution: dict[str, int]
    citations: list[CitationOut]


class CitingPassage(BaseModel):
    """A passage that cites the document or passage asked about."""
    citation_id: int
    doc_id: str
    title: str
    level: str | None
    date: str | None
    passage_id: str
    heading_path: str
    surface: str
    kind: CitationKind
    resolution: Resolution
    to_passage_id: str | None = Field(description="The cited passage, for an article reference.")
    url: str = Field(description="The citing passage in the reader.")


class CitedBy(BaseModel):
    """What cites a document or a passage, grouped by the citing document's level."""
    doc_id: str
    passage_id: str | None
    total: int
    documents: int = Field(description="How many documents cite it.")
    by_level: dict[str, list[CitingPassage]] = Field(
        description="same_document (its own article references, for a passage), then central, provincial, "
                    "municipal, district, other: the citing passages, in reading order within a document.")


class JobProgress(BaseModel):
    """How far an index job got (what anyone may see)."""
    id: int
    kind: str = Field(description="update (after ingest, upload, removal) or rebuild")
    state: str = Field(description="queued, running, done or failed")
    phase: str = Field(description="keyword, model (loading or converting it) or embedding")
    done: int
    total: int
    percent: int | None
    seconds_left: int | None


class Job(JobProgress):
    """An index job: what the job worker is doing or will do, how far it got, who asked and how it ended."""
    requested_by: str
    reason: str
    rate_per_second: float | None
    attempts: int
    worker: str
    message: str = Field(description="The outcome, or why it failed.")
    generation: str
    created_at: str
    started_at: str | None
    finished_at: str | None


class Health(BaseModel):
    status: str = Field(description="ok, or degraded when the database or the index is missing.")
    database: str
    documents: int | None
    passages: int | None
    index_generation: str | None
    index_passages: int | None
    semantic_model: str | None
    search_by_meaning: bool
    meaning: Meaning | None = None
    jobs: list[JobProgress] = Field(default_factory=list, description="Index jobs running or waiting.")


class UploadOut(BaseModel):
    """A document added (or a new version of one) from an uploaded file."""
    id: str
    outcome: str = Field(description="added, updated (new text), metadata (same text) or unchanged")
    passages: int
    url: str
    job: int | None = Field(default=None, description="The index job that makes it searchable (GET /api/jobs/{job}).")
    searchable: str = Field(description="When search finds it: after the index job queued by the upload.")


class StatusIn(BaseModel):
    status: str = Field(max_length=20, description="Validity (时效性): current, amended, repealed, not_yet_effective, "
                                                  "unknown (or 现行有效, 已修订, 已废止, 尚未生效).")
    status_date: str | None = Field(default=None, max_length=20,
                                    description="When it took that status: YYYY, YYYY-MM or YYYY-MM-DD.")


class StatusOut(BaseModel):
    """A document's validity as recorded now."""
    id: str
    status: str
    status_date: str | None
    changed: bool = Field(description="False when it already had this status and date.")
    job: int | None = Field(description="The index job that makes search filter by the new status (None: unchanged).")


class RemovalOut(BaseModel):
    """A document removed: its notes and reading-list items are kept, orphaned with their quotes."""
    id: str
    notes_orphaned: int
    items_orphaned: int
    job: int = Field(description="The index job that drops its passages from the index.")


def problem_response(status: int, code: str, message: str, details: list | None = None,
                     headers: dict[str, str] | None = None) -> JSONResponse:
    """An error answered as a ``Problem``."""
    body = {"error": code, "message": message}
    if details is not None:
        body["details"] = details
    return JSONResponse(body, status_code=status, headers=headers)


class Problem(BaseModel):
    """Every error: what went wrong, in words a person can act on."""
    error: str = Field(description="A short code: bad_request, not_found, index_not_built, validation.")
    message: str
    details: list[dict] | None = None


SAME_EVERYWHERE = {401: "Not signed in.", 413: "The request body is larger than the limit (STUDY_HUB_MAX_BODY_BYTES).",
                   422: "A parameter of the wrong type or out of range."}


def problems(described: dict[int, str], signed_in: bool = True) -> dict[int, dict]:
    """The ``responses`` of a router or an operation: each error status with what it means there, and the ones
    that read the same everywhere (401 where one must be signed in, 413, 422); the body is always a ``Problem``."""
    common = SAME_EVERYWHERE if signed_in else {status: SAME_EVERYWHERE[status] for status in (413, 422)}
    return {status: {"model": Problem, "description": text}
            for status, text in sorted({**common, **described}.items())}


class UnitRef(BaseModel):
    id: int
    name: str


class Me(BaseModel):
    login: str
    display_name: str
    role: str
    units: list[UnitRef]
    csrf_token: str = Field(description="Send it as the X-CSRF-Token header with every POST, PATCH and DELETE.")
    must_change_password: bool = Field(False, description="Signed in with a one-time password: every other call "
                                                          "answers 403 until POST /api/me/password replaces it.")


class PasswordChange(BaseModel):
    current_password: str = Field(max_length=1000)
    new_password: str = Field(min_length=10, max_length=1000)


class NoteCreate(BaseModel):
    passage_id: str = Field(max_length=240)
    start: int = Field(ge=0, le=1_000_000, description="Offset of the selection's first character in the passage.")
    end: int = Field(gt=0, le=1_000_000, description="Offset just after the selection's last character.")
    body: str = Field(default="", max_length=20_000, description="The note, in Markdown.")
    tags: list[Annotated[str, Field(max_length=50)]] = Field(default=[], max_length=20)
    visibility: Literal["private", "unit", "organisers"] = "private"
    unit_id: RowId | None = Field(default=None, description="The unit it is shared with (yours).")


class NoteUpdate(BaseModel):
    body: str | None = Field(default=None, max_length=20_000)
    tags: list[Annotated[str, Field(max_length=50)]] | None = Field(default=None, max_length=20)
    visibility: Literal["private", "unit", "organisers"] | None = None
    unit_id: RowId | None = None


class NoteOut(BaseModel):
    id: int
    owner_name: str
    mine: bool
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
    orphaned: bool = Field(description="The document changed and the quote could not be found again.")
    created_at: datetime
    updated_at: datetime
    url: str | None = Field(description="The passage in the reader (None when orphaned).")


class ReplyIn(BaseModel):
    body: str = Field(min_length=1, max_length=MAX_REPLY, description="The reply, in Markdown.")
    quote_reply_id: RowId | None = Field(default=None, description="A reply of the same note that this one quotes.")


class ReplyChange(BaseModel):
    body: str = Field(min_length=1, max_length=MAX_REPLY, description="The new text, in Markdown.")


class HideIn(BaseModel):
    hidden: bool = Field(default=True, description="False unhides the reply.")


class QuotedReplyOut(BaseModel):
    id: int
    author_name: str
    excerpt: str | None = Field(description="The start of the quoted reply (None when it is hidden from you or "
                                            "deleted).")
    hidden: bool
    deleted: bool


class ReplyOut(BaseModel):
    id: int
    note_id: int
    author_name: str
    mine: bool
    body: str | None = Field(description="Markdown; None when the reply is hidden from you (it reads "
                                         "\"此回复已被隐藏\") or deleted.")
    hidden: bool
    hidden_by: str | None = Field(description="Who hid it (told to its author and the note's moderators).")
    hidden_at: datetime | None
    deleted: bool
    quote: QuotedReplyOut | None
    created_at: datetime
    edited_at: datetime | None
    new: bool = Field(description="Posted by someone else since your last visit to the discussion.")
    may_edit: bool
    may_delete: bool
    may_hide: bool


class ThreadOut(BaseModel):
    note_id: int
    open: bool = Field(description="False for a private note: it has no discussion.")
    may_reply: bool
    may_moderate: bool = Field(description="You may hide and unhide replies here.")
    new: int = Field(description="Replies new to you before this visit (this visit marks them seen).")
    replies: list[ReplyOut]


class UnreadOut(BaseModel):
    mine: int = Field(description="New replies under your own notes.")
    shared: int = Field(description="New replies under notes others shared with you.")
    total: int


class ReadingItemIn(BaseModel):
    kind: Literal["document", "section", "passage", "search"]
    document_id: str | None = Field(default=None, max_length=200)
    passage_id: str | None = Field(default=None, max_length=240)
    heading_path: str = Field(default="", max_length=1000, description="A section: the heading path it covers.")
    query: str = Field(default="", max_length=1000, description="A saved search: the query.")
    title: str = Field(default="", max_length=500)
    guide: str = Field(default="", max_length=5000, description="The organiser's guiding note (学习提示).")
    due: IsoDate | None = None


class ReadingItemOut(BaseModel):
    id: int
    position: int
    kind: str
    document_id: str | None
    passage_id: str | None
    heading_path: str
    query: str
    title: str
    guide: str
    due: str | None
    url: str = Field(description="Open it through the list: POST records that it was opened, GET only shows it.")
    orphaned: bool = Field(default=False, description="The document changed and this passage or section is not "
                                                      "in it any more.")
    opened: bool = Field(description="Whether you opened it through the list.")
    studied: bool = Field(description="Whether you marked it studied.")


class ReadingListIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)
    unit_id: RowId | None = Field(default=None, description="The host unit (one you manage).")


class ReadingListOut(BaseModel):
    id: int
    title: str
    description: str
    unit_id: int | None
    manageable: bool
    items: list[ReadingItemOut]


class ReadingListSummary(BaseModel):
    id: int
    title: str
    items: int
    studied: int = Field(description="Items you marked studied.")


class ReadingLists(BaseModel):
    assigned: list[ReadingListSummary]
    managed: list[ReadingListSummary]


class Assignment(BaseModel):
    unit_ids: list[RowId] = Field(default=[], max_length=200)
    logins: list[Annotated[str, Field(max_length=100)]] = Field(default=[], max_length=1000)


class Studied(BaseModel):
    studied: bool = True


class Move(BaseModel):
    step: Literal[-1, 1]


class MemberProgressOut(BaseModel):
    login: str
    display_name: str
    units: list[str]
    opened: int
    studied: int
    notes: int
    items: int
    percent: int


class UnitProgressOut(BaseModel):
    unit: str
    members: int
    completed: int = Field(description="Members who marked every item studied.")
    average_percent: int


class Progress(BaseModel):
    members: list[MemberProgressOut]
    units: list[UnitProgressOut]


class ProposalOut(BaseModel):
    level: str | None
    document_id: str
    title: str
    doc_number: str | None
    date: str | None
    passages: list[dict[str, str]]


class SessionIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    kind: Literal["branch_meeting", "committee", "group_meeting", "party_lecture", "central_group", "thematic",
                  "scheduling"]
    starts_at: IsoDateTime = Field(description="ISO 8601, e.g. 2026-12-01T14:30:00+08:00; without an offset, the "
                                               "site's time zone (STUDY_HUB_TIME_ZONE).")
    ends_at: IsoDateTime
    place: str = Field(default="", max_length=500)
    # [^\s\x85], not \S: the API's validator (Rust regex) counts U+0085 as a space, JSON Schema's regex (ECMAScript)
    # does not, and a pattern must mean the same to clients as to the server.
    online_link: str = Field(default="", max_length=1000, pattern=r"^(|https?://[^\s\x85]+)$",
                             description="A web address (http or https), or empty.")
    host_unit_id: RowId | None = None
    reading_list_id: RowId | None = None
    agenda: str = Field(default="", max_length=20_000)
    unit_ids: list[RowId] = Field(default=[], max_length=200)
    logins: list[Annotated[str, Field(max_length=100)]] = Field(default=[], max_length=1000)
    presider: str | None = Field(default=None, max_length=100, description="Login of the 主持人 (chair).")
    recorder: str | None = Field(default=None, max_length=100, description="Login of the 记录人 (who takes the "
                                                                           "minutes).")


class SessionPeopleIn(BaseModel):
    """Only the fields sent change; null (or "") clears one."""
    presider: str | None = Field(default=None, max_length=100, description="Login of the 主持人.")
    recorder: str | None = Field(default=None, max_length=100, description="Login of the 记录人.")


class PersonRef(BaseModel):
    login: str
    display_name: str


class AttendanceOut(BaseModel):
    login: str
    display_name: str
    status: str | None = Field(description="present, late, leave_requested, leave_declined, excused, absent, or "
                                           "None while the session is open and nothing is recorded")
    checked_in_at: datetime | None
    method: str
    leave_reason: str
    makeup_reflection: str
    makeup_confirmed: bool


class SessionOut(BaseModel):
    id: int
    title: str
    kind: str
    kind_name: str
    starts_at: datetime
    ends_at: datetime
    place: str
    online_link: str
    host_unit_id: int | None
    reading_list_id: int | None
    agenda: str
    minutes: str
    closed: bool
    manageable: bool
    presider: PersonRef | None = Field(description="主持人")
    recorder: PersonRef | None = Field(description="记录人")
    attendance: list[AttendanceOut] = Field(description="Everyone expected (organisers) or your own record.")


class CheckinCode(BaseModel):
    token: str
    code: str
    expires_at: datetime
    url: str = Field(description="What the QR code holds: the check-in page with the token.")
    qr_svg: str = Field(description="The QR code as SVG.")
    seconds_left: int = Field(description="How long the code works from now (seconds).")
    checked_in: int = Field(description="Expected members checked in so far (present or late).")
    expected: int = Field(description="Members expected at the session.")


class CheckinIn(BaseModel):
    token: str = Field(default="", max_length=100)
    code: str = Field(default="", max_length=8)


class LeaveIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class Decision(BaseModel):
    approve: bool


class MarkIn(BaseModel):
    login: str = Field(max_length=100)
    status: Literal["present", "late", "excused", "absent"]
    reason: str = Field(min_length=1, max_length=2000)


class MakeupIn(BaseModel):
    reflection: str = Field(min_length=1, max_length=20_000)


class MinutesIn(BaseModel):
    minutes: str = Field(max_length=100_000)


class SessionCountsOut(BaseModel):
    session_id: int
    title: str
    kind: str
    starts_at: datetime
    closed: bool
    expected: int
    attended: int
    late: int
    excused: int
    absent: int
    made_up: int
    pending: int


class PersonCountsOut(BaseModel):
    name: str
    display_name: str
    units: list[str]
    expected: int
    attended: int
    late: int
    excused: int
    absent: int
    made_up: int
    rate: int | None = Field(description="Attended / expected, in percent; null when no closed session expected them.")


class StatisticsOut(BaseModel):
    sessions: list[SessionCountsOut]
    members: list[PersonCountsOut]
    units: list[PersonCountsOut]
