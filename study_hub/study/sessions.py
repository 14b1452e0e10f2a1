"""Study sessions (学习会 / 三会一课 / 专题学习) and attendance: check-in, leave, absence, make-up study.

- A session has a host unit, expected attendees (units, meaning their members and the units below, and/or
  people), an optional reading list, an agenda and minutes, and for the record book its 主持人 (presider) and
  记录人 (recorder).
- Check-in: the organiser's screen shows a QR code and a 6-digit short code for a token that lives
  ``TOKEN_SECONDS`` and is valid for every expected attendee meanwhile (the screen rotates it every few
  seconds, so a photo sent out of the room is worth seconds); a signed-in expected attendee presents it during
  the check-in window (from ``OPENS_BEFORE`` before the start to the end), and is recorded once. Later than
  ``LATE_AFTER`` after the start is "late". ``MAX_WRONG_CODES`` wrong codes in ``WRONG_CODE_WINDOW`` and a
  member waits.
  Organisers may also mark attendance by hand; the reason goes to the audit log.
- Leave (请假): requested with a reason, approved (excused) or declined by an organiser.
- Closing a session (by an organiser, or by itself once it has ended) marks every expected attendee with
  no attendance as absent (an undecided leave too).
- Make-up study (补学): an absent or excused member completes the session's reading list (every item
  marked studied) and writes a reflection; an organiser confirms it.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo

from sqlalchemy import delete, false, func, or_, select, update

from study_hub.accounts import AccountService, Principal
from study_hub.accounts.policy import manageable, may_manage, may_organise, units_at_or_above
from study_hub.errors import NotFoundError, PermissionDenied, StudyHubError
from study_hub.store import DocumentStore
from study_hub.store.db import insert_new
from study_hub.store.models import (
    Attendance,
    CheckinAttempt,
    CheckinToken,
    ItemProgress,
    ReadingItem,
    ReadingList,
    SessionInvitee,
    StudySession,
    Unit,
    User,
    aware,
    utcnow,
)

SESSION_KINDS = {
    "branch_meeting": "支部党员大会", "committee": "支委会", "group_meeting": "党小组会", "party_lecture": "党课",
    "central_group": "中心组学习", "thematic": "专题学习", "scheduling": "工作调度会",
}
STATUSES = ("present", "late", "leave_requested", "leave_declined", "excused", "absent")
TOKEN_SECONDS = 20  # a code on the screen is valid this long (the screen shows a new one every 3 s)
MAX_WRONG_CODES = 5  # wrong check-in codes a member may try per session in WRONG_CODE_WINDOW
WRONG_CODE_WINDOW = timedelta(minutes=10)
OPENS_BEFORE = timedelta(minutes=30)
LATE_AFTER = timedelta(minutes=5)
MIN_REFLECTION = 20


class SessionError(StudyHubError):
    pass


def _check_link(link: str) -> None:
    """An online meeting link is a web address (http/https), never javascript: or data:."""
    from urllib.parse import urlsplit

    parts = urlsplit(link.strip())
    if link and (parts.scheme.lower() not in ("http", "https") or not parts.netloc):
        raise SessionError("the online link must be a web address starting with https:// or http://")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class SessionCounts:
    session_id: int
    title: str
    kind: str
    starts_at: datetime
    closed: bool
    expected: int = 0  # 应到
    attended: int = 0  # 实到 (present + late)
    late: int = 0
    excused: int = 0  # 请假 (approved)
    absent: int = 0  # 缺席
    made_up: int = 0  # 补学 (confirmed)
    pending: int = 0  # not yet recorded (the session is still open)


@dataclass
class PersonCounts:
    login: str
    display_name: str
    units: list[str]
    expected: int = 0
    attended: int = 0
    late: int = 0
    excused: int = 0
    absent: int = 0
    made_up: int = 0

    @property
    def rate(self) -> int | None:
        """Attended / expected in percent; None when nothing was expected yet (not 0 %: nobody missed anything)."""
        return round(100 * self.attended / self.expected) if self.expected else None


def _count(tally: SessionCounts | PersonCounts, status: str | None, confirmed: bool) -> None:
    """One expected person's record added to a session's, a member's or a unit's figures."""
    tally.expected += 1
    tally.attended += status in ("present", "late")
    tally.late += status == "late"
    tally.excused += status == "excused"
    tally.absent += status == "absent"
    tally.made_up += confirmed


@dataclass
class Statistics:
    sessions: list[SessionCounts] = field(default_factory=list)
    members: list[PersonCounts] = field(default_factory=list)
    units: list[PersonCounts] = field(default_factory=list)  # login = unit name


class SessionService:
    def __init__(self, store: DocumentStore, accounts: AccountService, clock: Callable[[], datetime] = utcnow,
                 zone: tzinfo = UTC):
        self.sessions = store.sessions
        self.accounts = accounts
        self.clock = clock
        self.zone = zone  # times in messages are in the zone people read (stored: UTC)

    # --- who ---------------------------------------------------------------------------------------------

    def can_manage(self, who: Principal, study: StudySession) -> bool:
        with self.sessions() as session:
            return may_manage(who, session, study.created_by, study.host_unit_id)

    def expected(self, session_id: int) -> list[User]:
        with self.sessions() as session:
            invitees = list(session.scalars(select(SessionInvitee).where(SessionInvitee.session_id == session_id)))
        ids = {i.user_id for i in invitees if i.user_id} | \
            self.accounts.member_ids(i.unit_id for i in invitees if i.unit_id)
        with self.sessions() as session:
            return list(session.scalars(select(User).where(User.id.in_(ids), User.active).order_by(User.login)))

    def _load(self, session_id: int) -> StudySession:
        with self.sessions() as session:
            study = session.get(StudySession, session_id)
        if study is None:
            raise NotFoundError(f"no study session {session_id}")
        return study

    def get(self, who: Principal, session_id: int) -> StudySession:
        """The session, if ``who`` manages it or is expected at it; closed first if it has ended."""
        study = self._load(session_id)
        if not (self.can_manage(who, study) or any(u.id == who.id for u in self.expected(session_id))):
            raise NotFoundError(f"no study session {session_id}")
        if study.closed_at is None and aware(study.ends_at) < self.clock():
            self._close(study)
            study = self._load(session_id)
        return study

    def _managed(self, who: Principal, session_id: int) -> StudySession:
        study = self.get(who, session_id)
        if not self.can_manage(who, study):
            raise PermissionDenied("only the session's organisers can do this")
        return study

    def sessions_for(self, who: Principal) -> list[StudySession]:
        """The sessions ``who`` manages or is expected at, newest first: one query."""
        above = units_at_or_above(who)
        invited = select(SessionInvitee.session_id).where(or_(
            SessionInvitee.user_id == who.id, SessionInvitee.unit_id.in_(above) if above else false()))
        with self.sessions() as session:
            return list(session.scalars(select(StudySession).where(or_(
                manageable(who, StudySession.created_by, StudySession.host_unit_id),
                StudySession.id.in_(invited))).order_by(StudySession.starts_at.desc())))

    def overview(self, who: Principal) -> list[tuple[StudySession, Attendance | None]]:
        """``who``'s sessions with their own record, for the sessions page: a fixed number of queries (closing a
        session that has ended since anyone last looked is the one write, once per session)."""
        found = self.sessions_for(who)
        ended = [s for s in found if s.closed_at is None and aware(s.ends_at) < self.clock()]
        for study in ended:
            self._close(study)
        if ended:
            found = self.sessions_for(who)
        mine = self.my_records(who, [s.id for s in found])
        return [(study, mine.get(study.id)) for study in found]

    def my_records(self, who: Principal, session_ids) -> dict[int, Attendance]:
        """``who``'s own attendance records in these sessions (one query)."""
        with self.sessions() as session:
            return {r.session_id: r for r in session.scalars(select(Attendance).where(
                Attendance.user_id == who.id, Attendance.session_id.in_(list(session_ids))))}

    # --- scheduling ---------------------------------------------------------------------------------------

    def create(self, who: Principal, *, title: str, kind: str, starts_at: datetime, ends_at: datetime,
               host_unit_id: int | None, place: str = "", online_link: str = "", agenda: str = "",
               reading_list_id: int | None = None, unit_ids: list[int] = (), logins: list[str] = (),
               presider: str | None = None, recorder: str | None = None) -> StudySession:
        if not may_organise(who):
            raise PermissionDenied("only organisers and admins schedule study sessions")
        if kind not in SESSION_KINDS:
            raise SessionError(f"a session is one of {', '.join(SESSION_KINDS)}")
        if not title.strip():
            raise SessionError("a session needs a title")
        starts_at, ends_at = aware(starts_at).astimezone(UTC), aware(ends_at).astimezone(UTC)  # stored in UTC
        if ends_at <= starts_at:
            raise SessionError("a session must end after it starts")
        with self.sessions() as session:
            units = {u.id: u for u in session.scalars(select(Unit).where(Unit.id.in_([host_unit_id, *unit_ids])))}
        for unit_id in (host_unit_id, *unit_ids):
            if unit_id is not None and (unit_id not in units or not who.manages(units[unit_id].path)):
                raise PermissionDenied(f"unit {unit_id} is not one you manage")
        users = self.accounts.managed_members(who, logins)
        if unknown := sorted(set(logins) - set(users)):  # unknown and foreign logins alike: no probing
            raise NotFoundError(f"not members of a unit you manage: {', '.join(unknown)}")
        people = self._people(who, {"presider": presider, "recorder": recorder})
        if reading_list_id is not None:
            with self.sessions() as session:
                reading = session.get(ReadingList, reading_list_id)
                if reading is None or not may_manage(who, session, reading.owner_id, reading.unit_id):
                    raise NotFoundError(f"no reading list {reading_list_id} that you manage")
        _check_link(online_link)
        with self.sessions.begin() as session:
            study = StudySession(title=title.strip(), kind=kind, starts_at=starts_at, ends_at=ends_at, place=place,
                                 online_link=online_link, host_unit_id=host_unit_id, agenda=agenda,
                                 reading_list_id=reading_list_id, created_by=who.id,
                                 presider_id=people["presider"], recorder_id=people["recorder"])
            session.add(study)
            session.flush()
            session.add_all([SessionInvitee(session_id=study.id, unit_id=u) for u in unit_ids])
            session.add_all([SessionInvitee(session_id=study.id, user_id=u.id) for u in users.values()])
        return study

    ROLES = ("presider", "recorder")  # 主持人, 记录人

    def _people(self, who: Principal, logins: dict[str, str | None]) -> dict[str, int | None]:
        """Role -> user id for the logins given (empty or None: nobody): members of a unit ``who`` manages."""
        wanted = {role: (login or "").strip() for role, login in logins.items()}
        found = self.accounts.managed_members(who, [login for login in wanted.values() if login])
        if unknown := sorted({login for login in wanted.values() if login and login not in found}):
            raise NotFoundError(f"not members of a unit you manage: {', '.join(unknown)}")
        return {role: found[login].id if login else None for role, login in wanted.items()}

    def set_people(self, who: Principal, session_id: int, **logins: str | None) -> None:
        """Set (a login) or clear (None, "") the session's presider and/or recorder; organisers only."""
        if unknown := set(logins) - set(self.ROLES):
            raise SessionError(f"a session's people are its {' and '.join(self.ROLES)}, not {', '.join(unknown)}")
        self._managed(who, session_id)
        people = self._people(who, logins)
        with self.sessions.begin() as session:
            study = session.get(StudySession, session_id)
            for role, user_id in people.items():
                setattr(study, f"{role}_id", user_id)

    def people(self, study: StudySession) -> dict[str, User | None]:
        """The session's presider and recorder (None where nobody is set)."""
        ids = {role: getattr(study, f"{role}_id") for role in self.ROLES}
        with self.sessions() as session:
            users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(
                [i for i in ids.values() if i is not None])))}
        return {role: users.get(user_id) for role, user_id in ids.items()}

    def set_minutes(self, who: Principal, session_id: int, minutes: str) -> None:
        self._managed(who, session_id)
        with self.sessions.begin() as session:
            session.get(StudySession, session_id).minutes = minutes

    # --- check-in -------------------------------------------------------------------------------------------

    def issue_token(self, who: Principal, session_id: int) -> tuple[str, str, datetime]:
        """A fresh (token, short code, expiry) for the organiser's screen."""
        study = self._managed(who, session_id)
        if study.closed_at is not None:
            raise SessionError("the session is closed")
        now = self.clock()
        token, code = secrets.token_urlsafe(16), f"{secrets.randbelow(10**6):06d}"
        expires = now + timedelta(seconds=TOKEN_SECONDS)
        with self.sessions.begin() as session:
            session.execute(delete(CheckinToken).where(CheckinToken.session_id == session_id,
                                                       CheckinToken.expires_at < now - timedelta(minutes=5)))
            session.add(CheckinToken(token_hash=_digest(token), session_id=session_id, code=code, expires_at=expires))
        return token, code, expires

    def tally(self, who: Principal, session_id: int) -> tuple[int, int]:
        """(checked in, expected) for the organiser's screen: expected members recorded present or late."""
        self._managed(who, session_id)
        ids = [u.id for u in self.expected(session_id)]
        with self.sessions() as session:
            arrived = session.scalar(select(func.count()).select_from(Attendance).where(
                Attendance.session_id == session_id, Attendance.user_id.in_(ids),
                Attendance.status.in_(("present", "late"))))
        return arrived or 0, len(ids)

    def check_in(self, who: Principal, session_id: int, token: str = "", code: str = "") -> Attendance:
        """Record ``who`` present (or late) with a token or short code from the screen, once.

        A code is valid for every expected member during its window, so a hall of 300 checks in from one
        screen in a minute or two. The attempt is recorded before the code is judged (``CheckinAttempt``) and
        a member with ``MAX_WRONG_CODES`` wrong ones in ``WRONG_CODE_WINDOW`` waits: a 6-digit code cannot be
        guessed. The record is claimed with one conditional insert, then one conditional update (for a
        member whose leave request is waiting), so parallel posts by one member or many never make two
        records or lose one.
        """
        study = self.get(who, session_id)
        if not any(u.id == who.id for u in self.expected(session_id)):
            raise PermissionDenied("you are not expected at this session")
        now = self.clock()
        opens, closes = aware(study.starts_at) - OPENS_BEFORE, aware(study.ends_at)
        if study.closed_at is not None or not opens <= now <= closes:
            opens, closes = opens.astimezone(self.zone), closes.astimezone(self.zone)
            raise SessionError(f"check-in is open from {opens:%Y-%m-%d %H:%M} to {closes:%H:%M}")
        if not token and not code.strip():
            raise SessionError("scan the QR code or type the short code shown on the screen")
        attempt = self._record_attempt(session_id, who.id, now)
        with self.sessions() as session:
            recent = session.scalar(select(func.count()).select_from(CheckinAttempt).where(
                CheckinAttempt.session_id == session_id, CheckinAttempt.user_id == who.id,
                CheckinAttempt.at >= now - WRONG_CODE_WINDOW))
            query = select(CheckinToken.token_hash).where(CheckinToken.session_id == session_id,
                                                          CheckinToken.expires_at >= now)
            query = query.where(CheckinToken.token_hash == _digest(token)) if token else \
                query.where(CheckinToken.code == code.strip())
            valid = session.scalars(query.limit(1)).first() is not None
        if recent > MAX_WRONG_CODES:  # this attempt and the wrong ones before it
            raise SessionError(f"too many wrong codes: wait {WRONG_CODE_WINDOW.seconds // 60} minutes, or ask "
                               "the organiser to mark you present")
        if not valid:
            raise SessionError("this code is wrong or has expired: scan or type the one on the screen now")
        status = "late" if now > aware(study.starts_at) + LATE_AFTER else "present"
        with self.sessions.begin() as session:
            session.execute(delete(CheckinAttempt).where(CheckinAttempt.id == attempt))  # a right code: not a failure
            values = {"status": status, "checked_in_at": now, "method": "qr" if token else "code"}
            claimed = session.execute(insert_new(session, Attendance).values(
                session_id=session_id, user_id=who.id, **values)).rowcount
            if not claimed:  # a record exists: take it over unless it already says present or late
                session.execute(update(Attendance).where(
                    Attendance.session_id == session_id, Attendance.user_id == who.id,
                    Attendance.status.not_in(("present", "late"))).values(**values))
        with self.sessions() as session:
            return session.get(Attendance, (session_id, who.id))

    def _record_attempt(self, session_id: int, user_id: int, now: datetime) -> int:
        with self.sessions.begin() as session:
            session.execute(delete(CheckinAttempt).where(CheckinAttempt.session_id == session_id,
                                                         CheckinAttempt.user_id == user_id,
                                                         CheckinAttempt.at < now - WRONG_CODE_WINDOW))
            attempt = CheckinAttempt(session_id=session_id, user_id=user_id, at=now)
            session.add(attempt)
            session.flush()
            return attempt.id

    def mark(self, who: Principal, session_id: int, login: str, status: str, reason: str) -> None:
        """An organiser records attendance by hand (someone without a phone, a correction); audited."""
        self._managed(who, session_id)
        if status not in ("present", "late", "excused", "absent"):
            raise SessionError("a mark is present, late, excused or absent")
        if not reason.strip():
            raise SessionError("say why attendance is marked by hand")
        user = self._member_to_decide(who, login)
        if not any(u.id == user.id for u in self.expected(session_id)):
            raise SessionError(f"{login} is not expected at this session")
        with self.sessions.begin() as session:
            record = session.get(Attendance, (session_id, user.id))
            if record is None:
                record = Attendance(session_id=session_id, user_id=user.id, status=status)
                session.add(record)
            record.status, record.method = status, "manual"
            if status in ("present", "late") and record.checked_in_at is None:
                record.checked_in_at = self.clock()
        self.accounts.audit("attendance_marked", who.id, f"session:{session_id}",
                            {"user": login, "status": status, "reason": reason})

    # --- leave, closing, make-up --------------------------------------------------------------------------------

    def request_leave(self, who: Principal, session_id: int, reason: str) -> None:
        study = self.get(who, session_id)
        if not any(u.id == who.id for u in self.expected(session_id)):
            raise PermissionDenied("you are not expected at this session")
        if study.closed_at is not None:
            raise SessionError("the session is closed")
        if not reason.strip():
            raise SessionError("a leave request needs a reason")
        with self.sessions.begin() as session:
            record = session.get(Attendance, (session_id, who.id))
            if record is not None and record.status in ("present", "late"):
                raise SessionError("you have checked in already")
            if record is None:
                record = Attendance(session_id=session_id, user_id=who.id, status="leave_requested")
                session.add(record)
            record.status, record.leave_reason = "leave_requested", reason.strip()

    def decide_leave(self, who: Principal, session_id: int, login: str, approve: bool) -> None:
        self._managed(who, session_id)
        user = self._member_to_decide(who, login)
        with self.sessions.begin() as session:
            decided = session.execute(update(Attendance).where(
                Attendance.session_id == session_id, Attendance.user_id == user.id,
                Attendance.status == "leave_requested").values(
                status="excused" if approve else "leave_declined", leave_decided_by=who.id)).rowcount
        if not decided:
            raise SessionError(f"{login} has no leave request waiting")
        self.accounts.audit("leave_decided", who.id, f"session:{session_id}", {"user": login, "approved": approve})

    def close(self, who: Principal, session_id: int) -> None:
        self._close(self._managed(who, session_id))

    def _close(self, study: StudySession) -> None:
        expected = self.expected(study.id)
        with self.sessions.begin() as session:
            row = session.get(StudySession, study.id)
            if row.closed_at is not None:
                return
            row.closed_at = self.clock()
            for user in expected:
                record = session.get(Attendance, (study.id, user.id))
                if record is None:
                    session.add(Attendance(session_id=study.id, user_id=user.id, status="absent"))
                elif record.status in ("leave_requested", "leave_declined"):
                    record.status = "absent"

    def submit_makeup(self, who: Principal, session_id: int, reflection: str) -> None:
        study = self.get(who, session_id)
        with self.sessions.begin() as session:
            record = session.get(Attendance, (session_id, who.id))
            if record is None or record.status not in ("absent", "excused"):
                raise SessionError("make-up study is for members who were absent or excused")
            if record.makeup_confirmed_at is not None:
                raise SessionError("your make-up study is confirmed: it can no longer be changed")
            if len(reflection.strip()) < MIN_REFLECTION:
                raise SessionError(f"write a reflection of at least {MIN_REFLECTION} characters")
            if study.reading_list_id:
                items = set(session.scalars(select(ReadingItem.id).where(
                    ReadingItem.list_id == study.reading_list_id)))
                done = set(session.scalars(select(ItemProgress.item_id).where(
                    ItemProgress.user_id == who.id, ItemProgress.item_id.in_(items),
                    ItemProgress.studied_at.is_not(None))))
                if items - done:
                    raise SessionError(f"first study the session's reading list: {len(items - done)} of "
                                       f"{len(items)} items are not marked studied")
            record.makeup_reflection, record.makeup_submitted_at = reflection.strip(), self.clock()

    def confirm_makeup(self, who: Principal, session_id: int, login: str) -> None:
        self._managed(who, session_id)
        user = self._member_to_decide(who, login)
        with self.sessions.begin() as session:
            confirmed = session.execute(update(Attendance).where(
                Attendance.session_id == session_id, Attendance.user_id == user.id,
                Attendance.makeup_submitted_at.is_not(None), Attendance.makeup_confirmed_at.is_(None)).values(
                makeup_confirmed_by=who.id, makeup_confirmed_at=self.clock())).rowcount
        if not confirmed:
            raise SessionError(f"{login} has no make-up study waiting for confirmation")
        self.accounts.audit("makeup_confirmed", who.id, f"session:{session_id}", {"user": login})

    def _member_to_decide(self, who: Principal, login: str) -> User:
        """The member an organiser decides on: one of a unit they manage, never themselves (admins: anyone).

        An unknown login and another branch's member get the same answer, so logins cannot be probed.
        """
        users = self.accounts.managed_members(who, [login])
        if not users:
            raise NotFoundError(f"{login!r} is not a member of a unit you manage")
        user = users[login]
        if user.id == who.id and not who.is_admin:
            raise PermissionDenied("nobody decides on their own attendance, leave or make-up: ask another "
                                   "organiser or an administrator")
        return user

    # --- reading the records -------------------------------------------------------------------------------

    def records(self, who: Principal, study: StudySession) -> list[tuple[User, Attendance | None]]:
        """Every expected attendee of ``study`` (as ``get`` returned it to ``who``) with their record
        (organisers); a member gets their own only."""
        people = self.expected(study.id)
        if not self.can_manage(who, study):
            people = [u for u in people if u.id == who.id]
        with self.sessions() as session:
            rows = {a.user_id: a for a in session.scalars(select(Attendance).where(
                Attendance.session_id == study.id))}
        return [(user, rows.get(user.id)) for user in people]

    def statistics(self, who: Principal, since: datetime | None = None, until: datetime | None = None
                   ) -> Statistics:
        """Per session, per member and per unit, over the sessions ``who`` manages in the period.

        Every session is listed (an upcoming one with everybody pending); the member and unit figures count only
        closed sessions, whose records are settled, so a session that has not happened yet (or is under way)
        does not lower anybody's attendance rate. A member expected only at upcoming sessions is listed with
        nothing counted and no rate."""
        result = Statistics()
        members: dict[int, PersonCounts] = {}
        units: dict[str, PersonCounts] = {}
        for study in sorted(self.sessions_for(who), key=lambda s: aware(s.starts_at)):
            starts = aware(study.starts_at)
            if not self.can_manage(who, study) or (since and starts < since) or (until and starts >= until):
                continue
            study = self.get(who, study.id)  # closes it if it has ended
            counts = SessionCounts(study.id, study.title, study.kind, starts, study.closed_at is not None)
            for user, record in self.records(who, study):
                person = members.get(user.id)
                if person is None:
                    names = [name for _, name, _ in self.accounts.principal(user).units]
                    person = members[user.id] = PersonCounts(user.login, user.display_name, names)
                status = record.status if record else None
                confirmed = bool(record and record.makeup_confirmed_at)
                _count(counts, status, confirmed)
                counts.pending += status not in ("present", "late", "excused", "absent")
                tallies = (person, *(units.setdefault(n, PersonCounts(n, n, [n])) for n in person.units))
                if study.closed_at is not None:
                    for tally in tallies:
                        _count(tally, status, confirmed)
            result.sessions.append(counts)
        result.members = sorted(members.values(), key=lambda p: p.login)
        result.units = sorted(units.values(), key=lambda p: p.login)
        return result


