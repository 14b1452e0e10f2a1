"""The 三会一课 record book (会议记录本 / 台账): a session's record, and a unit's ledger over a quarter or a year.

A **session record** is what the record book holds for one meeting, in the standard layout: name and type, time,
place, 主持人, 记录人, 应到 / 实到 / 迟到 / 请假 / 缺席 with names (and the reasons for leave and absence),
the agenda, what was studied (the reading list's documents with 文号 and a link into the reader), the minutes,
and the make-up study (补学) of those who missed it (who, when, confirmed by whom).

A **ledger** (台账) binds a unit's records over a period: sessions hosted by the unit or by its Party groups
(党小组, units of kind ``group`` below it: their 党小组会 belong to the branch's 三会一课), a table of them with
attendance figures, and the count per type against the required frequency (``Settings.session_norms``, the
common 三会一课 rule by default), shortfalls marked. That is what an inspection asks a branch for.

Who may export: a session's record, its organisers (``SessionService.can_manage``: admins, its creator, the
organisers of its host unit or above); a unit's ledger, the organisers of that unit or a unit above, and admins.
Rendering to DOCX and PDF is ``record_book``'s.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from urllib.parse import quote, urlencode

from sqlalchemy import or_, select

from study_hub.accounts import AccountService, Principal
from study_hub.config import THREE_MEETINGS_ONE_LECTURE
from study_hub.errors import NotFoundError, PermissionDenied, StudyHubError
from study_hub.store import DocumentStore
from study_hub.store.models import (
    Attendance,
    AuditEntry,
    Document,
    ReadingItem,
    ReadingList,
    StudySession,
    Unit,
    User,
    aware,
)
from study_hub.study.sessions import SESSION_KINDS, SessionService

# The four kinds of 三会一课, in the order the record book lists them.
THREE_MEETINGS = ("branch_meeting", "committee", "group_meeting", "party_lecture")
NORMS_SOURCE = "“三会一课”制度（《中国共产党支部工作条例（试行）》）"
QUARTER_NAMES = {1: "第一季度", 2: "第二季度", 3: "第三季度", 4: "第四季度"}


class RecordError(StudyHubError):
    pass


@dataclass
class Person:
    name: str
    login: str
    note: str = ""  # a reason (leave, absence), or the time of a late arrival


@dataclass
class StudiedItem:
    """One thing studied at the session: a reading-list item with its document's title, 文号 and reader link."""
    title: str
    doc_number: str | None
    date: str | None
    url: str
    note: str = ""  # "文件已修订…" for an orphaned item
    part: str = ""  # a section or passage: its heading path in the document


@dataclass
class Makeup:
    name: str
    login: str
    status: str  # 请假 or 缺席: why they had to make it up
    submitted: str
    confirmed: str  # "2026-12-05 王书记" or "" while it waits
    reflection: str


@dataclass
class SessionRecord:
    id: int
    title: str
    kind: str
    kind_name: str
    starts_at: datetime
    day: str  # 2026-12-01, in the site's zone
    when: str  # "2026年12月01日 14:00—16:00" in the site's zone
    place: str
    online_link: str
    host_unit: str
    presider: str
    recorder: str
    agenda: str
    minutes: str
    closed: bool
    reading_list: str
    upcoming: bool = False  # not started yet when the record was made
    expected: list[Person] = field(default_factory=list)
    present: list[Person] = field(default_factory=list)  # present and late: 实到
    late: list[Person] = field(default_factory=list)
    excused: list[Person] = field(default_factory=list)  # leave approved: 请假
    absent: list[Person] = field(default_factory=list)
    pending: list[Person] = field(default_factory=list)  # nothing final recorded yet (an open session)
    items: list[StudiedItem] = field(default_factory=list)
    makeups: list[Makeup] = field(default_factory=list)

    @property
    def made_up(self) -> int:
        return sum(1 for m in self.makeups if m.confirmed)


@dataclass
class KindCount:
    kind: str
    name: str
    required: int | None  # None: no norm for this type (中心组学习, 专题学习 …)
    held: int  # started by the time the ledger was made
    scheduled: int  # later in the period

    @property
    def shortfall(self) -> int:
        return max(0, (self.required or 0) - self.held - self.scheduled)


@dataclass
class Ledger:
    unit: str
    unit_id: int
    period: str  # as asked: 2026Q4, 2026
    period_name: str  # 2026年第四季度
    since: date
    until: date  # the last day
    made_at: str
    made_by: str
    norms_source: str
    per_quarter: dict[str, int]
    sessions: list[SessionRecord] = field(default_factory=list)
    counts: list[KindCount] = field(default_factory=list)

    @property
    def shortfalls(self) -> list[KindCount]:
        return [c for c in self.counts if c.shortfall]


