"""Who may manage what: the permission rules the study services share, in one place.

A reading list or a study session is managed by an administrator, by whoever created it, and by the
organisers of its unit (the units they belong to and every unit below). Deciding on a member (attendance,
leave, make-up, invitations) needs the member to belong to a unit the organiser manages
(``AccountService.managed_members``), and nobody decides on their own record.
"""

from __future__ import annotations

from sqlalchemy import false, or_
from sqlalchemy.orm import Session

from study_hub.accounts.service import AccountService, Principal
from study_hub.store.models import Note, Unit


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
