"""Who may manage what: the permission rules the study services share, in one place, as SQL conditions.

Lists of things a person may see are one query each (``manageable``, ``units_at_or_above``), never a scan
of every row with a check per row.

A reading list or a study session is managed by an administrator, by whoever created it, and by the
organisers of its unit (the units they belong to and every unit below). Deciding on a member (attendance,
leave, make-up, invitations) needs the member to belong to a unit the organiser manages
(``AccountService.managed_members``), and nobody decides on their own record.
"""

from __future__ import annotations

from sqlalchemy import false, or_, select, true
from sqlalchemy.orm import Session

from study_hub.accounts.service import AccountService, Principal
from study_hub.store.models import Note, Unit


def may_organise(who: Principal) -> bool:
    """Scheduling sessions and building reading lists: organisers and administrators."""
    return who.role in ("admin", "organiser")


def may_add_documents(who: Principal) -> bool:
    """Adding documents to the library (uploads): administrators."""
    return who.is_admin


def may_manage(who: Principal, session: Session, owner_id: int | None, unit_id: int | None) -> bool:
    """An item created by ``owner_id`` for the unit ``unit_id`` (either may be None)."""
    if who.is_admin or (owner_id is not None and owner_id == who.id):
        return True
    if unit_id is None:
        return False
    unit = session.get(Unit, unit_id)
    return unit is not None and who.manages(unit.path)


def visible_notes(who: Principal, accounts: AccountService):
    """The SQL condition for the notes ``who`` may read: their own; a note shared with a unit, by members of that
    unit; a note shared with a unit or its organisers, by the organisers of that unit (and units above).
    Admins read every shared note; nobody reads another's private note."""
    if who.is_admin:
        return or_(Note.owner_id == who.id, Note.visibility != "private")
    managed: set[int] = set()
    if who.role == "organiser":
        for _, _, path in who.units:
            managed |= accounts.units_under(path)
    return or_(
        Note.owner_id == who.id,
        (Note.visibility == "unit") & Note.unit_id.in_(who.unit_ids) if who.unit_ids else false(),
        Note.visibility.in_(("unit", "organisers")) & Note.unit_id.in_(managed) if managed else false(),
    )


def managed_unit_ids(who: Principal):
    """A subquery of the ids of the units ``who`` manages (their units and every unit below; organisers only)."""
    if who.role != "organiser" or not who.units:
        return select(Unit.id).where(false())
    return select(Unit.id).where(or_(*(Unit.path.startswith(path) for _, _, path in who.units)))


def manageable(who: Principal, owner_column, unit_column):
    """The SQL condition for rows (lists, sessions) ``who`` manages: admins all; the owner; the organisers of the
    row's unit or a unit above it."""
    if who.is_admin:
        return true()
    return or_(owner_column == who.id, unit_column.in_(managed_unit_ids(who)))


def units_at_or_above(who: Principal) -> set[int]:
    """The ids of ``who``'s units and of every unit above them (from the paths: no query). Something assigned or
    addressed to one of these units reaches ``who``."""
    return {int(part) for _, _, path in who.units for part in path.strip("/").split("/") if part}