def parse_period(period: str) -> tuple[date, date, str, int]:
    """"2026Q4" (also 2026-Q4, 2026q4) or "2026" -> (first day, day after the last, name, quarters)."""
    text = period.strip().upper().replace("-", "")
    found = re.fullmatch(r"([12]\d{3})(?:Q([1-4]))?", text)
    if not found:
        raise RecordError(f"{period!r} is not a period: a quarter like 2026Q4 or a year like 2026")
    year = int(found.group(1))
    if found.group(2) is None:
        return date(year, 1, 1), date(year + 1, 1, 1), f"{year}年", 4
    quarter = int(found.group(2))
    first = date(year, 3 * quarter - 2, 1)
    after = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
    return first, after, f"{year}年{QUARTER_NAMES[quarter]}", 1


def current_quarter(now: datetime, zone: tzinfo) -> str:
    """The quarter ``now`` falls in, in ``zone``: 2026Q4."""
    local = aware(now).astimezone(zone)
    return f"{local.year}Q{(local.month - 1) // 3 + 1}"


def recent_periods(now: datetime, zone: tzinfo) -> list[str]:
    """What a ledger form offers: this quarter and the three before it, this year and the last."""
    local = aware(now).astimezone(zone)
    number = local.year * 4 + (local.month - 1) // 3
    return [f"{n // 4}Q{n % 4 + 1}" for n in range(number, number - 4, -1)] + [str(local.year), str(local.year - 1)]


def _local(moment: datetime, zone: tzinfo, pattern: str = "%Y-%m-%d %H:%M") -> str:
    return aware(moment).astimezone(zone).strftime(pattern)


