"""Who may manage what: the permission rules the study services share, in one place.

A reading list or a study session is managed by an administrator, by whoever created it, and by the
organisers of its unit (the units they belong to and every unit below). Deciding on a member (attendance,
leave, make-up, invitations) needs the member to belong to a unit the organiser manages
(``AccountService.managed_members``), and nobody decides on their own record.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from study_hub.accounts.service import Principal
from study_hub.store.models import Unit


def may_manage(who: Principal, session: Session, owner_id: int | None, unit_id: int | None) -> bool:
    """An item created by ``owner_id`` for the unit ``unit_id`` (either may be None)."""
    if who.is_admin or (owner_id is not None and owner_id == who.id):
        return True
    if unit_id is None:
        return False
    unit = session.get(Unit, unit_id)
    return unit is not None and who.manages(unit.path)
