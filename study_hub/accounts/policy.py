"""Who may manage what: the permission rules the study services share, in one place, as SQL conditions.

Lists of things a person may see are one query each (``manageable``, ``units_at_or_above``), never a scan
of every row with a check per row.

A reading list or a study session is managed by an administrator, by whoever created it, and by the
organisers of its unit (the units they belong to and every unit below). Deciding on a member (attendance,
leave, make-up, invitations) needs the member to belong to a unit the organiser manages
(``AccountService.managed_members``), and nobody decides on their own record.

The discussion under a shared note is read and joined by exactly those who read the note
(``discussable_notes``); its author and the managers of its unit moderate it (``may_moderate_replies``); a
reply is changed by its author only (``reply_change_refusal``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

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


def discussable_notes(who: Principal, accounts: AccountService):
    """The SQL condition for the notes whose discussion ``who`` reads and may reply to: the shared notes they may
    read (``visible_notes``). A private note has no discussion, for its author too."""
    return visible_notes(who, accounts) & (Note.visibility != "private")


def may_moderate_replies(who: Principal, note_owner_id: int, unit_path: str | None) -> bool:
    """Hiding and unhiding replies under a shared note: the note's author, and those who manage the unit it is
    shared with (its organisers and those of the units above; admins). ``unit_path``: that unit's path, or None
    when the unit was removed."""
    return who.id == note_owner_id or who.is_admin or (unit_path is not None and who.manages(unit_path))


REPLY_EDIT_WINDOW = timedelta(hours=24)


def reply_change_refusal(who: Principal, author_id: int, created_at: datetime, hidden: bool, now: datetime, *,
                         edit: bool) -> str | None:
    """Why ``who`` may not edit (``edit``) or delete a reply, or None when they may. Only its author changes a
    reply, and not while it is hidden: the text its moderators judged stays as they saw it until they unhide it.
    An edit is allowed within ``REPLY_EDIT_WINDOW`` of posting (later, others have read and answered it);
    deleting, at any time."""
    if who.id != author_id:
        return "only its author can change a reply"
    if hidden:
        return "this reply is hidden: it can be changed again once the note's author or an organiser unhides it"
    if edit and now - created_at > REPLY_EDIT_WINDOW:
        return f"a reply can be edited for {REPLY_EDIT_WINDOW.total_seconds() / 3600:g} hours after it is posted; " \
               "you can still delete it"
    return None


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
