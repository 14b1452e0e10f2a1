"""Accounts: organisation units (a tree), users with roles, password sign-in, sessions, the audit log.

Roles: ``admin`` runs the whole system; ``organiser`` manages the units they belong to and every unit
below them; ``member`` studies. Passwords are hashed with Argon2id (argon2-cffi); a sign-in session is a
random token in an HttpOnly cookie, stored only as its SHA-256, with its own CSRF token and an expiry.
Sign-in is rate-limited from the audit log itself (failures per login and per address in a window), so
the limit holds across processes.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from study_hub.errors import NotFoundError, StudyHubError
from study_hub.store import DocumentStore
from study_hub.store.models import AuditEntry, LoginSession, Membership, Unit, User, aware, utcnow

ROLES = ("admin", "organiser", "member")
UNIT_KINDS = ("district_committee", "street_committee", "township_committee", "community", "village", "branch",
              "group", "office", "working_group", "steering_group", "other")
MIN_PASSWORD = 10
LOGIN_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_LOGIN = 5
MAX_FAILURES_PER_ADDRESS = 20
UNIT_PATH_SEPARATOR = "/"


class AccountError(StudyHubError):
    pass


class LoginFailed(AccountError):
    pass


class LoginThrottled(AccountError):
    pass


@dataclass(frozen=True)
class Principal:
    """Who is asking: the user and the units they belong to (with their paths), for permission checks."""
    id: int
    login: str
    display_name: str
    role: str
    units: tuple[tuple[int, str, str], ...] = field(default_factory=tuple)  # (id, name, path)
    must_change_password: bool = False  # signed in with a one-time password: nothing else until it is replaced

    @property
    def unit_ids(self) -> set[int]:
        return {unit_id for unit_id, _, _ in self.units}

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def manages(self, unit_path: str) -> bool:
        """Organisers manage their units and every unit below; admins manage all."""
        if self.is_admin:
            return True
        return self.role == "organiser" and any(unit_path.startswith(path) for _, _, path in self.units)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AccountService:
    def __init__(self, store: DocumentStore, session_hours: float = 12, clock: Callable[[], datetime] = utcnow):
        self.sessions = store.sessions
        self.session_length = timedelta(hours=session_hours)
        self.clock = clock  # the time sessions expire and sign-in windows are counted by (UTC, aware)
        self.hasher = PasswordHasher()  # Argon2id with the library's current defaults

    # --- units -----------------------------------------------------------------------------------------

    def add_unit(self, name: str, kind: str = "other", parent: str | None = None) -> Unit:
        """A unit under ``parent`` (a unit path like "迎泽区委/桥东街道党工委", or None for a root)."""
        name = name.strip()
        if not name or UNIT_PATH_SEPARATOR in name:
            raise AccountError(f"a unit name must be non-empty and contain no {UNIT_PATH_SEPARATOR!r}: {name!r}")
        if kind not in UNIT_KINDS:
            raise AccountError(f"unit kind {kind!r} is not one of {', '.join(UNIT_KINDS)}")
        parent_unit = self.unit_by_path(parent) if parent else None
        with self.sessions.begin() as session:
            parent_id = parent_unit.id if parent_unit else None
            same_place = Unit.parent_id.is_(None) if parent_id is None else Unit.parent_id == parent_id
            if session.scalars(select(Unit).where(Unit.name == name, same_place)).first() is not None:
                raise AccountError(f"{parent + '/' if parent else ''}{name} already exists")
            unit = Unit(name=name, kind=kind, parent_id=parent_unit.id if parent_unit else None, path="")
            session.add(unit)
            try:
                session.flush()
            except IntegrityError:  # the same unit added at the same moment by another request
                raise AccountError(f"{parent + '/' if parent else ''}{name} already exists") from None
            unit.path = f"{parent_unit.path if parent_unit else '/'}{unit.id}/"
        return unit

    def unit_by_path(self, names: str) -> Unit:
        parts = [p.strip() for p in names.strip().strip(UNIT_PATH_SEPARATOR).split(UNIT_PATH_SEPARATOR) if p.strip()]
        if not parts:
            raise AccountError("an empty unit path")
        parent_id = None
        unit = None
        with self.sessions() as session:
            for part in parts:
                query = select(Unit).where(Unit.name == part)
                query = query.where(Unit.parent_id.is_(None)) if parent_id is None else \
                    query.where(Unit.parent_id == parent_id)
                unit = session.scalars(query).first()
                if unit is None:
                    raise NotFoundError(f"no unit {'/'.join(parts)!r} (missing: {part!r}); "
                                        "`study-hub unit list` shows the tree")
                parent_id = unit.id
        return unit

    def list_units(self) -> list[tuple[Unit, str]]:
        """Every unit with its full name path, in tree order."""
        with self.sessions() as session:
            units = list(session.scalars(select(Unit)))
        by_id = {u.id: u for u in units}

        def names(unit: Unit) -> str:
            ids = [int(i) for i in unit.path.strip("/").split("/")]
            return UNIT_PATH_SEPARATOR.join(by_id[i].name for i in ids)
        return sorted(((u, names(u)) for u in units), key=lambda item: item[1])

    def managed_units(self, who: Principal) -> list[tuple[int, str]]:
        """(id, full name path) of the units ``who`` manages, in tree order (what their forms offer)."""
        return [(unit.id, path) for unit, path in self.list_units() if who.manages(unit.path)]

    # --- users -----------------------------------------------------------------------------------------

    def add_user(self, login: str, display_name: str, password: str, role: str = "member",
                 units: list[str] | None = None, actor: Principal | None = None, one_time: bool = False) -> User:
        """A user; ``one_time``: the password is one-time (handed over by someone else), and the first sign-in
        must replace it before anything else."""
        login = login.strip()
        if not login or len(login) > 100 or any(c.isspace() for c in login):
            raise AccountError(f"a login id must be 1–100 characters without spaces: {login!r}")
        if not display_name.strip():
            raise AccountError("a user needs a display name (the real name)")
        if role not in ROLES:
            raise AccountError(f"role {role!r} is not one of {', '.join(ROLES)}")
        self._check_password(password)
        unit_rows = [self.unit_by_path(path) for path in units or []]
        try:
            with self.sessions.begin() as session:
                user = User(login=login, display_name=display_name.strip(), role=role,
                            password_hash=self.hasher.hash(password), must_change_password=one_time)
                session.add(user)
                session.flush()
                for unit in unit_rows:
                    session.add(Membership(user_id=user.id, unit_id=unit.id))
        except IntegrityError as exc:
            raise AccountError(f"the login id {login!r} is taken") from exc
        self.audit("user_added", actor.id if actor else None, f"user:{login}", {"role": role, "units": units or []})
        return user

    @staticmethod
    def _check_password(password: str) -> None:
        if len(password) < MIN_PASSWORD:
            raise AccountError(f"a password needs at least {MIN_PASSWORD} characters")

    def user_count(self) -> int:
        with self.sessions() as session:
            return session.scalar(select(func.count()).select_from(User)) or 0

    def add_membership(self, login: str, unit_path: str) -> bool:
        """Make ``login`` a member of the unit at ``unit_path`` (a no-op when they are one); True if it was added."""
        user, unit = self.get_user(login), self.unit_by_path(unit_path)
        with self.sessions.begin() as session:
            if session.get(Membership, (user.id, unit.id)) is not None:
                return False
            session.add(Membership(user_id=user.id, unit_id=unit.id))
        return True

    def get_user(self, login: str) -> User:
        with self.sessions() as session:
            user = session.scalars(select(User).where(User.login == login)).first()
        if user is None:
            raise NotFoundError(f"no user {login!r}")
        return user

    def set_role(self, login: str, role: str, actor: Principal | None = None) -> None:
        if role not in ROLES:
            raise AccountError(f"role {role!r} is not one of {', '.join(ROLES)}")
        user = self.get_user(login)
        with self.sessions.begin() as session:
            session.get(User, user.id).role = role
        self.audit("role_changed", actor.id if actor else None, f"user:{login}", {"from": user.role, "to": role})

    def set_password(self, login: str, password: str, actor: Principal | None = None, one_time: bool = False) -> None:
        """A new password set for someone (a forgotten one); ``one_time``: they must replace it at next sign-in."""
        self._check_password(password)
        user = self.get_user(login)
        with self.sessions.begin() as session:
            row = session.get(User, user.id)
            row.password_hash, row.must_change_password = self.hasher.hash(password), one_time
            session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))  # sign out everywhere
        self.audit("password_changed", actor.id if actor else None, f"user:{login}", {"one_time": one_time})

    def change_own_password(self, who: Principal, current: str, new: str, keep_session: str | None = None,
                            ip: str | None = None) -> None:
        """``who`` replaces their password (a one-time one above all): the current one must be right and the new
        one different; every other sign-in of theirs ends (``keep_session``: the token of the one that asked).
        Wrong current passwords count against the sign-in limit, so a borrowed session cannot guess it."""
        self._check_password(new)
        if new == current:
            raise AccountError("choose a new password, not the one you were given")
        attempt = self._admit_attempt(who.login, ip)
        with self.sessions() as session:
            user = session.get(User, who.id)
        try:
            self.hasher.verify(user.password_hash, current)
        except (VerificationError, InvalidHashError):
            self._settle_attempt(attempt, "login_failed")
            raise AccountError("the current password is wrong") from None
        self._settle_attempt(attempt, "password_checked", who.id)
        with self.sessions.begin() as session:
            row = session.get(User, who.id)
            row.password_hash, row.must_change_password = self.hasher.hash(new), False
            others = LoginSession.user_id == who.id
            if keep_session:
                others &= LoginSession.token_hash != token_digest(keep_session)
            session.execute(delete(LoginSession).where(others))
        self.audit("password_changed", who.id, f"user:{who.login}", {"by": "self"})

    def principal(self, user: User) -> Principal:
        with self.sessions() as session:
            units = session.execute(select(Unit.id, Unit.name, Unit.path).join(
                Membership, Membership.unit_id == Unit.id).where(Membership.user_id == user.id)
                .order_by(Unit.path)).all()
        return Principal(user.id, user.login, user.display_name, user.role, tuple(tuple(u) for u in units),
                         bool(user.must_change_password))

    def managed_members(self, who: Principal, logins) -> dict[str, User]:
        """login -> user for the ``logins`` that ``who`` may act on: members of a unit they manage (one query).

        Admins: every existing login. Others and unknown logins are simply absent from the answer.
        """
        logins = sorted(set(logins))
        if not logins:
            return {}
        query = select(User).where(User.login.in_(logins))
        if not who.is_admin:
            if who.role != "organiser" or not who.units:
                return {}
            query = query.where(User.id.in_(select(Membership.user_id).join(Unit, Unit.id == Membership.unit_id)
                                            .where(or_(*(Unit.path.startswith(path) for _, _, path in who.units)))))
        with self.sessions() as session:
            return {user.login: user for user in session.scalars(query)}

    def member_ids(self, unit_ids) -> set[int]:
        """Ids of the members of these units and of every unit below them."""
        with self.sessions() as session:
            paths = list(session.scalars(select(Unit.path).where(Unit.id.in_(list(unit_ids)))))
            if not paths:
                return set()
            return set(session.scalars(select(Membership.user_id).join(Unit, Unit.id == Membership.unit_id).where(
                or_(*(Unit.path.startswith(path) for path in paths)))))

    def units_under(self, unit_path: str) -> set[int]:
        """The unit with this path and all its descendants."""
        with self.sessions() as session:
            return set(session.scalars(select(Unit.id).where(Unit.path.startswith(unit_path))))

    # --- signing in --------------------------------------------------------------------------------------

    def authenticate(self, login: str, password: str, ip: str | None = None) -> User:
        """The user, if the password is right and the sign-in limit allows the attempt (``_admit_attempt``)."""
        attempt = self._admit_attempt(login, ip)
        with self.sessions() as session:
            user = session.scalars(select(User).where(User.login == login)).first()
        try:
            if user is None or not user.active:
                self.hasher.hash(password)  # the same work as a real check: no timing hint of which logins exist
                raise VerificationError
            self.hasher.verify(user.password_hash, password)
        except (VerificationError, InvalidHashError):
            self._settle_attempt(attempt, "login_failed")
            raise LoginFailed("wrong login id or password") from None
        if self.hasher.check_needs_rehash(user.password_hash):
            with self.sessions.begin() as session:
                session.get(User, user.id).password_hash = self.hasher.hash(password)
        self._settle_attempt(attempt, "login", user.id)
        return user

    def _admit_attempt(self, login: str, ip: str | None) -> int:
        """Record a check of ``login``'s password and admit it within the limit (else LoginThrottled): its row.

        The attempt is recorded (committed) *before* it is judged or the password checked, and it counts
        against the limit while it is checked: of N parallel attempts, in one process or several, only those
        whose count (its own row and every one committed before it) stays within the limit are checked, so at
        most the limit are, whatever the interleaving. Its row then says how it ended
        (login, login_failed, login_throttled, password_checked); a process killed mid-check leaves it counting
        as a failure. Sign-ins and the current password asked by a password change share the limit: one secret.
        """
        attempt = self._record_attempt(login, ip)
        since = self.clock() - LOGIN_WINDOW
        counted = (AuditEntry.action.in_(("login_failed", "login_attempt")), AuditEntry.at >= since)
        with self.sessions() as session:
            failures = session.scalar(select(func.count()).select_from(AuditEntry).where(
                *counted, AuditEntry.subject == f"user:{login}"))
            from_address = session.scalar(select(func.count()).select_from(AuditEntry).where(
                *counted, AuditEntry.ip == ip)) if ip else 0
        if failures > MAX_FAILURES_PER_LOGIN or from_address > MAX_FAILURES_PER_ADDRESS:
            self._settle_attempt(attempt, "login_throttled")
            raise LoginThrottled("too many failed sign-ins: wait 15 minutes and try again")
        return attempt

    def _record_attempt(self, login: str, ip: str | None) -> int:
        with self.sessions.begin() as session:
            row = AuditEntry(action="login_attempt", actor_id=None, subject=f"user:{login}"[:200], detail={}, ip=ip,
                             at=self.clock())
            session.add(row)
            session.flush()
            return row.id

    def _settle_attempt(self, attempt: int, action: str, actor_id: int | None = None) -> None:
        with self.sessions.begin() as session:
            session.execute(update(AuditEntry).where(AuditEntry.id == attempt).values(action=action, actor_id=actor_id))

    def start_session(self, user: User) -> tuple[str, str]:
        """A new session: (the cookie's token, the session's CSRF token)."""
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = self.clock()
        with self.sessions.begin() as session:
            session.execute(delete(LoginSession).where(LoginSession.expires_at < now))
            session.add(LoginSession(token_hash=token_digest(token), user_id=user.id, csrf_token=csrf,
                                     expires_at=now + self.session_length))
        return token, csrf

    def session_of(self, token: str | None) -> tuple[Principal, str] | None:
        """(who, their CSRF token) for a live session token; None if unknown, expired or the user is disabled."""
        if not token:
            return None
        with self.sessions() as session:
            row = session.execute(select(LoginSession, User).join(User, User.id == LoginSession.user_id)
                                  .where(LoginSession.token_hash == token_digest(token))).first()
        if row is None:
            return None
        login_session, user = row
        if aware(login_session.expires_at) < self.clock() or not user.active:
            return None
        return self.principal(user), login_session.csrf_token

    def end_session(self, token: str | None, actor: Principal | None = None, ip: str | None = None) -> None:
        if token:
            with self.sessions.begin() as session:
                session.execute(delete(LoginSession).where(LoginSession.token_hash == token_digest(token)))
            if actor:
                self.audit("logout", actor.id, f"user:{actor.login}", ip=ip)

    # --- audit -----------------------------------------------------------------------------------------------

    def audit(self, action: str, actor_id: int | None, subject: str = "", detail: dict[str, Any] | None = None,
              ip: str | None = None) -> None:
        with self.sessions.begin() as session:
            session.add(AuditEntry(action=action, actor_id=actor_id, subject=subject[:200], detail=detail or {},
                                   ip=ip, at=self.clock()))

    def audit_entries(self, limit: int = 100, action: str | None = None) -> list[AuditEntry]:
        query = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
        if action:
            query = query.where(AuditEntry.action == action)
        with self.sessions() as session:
            return list(session.scalars(query))