# --- exports ----------------------------------------------------------------------------------------------

SESSION_COLUMNS = ("会议", "类型", "时间", "应到", "实到", "迟到", "请假", "缺席", "补学", "待定")
PERSON_COLUMNS = ("账号", "姓名", "组织", "应到", "实到", "迟到", "请假", "缺席", "补学", "出席率%")
UNIT_COLUMNS = ("组织", "应到人次", "实到", "迟到", "请假", "缺席", "补学", "出席率%")


def tables(stats: Statistics, zone: tzinfo = UTC) -> dict[str, tuple[tuple[str, ...], list[list]]]:
    """The three statistics tables as (header, rows), the same figures the page shows (times in ``zone``)."""
    return {
        "sessions": (SESSION_COLUMNS, [
            [s.title, SESSION_KINDS.get(s.kind, s.kind), f"{aware(s.starts_at).astimezone(zone):%Y-%m-%d %H:%M}",
             s.expected, s.attended,
             s.late, s.excused, s.absent, s.made_up, s.pending] for s in stats.sessions]),
        "members": (PERSON_COLUMNS, [
            [p.login, p.display_name, "、".join(p.units), p.expected, p.attended, p.late, p.excused, p.absent,
             p.made_up, p.rate] for p in stats.members]),
        "units": (UNIT_COLUMNS, [
            [u.login, u.expected, u.attended, u.late, u.excused, u.absent, u.made_up, u.rate] for u in stats.units]),
    }


# A text cell that starts with one of these is read as a formula by Excel, WPS and LibreOffice (CSV injection):
# a session titled =HYPERLINK("http://…"&B3,"详情") would send the next cell's data wherever it points.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_text(value):
    """User text as inert text in a CSV cell: a leading ' where it would start a formula (numbers unchanged)."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(stats: Statistics, table: str, zone: tzinfo = UTC) -> bytes:
    import csv
    import io

    header, rows = tables(stats, zone)[table]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows([spreadsheet_text(value) for value in row] for row in rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")  # the BOM makes Excel read UTF-8


def to_xlsx(stats: Statistics, zone: tzinfo = UTC) -> bytes:
    import io

    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for name, title in (("sessions", "会议"), ("members", "党员"), ("units", "组织")):
        header, rows = tables(stats, zone)[name]
        sheet = book.create_sheet(title)
        sheet.append(list(header))
        for row in rows:
            sheet.append(row)
            for cell in sheet[sheet.max_row]:
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # text, never a formula (openpyxl makes "=…" a formula by itself)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