class RecordService:
    """Gathers records and ledgers from the sessions, their attendance, reading lists and the audit log."""

    def __init__(self, store: DocumentStore, accounts: AccountService, study_sessions: SessionService,
                 norms: dict[str, int] | None = None, zone: tzinfo = UTC):
        self.sessions = store.sessions
        self.accounts = accounts
        self.study_sessions = study_sessions
        self.norms = dict(THREE_MEETINGS_ONE_LECTURE if norms is None else norms)
        self.zone = zone

    def clock(self) -> datetime:
        """The sessions' clock: "held" and "scheduled" are by the same time that opens and closes sessions."""
        return self.study_sessions.clock()

    # --- one session ----------------------------------------------------------------------------------------

    def session_record(self, who: Principal, session_id: int, base_url: str = "") -> SessionRecord:
        """The record of a session ``who`` organises (another's: 404 if they may not see it, else 403)."""
        study = self.study_sessions.get(who, session_id)  # closes it first if it has ended
        if not self.study_sessions.can_manage(who, study):
            raise PermissionDenied("only the session's organisers export its record")
        units = {unit.id: path for unit, path in self.accounts.list_units()}
        return self._record(study, units, base_url)

    def _record(self, study: StudySession, units: dict[int, str], base_url: str) -> SessionRecord:
        people = self.study_sessions.people(study)
        record = SessionRecord(
            id=study.id, title=study.title, kind=study.kind, kind_name=SESSION_KINDS.get(study.kind, study.kind),
            starts_at=aware(study.starts_at), day=_local(study.starts_at, self.zone, "%Y-%m-%d"),
            when=f"{_local(study.starts_at, self.zone, '%Y年%m月%d日 %H:%M')}—"
                 f"{_local(study.ends_at, self.zone, '%H:%M')}",
            place=study.place, online_link=study.online_link, host_unit=units.get(study.host_unit_id, ""),
            presider=people["presider"].display_name if people["presider"] else "",
            recorder=people["recorder"].display_name if people["recorder"] else "",
            agenda=study.agenda, minutes=study.minutes, closed=study.closed_at is not None, reading_list="",
            upcoming=aware(study.starts_at) > self.clock())
        expected = self.study_sessions.expected(study.id)
        with self.sessions() as session:
            rows = {a.user_id: a for a in session.scalars(select(Attendance).where(
                Attendance.session_id == study.id))}
            # Why someone was marked by hand (an absence, an excused leave without a request) is in the audit log.
            marks = session.scalars(select(AuditEntry).where(
                AuditEntry.action == "attendance_marked", AuditEntry.subject == f"session:{study.id}")
                .order_by(AuditEntry.at, AuditEntry.id))
            marked = {(e.detail.get("user"), e.detail.get("status")): e.detail.get("reason", "") for e in marks}
            deciders = {u.id: u.display_name for u in session.scalars(select(User).where(User.id.in_(
                {a.makeup_confirmed_by for a in rows.values() if a.makeup_confirmed_by})))}
        for user in expected:
            person = Person(user.display_name, user.login)
            record.expected.append(person)
            row = rows.get(user.id)
            status = row.status if row else None
            if status in ("present", "late"):
                record.present.append(person)
                if status == "late":
                    at = _local(row.checked_in_at, self.zone, "%H:%M") if row.checked_in_at else ""
                    record.late.append(Person(user.display_name, user.login, f"{at}签到" if at else ""))
            elif status == "excused":
                reason = row.leave_reason or marked.get((user.login, "excused"), "")
                record.excused.append(Person(user.display_name, user.login, reason))
            elif status == "absent":
                reason = marked.get((user.login, "absent"), "")
                if row.leave_reason:  # asked for leave, not granted (declined, or undecided at closing)
                    reason = f"请假未获批准：{row.leave_reason}" + (f"；{reason}" if reason else "")
                record.absent.append(Person(user.display_name, user.login, reason))
            else:
                note = f"请假待批：{row.leave_reason}" if status == "leave_requested" else \
                    f"请假未获批准：{row.leave_reason}" if status == "leave_declined" else ""
                record.pending.append(Person(user.display_name, user.login, note))
            if row is not None and row.makeup_submitted_at is not None:
                confirmed = ""
                if row.makeup_confirmed_at is not None:
                    confirmed = f"{_local(row.makeup_confirmed_at, self.zone)} " \
                                f"{deciders.get(row.makeup_confirmed_by, '')}".strip()
                record.makeups.append(Makeup(user.display_name, user.login, "请假" if status == "excused" else "缺席",
                                             _local(row.makeup_submitted_at, self.zone), confirmed,
                                             row.makeup_reflection))
        if study.reading_list_id is not None:
            record.reading_list, record.items = self._studied(study.reading_list_id, base_url)
        return record

    def _studied(self, list_id: int, base_url: str) -> tuple[str, list[StudiedItem]]:
        """The reading list's title and its items with their documents' titles and 文号 (two queries)."""
        with self.sessions() as session:
            reading = session.get(ReadingList, list_id)
            if reading is None:
                return "", []
            items = list(session.scalars(select(ReadingItem).where(ReadingItem.list_id == list_id)
                                         .order_by(ReadingItem.position)))
            documents = {row.id: row for row in session.execute(select(
                Document.id, Document.title, Document.doc_number, Document.date).where(
                Document.id.in_({i.document_id for i in items if i.document_id})))}
        studied = []
        for item in items:
            if item.kind == "search":
                studied.append(StudiedItem(f"检索：{item.query}", None, None,
                                           f"{base_url}/search?{urlencode({'q': item.query})}"))
                continue
            document = documents.get(item.document_id)
            url = f"{base_url}/documents/{quote(item.document_id or '', safe='')}"
            if item.kind in ("passage", "section") and item.passage_id and not item.orphaned:
                url += f"#p-{quote(item.passage_id, safe='')}"
            note = "文件已修订，这一部分在新版本中未能找到" if item.orphaned else \
                "" if document is not None else "原文已不在文库中"
            title, part = item.title, ""
            if document is not None:  # a part of a document is cited as the document, then where in it
                title = document.title
                if item.kind != "document":
                    part = item.heading_path or ("（节选）" if item.kind == "passage" else "")
            studied.append(StudiedItem(title, document.doc_number if document else None,
                                       document.date if document else None, url, note, part))
        return reading.title, studied

    # --- a unit over a period -----------------------------------------------------------------------------------

    def ledger(self, who: Principal, unit_id: int, period: str | None = None, base_url: str = "") -> Ledger:
        """The 台账 of ``unit_id`` over ``period`` (2026Q4, 2026; the current quarter by default): organisers of
        the unit or above, and admins."""
        period = period or current_quarter(self.clock(), self.zone)
        since, after, name, quarters = parse_period(period)
        with self.sessions() as session:
            unit = session.get(Unit, unit_id)
        if unit is None:
            raise NotFoundError(f"no unit {unit_id}")
        if not who.manages(unit.path):
            raise PermissionDenied("the ledger of a unit is for the organisers of that unit or a unit above it")
        start = datetime.combine(since, datetime.min.time(), self.zone).astimezone(UTC)
        end = datetime.combine(after, datetime.min.time(), self.zone).astimezone(UTC)
        with self.sessions() as session:
            groups = select(Unit.id).where(Unit.path.startswith(unit.path), Unit.kind == "group")
            found = list(session.scalars(select(StudySession).where(
                or_(StudySession.host_unit_id == unit.id, StudySession.host_unit_id.in_(groups)),
                StudySession.starts_at >= start, StudySession.starts_at < end)
                .order_by(StudySession.starts_at, StudySession.id)))
        units = {u.id: path for u, path in self.accounts.list_units()}
        records = [self._record(self.study_sessions.get(who, study.id), units, base_url) for study in found]
        held: dict[str, int] = defaultdict(int)
        later: dict[str, int] = defaultdict(int)
        for record in records:
            (later if record.upcoming else held)[record.kind] += 1
        counts = [KindCount(kind, SESSION_KINDS[kind], self.norms.get(kind, 0) * quarters, held[kind], later[kind])
                  for kind in THREE_MEETINGS]
        counts += [KindCount(kind, name, None, held[kind], later[kind]) for kind, name in SESSION_KINDS.items()
                   if kind not in THREE_MEETINGS and (held[kind] or later[kind])]
        return Ledger(unit=units.get(unit.id, unit.name), unit_id=unit.id, period=period.strip().upper(),
                      period_name=name, since=since, until=date.fromordinal(after.toordinal() - 1),
                      made_at=_local(self.clock(), self.zone), made_by=who.display_name, norms_source=NORMS_SOURCE,
                      per_quarter={k: self.norms.get(k, 0) for k in THREE_MEETINGS}, sessions=records,
                      counts=counts)
