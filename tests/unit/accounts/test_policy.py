"""The permission rules (``study_hub.accounts.policy``), each with who is allowed and who is refused.

The unit tree (ids and paths, as ``AccountService.add_unit`` makes them)::

    1 district /1/
    └── 2 street /1/2/
        ├── 3 community A /1/2/3/      ├── 5 branch A1 /1/2/3/5/   └── 6 branch A2 /1/2/3/6/
        ├── 4 community B /1/2/4/      └── 7 branch B1 /1/2/4/7/
        └── 35 look-alike /1/2/35/     (its path starts with "/1/2/3": not below community A)

The yes/no rules and ``Principal.manages`` need no database; the rules that are SQL conditions
(``manageable``, ``managed_unit_ids``, ``visible_notes``) are evaluated on an in-memory SQLite database with only
the tables they read.
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from study_hub.accounts import Principal
from study_hub.accounts.policy import (
    REPLY_EDIT_WINDOW,
    discussable_notes,
    manageable,
    managed_unit_ids,
    may_add_documents,
    may_manage,
    may_moderate_replies,
    may_organise,
    reply_change_refusal,
    units_at_or_above,
    visible_notes,
)
from study_hub.store.models import Note, Unit

PATHS = {1: "/1/", 2: "/1/2/", 3: "/1/2/3/", 4: "/1/2/4/", 5: "/1/2/3/5/", 6: "/1/2/3/6/", 7: "/1/2/4/7/",
         35: "/1/2/35/"}


def person(user_id: int, role: str, *unit_ids: int) -> Principal:
    return Principal(user_id, f"user{user_id}", f"用户{user_id}", role,
                     tuple((unit_id, f"unit{unit_id}", PATHS[unit_id]) for unit_id in unit_ids))


ADMIN = person(1, "admin")
MEMBER_A1 = person(10, "member", 5)  # a member of branch A1
OTHER_MEMBER_A1 = person(11, "member", 5)
MEMBER_A2 = person(12, "member", 6)  # branch A2: a sibling of A1
MEMBER_COMMUNITY_A = person(13, "member", 3)  # a member of the unit above A1
MEMBER_B1 = person(30, "member", 7)
ORGANISER_A = person(20, "organiser", 3)  # community A: A1 and A2 are below
ORGANISER_B = person(21, "organiser", 4)  # community B
ORGANISER_A1 = person(22, "organiser", 5)  # branch A1 only
ORGANISER_DISTRICT = person(23, "organiser", 1)
ORGANISER_WITHOUT_UNITS = person(24, "organiser")


# --- yes/no rules --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("who", "allowed"), [
    (ADMIN, True), (ORGANISER_A, True), (ORGANISER_WITHOUT_UNITS, True),
    (MEMBER_A1, False), (MEMBER_COMMUNITY_A, False),
])
def test_may_organise_is_for_organisers_and_admins(who, allowed) -> None:
    assert may_organise(who) is allowed


@pytest.mark.parametrize(("who", "allowed"), [
    (ADMIN, True),
    (ORGANISER_A, False), (ORGANISER_DISTRICT, False), (MEMBER_A1, False),
])
def test_may_add_documents_is_for_admins_only(who, allowed) -> None:
    assert may_add_documents(who) is allowed


@pytest.mark.parametrize(("who", "unit", "allowed"), [
    (ADMIN, 7, True), (ADMIN, 1, True),
    (ORGANISER_A, 3, True),  # their own unit
    (ORGANISER_A, 5, True), (ORGANISER_A, 6, True),  # every unit below it
    (ORGANISER_A, 2, False), (ORGANISER_A, 1, False),  # not the units above
    (ORGANISER_A, 4, False), (ORGANISER_A, 7, False),  # nor a sibling community and its branch
    (ORGANISER_A, 35, False),  # nor a unit whose path merely starts with the same characters
    (ORGANISER_A1, 5, True), (ORGANISER_A1, 3, False), (ORGANISER_A1, 6, False),
    (ORGANISER_DISTRICT, 7, True), (ORGANISER_DISTRICT, 35, True),
    (ORGANISER_WITHOUT_UNITS, 5, False),
    (MEMBER_A1, 5, False), (MEMBER_COMMUNITY_A, 5, False),  # members manage nothing, their own unit included
])
def test_manages_a_unit_and_everything_below_it(who, unit, allowed) -> None:
    assert who.manages(PATHS[unit]) is allowed


class Units:
    """The part of a database session ``may_manage`` uses: ``get(Unit, id)``."""

    def get(self, model, unit_id):
        assert model is Unit
        return SimpleNamespace(id=unit_id, path=PATHS[unit_id]) if unit_id in PATHS else None


@pytest.mark.parametrize(("who", "owner", "unit", "allowed"), [
    (ADMIN, 99, None, True), (ADMIN, 99, 7, True), (ADMIN, None, None, True),
    (MEMBER_A1, MEMBER_A1.id, None, True),  # whoever created it
    (MEMBER_A1, MEMBER_A1.id, 7, True),  # even for a unit they do not manage
    (MEMBER_A1, 99, 5, False),  # a member of the item's unit does not manage it
    (OTHER_MEMBER_A1, MEMBER_A1.id, None, False),  # nor another member's item
    (ORGANISER_A, 99, 5, True), (ORGANISER_A, 99, 3, True),  # the organisers of its unit or a unit above
    (ORGANISER_A, 99, 7, False), (ORGANISER_A, 99, 2, False), (ORGANISER_A, 99, 35, False),
    (ORGANISER_A1, 99, 3, False),  # an organiser below the item's unit
    (ORGANISER_A, 99, None, False),  # no unit and not theirs
    (ORGANISER_A, 99, 404, False),  # a unit that does not exist
    (ORGANISER_DISTRICT, 99, 7, True),
])
def test_may_manage_an_item(who, owner, unit, allowed) -> None:
    assert may_manage(who, Units(), owner, unit) is allowed


@pytest.mark.parametrize(("who", "reached"), [
    (MEMBER_A1, {1, 2, 3, 5}),  # their unit and every unit above it
    (MEMBER_B1, {1, 2, 4, 7}),
    (ORGANISER_A, {1, 2, 3}),
    (person(40, "member", 5, 7), {1, 2, 3, 4, 5, 7}),  # two units
    (ADMIN, set()), (ORGANISER_WITHOUT_UNITS, set()),  # no units: nothing addressed to a unit reaches them
])
def test_units_at_or_above(who, reached) -> None:
    assert units_at_or_above(who) == reached


# --- rules as SQL conditions -------------------------------------------------------------------------------------

ITEMS = sa.Table("items", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("owner_id", sa.Integer), sa.Column("unit_id", sa.Integer))
# id -> (owner, unit): a reading list or a study session
ITEM_ROWS = {1: (MEMBER_A1.id, None), 2: (99, 5), 3: (99, 7), 4: (99, 35), 5: (99, 3), 6: (99, None)}

# id -> (owner, visibility, unit)
NOTE_ROWS = {
    1: (MEMBER_A1.id, "private", None),
    2: (MEMBER_A1.id, "unit", 5),  # shared with branch A1
    3: (MEMBER_A1.id, "organisers", 5),  # for the organisers of branch A1
    4: (MEMBER_B1.id, "unit", 7),
    5: (MEMBER_B1.id, "private", None),
    6: (99, "organisers", 35),
    7: (ORGANISER_A.id, "private", None),
}


@pytest.fixture(scope="module")
def database():
    engine = sa.create_engine("sqlite://")
    Unit.__table__.create(engine)
    Note.__table__.create(engine)
    ITEMS.create(engine)
    with engine.begin() as connection:
        connection.execute(sa.insert(Unit), [{"id": unit_id, "name": f"unit{unit_id}", "kind": "other", "path": path}
                                             for unit_id, path in PATHS.items()])
        connection.execute(sa.insert(ITEMS), [{"id": item, "owner_id": owner, "unit_id": unit}
                                              for item, (owner, unit) in ITEM_ROWS.items()])
        connection.execute(sa.insert(Note), [
            {"id": note, "owner_id": owner, "visibility": visibility, "unit_id": unit, "document_id": "doc",
             "passage_id": "doc.1", "start": 0, "end": 2, "quote": "学习"}
            for note, (owner, visibility, unit) in NOTE_ROWS.items()])
    yield engine
    engine.dispose()


@pytest.mark.parametrize(("who", "managed"), [
    (ADMIN, {1, 2, 3, 4, 5, 6}),
    (MEMBER_A1, {1}),  # only what they created; membership of a unit manages nothing
    (OTHER_MEMBER_A1, set()),
    (ORGANISER_A, {2, 5}),  # their unit and the units below it; not a sibling, a look-alike, or no unit
    (ORGANISER_B, {3}),
    (ORGANISER_A1, {2}),  # not the unit above
    (ORGANISER_DISTRICT, {2, 3, 4, 5}),
    (ORGANISER_WITHOUT_UNITS, set()),
])
def test_manageable_rows(database, who, managed) -> None:
    with database.connect() as connection:
        found = set(connection.scalars(sa.select(ITEMS.c.id).where(manageable(who, ITEMS.c.owner_id,
                                                                               ITEMS.c.unit_id))))
    assert found == managed


@pytest.mark.parametrize(("who", "units"), [
    (ORGANISER_A, {3, 5, 6}), (ORGANISER_A1, {5}), (ORGANISER_DISTRICT, set(PATHS)),
    (MEMBER_A1, set()),  # members manage no unit
    (ADMIN, set()),  # admins manage everything without a unit list (``manageable`` is true for them)
    (ORGANISER_WITHOUT_UNITS, set()),
])
def test_managed_unit_ids(database, who, units) -> None:
    with database.connect() as connection:
        assert set(connection.scalars(managed_unit_ids(who))) == units


class Accounts:
    """The part of ``AccountService`` ``visible_notes`` uses: the units at and below a path."""

    def units_under(self, path: str) -> set[int]:
        return {unit_id for unit_id, unit_path in PATHS.items() if unit_path.startswith(path)}


@pytest.mark.parametrize(("who", "readable"), [
    (MEMBER_A1, {1, 2, 3}),  # their own, private ones included
    (OTHER_MEMBER_A1, {2}),  # shared with their unit; not one for the organisers, not a private one
    (MEMBER_A2, set()),  # a sibling branch's member
    (MEMBER_COMMUNITY_A, set()),  # a member of the unit above: shared with the unit means with its members
    (MEMBER_B1, {4, 5}),
    (ORGANISER_A, {2, 3, 7}),  # shared with a unit they manage, or with its organisers; and their own
    (ORGANISER_A1, {2, 3}),
    (ORGANISER_B, {4}),  # not a member's private note in their unit
    (ORGANISER_DISTRICT, {2, 3, 4, 6}),
    (ORGANISER_WITHOUT_UNITS, set()),
    (ADMIN, {2, 3, 4, 6}),  # every shared note, nobody's private one
])
def test_visible_notes(database, who, readable) -> None:
    with database.connect() as connection:
        found = set(connection.scalars(sa.select(Note.id).where(visible_notes(who, Accounts()))))
    assert found == readable


@pytest.mark.parametrize(("who", "readable"), [
    (MEMBER_A1, {2, 3}),  # their shared notes; their private one has no discussion, for them either
    (OTHER_MEMBER_A1, {2}),
    (MEMBER_A2, set()),
    (ORGANISER_A, {2, 3}),  # not their own private note
    (ORGANISER_DISTRICT, {2, 3, 4, 6}),
    (ADMIN, {2, 3, 4, 6}),
])
def test_discussable_notes_are_the_shared_notes_one_reads(database, who, readable) -> None:
    with database.connect() as connection:
        found = set(connection.scalars(sa.select(Note.id).where(discussable_notes(who, Accounts()))))
    assert found == readable


# --- the discussion under a note ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("who", "owner", "unit", "allowed"), [
    (MEMBER_A1, MEMBER_A1.id, 5, True),  # the note's author
    (OTHER_MEMBER_A1, MEMBER_A1.id, 5, False),  # a member of the note's unit (a reply's author too)
    (ORGANISER_A, MEMBER_A1.id, 5, True), (ORGANISER_A1, MEMBER_A1.id, 5, True),  # who manage the unit
    (ORGANISER_DISTRICT, MEMBER_A1.id, 5, True),
    (ORGANISER_B, MEMBER_A1.id, 5, False),  # a sibling community's organiser
    (ORGANISER_A, MEMBER_A1.id, 35, False),  # a look-alike path
    (ORGANISER_A1, MEMBER_A1.id, 3, False),  # an organiser below the note's unit
    (ORGANISER_A, MEMBER_A1.id, None, False),  # the unit was removed: its author and admins remain
    (ADMIN, MEMBER_A1.id, None, True), (ADMIN, MEMBER_B1.id, 7, True),
])
def test_who_moderates_a_discussion(who, owner, unit, allowed) -> None:
    assert may_moderate_replies(who, owner, PATHS.get(unit)) is allowed


POSTED = datetime(2026, 12, 1, 8, tzinfo=UTC)


@pytest.mark.parametrize(("who", "hidden", "age", "edit", "refused"), [
    (MEMBER_A1, False, REPLY_EDIT_WINDOW, True, None),  # to the minute
    (MEMBER_A1, False, REPLY_EDIT_WINDOW * 2, True, "24 hours"),
    (MEMBER_A1, False, REPLY_EDIT_WINDOW * 2, False, None),  # deleting has no window
    (MEMBER_A1, True, REPLY_EDIT_WINDOW / 2, True, "hidden"), (MEMBER_A1, True, REPLY_EDIT_WINDOW / 2, False, "hidden"),
    (OTHER_MEMBER_A1, False, REPLY_EDIT_WINDOW / 2, True, "only its author"),
    (ADMIN, False, REPLY_EDIT_WINDOW / 2, False, "only its author"),  # moderators hide; they do not rewrite
    (ORGANISER_A, False, REPLY_EDIT_WINDOW / 2, True, "only its author"),
])
def test_only_the_author_changes_a_reply_within_the_rules(who, hidden, age, edit, refused) -> None:
    reason = reply_change_refusal(who, MEMBER_A1.id, POSTED, hidden, POSTED + age, edit=edit)
    assert (reason is None) if refused is None else (refused in reason)
