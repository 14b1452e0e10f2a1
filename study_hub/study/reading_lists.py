"""Reading lists (学习清单): what an organiser asks a unit to study, and the evidence that they did.

A list holds ordered items: a whole document, a section (every passage under a heading path), a single
passage, or a saved search; each with the organiser's guiding note (学习提示) and an optional due date.
Lists are assigned to units (their members and the units below) or to people. Study credit comes from
what the server saw: an item opened through the list, an item marked studied, notes written on the
list's documents; never from a timer in the browser.

Who may do what: admins everything; an organiser manages the lists they own or whose host unit they
manage (edit, assign, see progress, export); assignees see their lists and record their own progress.
Anyone else gets "not found".
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import delete, false, func, or_, select, update
from sqlalchemy.orm import Session

from study_hub.accounts import AccountService, Principal
from study_hub.accounts.policy import manageable, may_manage, may_organise, units_at_or_above, visible_notes
from study_hub.domain import HEADING_SEPARATOR, LEVELS
from study_hub.errors import NotFoundError, PermissionDenied, StudyHubError
from study_hub.search.query import QueryError, parse_query
from study_hub.search.service import SearchRequest, SearchService
from study_hub.store import DocumentStore
from study_hub.store.db import insert_new
from study_hub.store.models import (
    Document,
    ItemProgress,
    Membership,
    Note,
    PassageRow,
    ReadingAssignment,
    ReadingItem,
    ReadingList,
    Unit,
    User,
    utcnow,
)

ITEM_KINDS = ("document", "section", "passage", "search")


class ReadingListError(StudyHubError):
    pass


@dataclass
class Proposal:
    """A document proposed for a list drafted from a topic, with its most relevant passages."""
    level: str | None
    document_id: str
    title: str
    doc_number: str | None
    date: str | None
    passages: list[tuple[str, str, str]] = field(default_factory=list)  # (passage id, heading path, snippet)


@dataclass
class MemberProgress:
    user_id: int
    login: str
    display_name: str
    units: list[str]
    opened: int
    studied: int
    notes: int
    items: int

    @property
    def percent(self) -> int:
        return round(100 * self.studied / self.items) if self.items else 0


class ReadingListService:
    def __init__(self, store: DocumentStore, accounts: AccountService, search: SearchService | None = None):
        self.store = store
        self.sessions = store.sessions
        self.accounts = accounts
        self.search = search

    # --- permissions ------------------------------------------------------------------------------------

    def _unit_path(self, unit_id: int | None) -> str | None:
        if unit_id is None:
            return None
        with self.sessions() as session:
            unit = session.get(Unit, unit_id)
        if unit is None:
            raise NotFoundError(f"no unit {unit_id}")
        return unit.path

    def can_manage(self, who: Principal, reading_list: ReadingList) -> bool:
        with self.sessions() as session:
            return may_manage(who, session, reading_list.owner_id, reading_list.unit_id)

    @staticmethod
    def _assigned(who: Principal):
        """A subquery of the ids of the lists assigned to ``who``: directly, or to one of their units or above."""
        above = units_at_or_above(who)
        return select(ReadingAssignment.list_id).where(or_(
            ReadingAssignment.user_id == who.id, ReadingAssignment.unit_id.in_(above) if above else false()))

    def _assigned_ids(self, who: Principal) -> set[int]:
        """Ids of the lists assigned to ``who``."""
        with self.sessions() as session:
            return set(session.scalars(self._assigned(who)))

    def get(self, who: Principal, list_id: int) -> ReadingList:
        with self.sessions() as session:
            reading_list = session.get(ReadingList, list_id)
        if reading_list is None or not (self.can_manage(who, reading_list) or list_id in self._assigned_ids(who)):
            raise NotFoundError(f"no reading list {list_id}")
        return reading_list

    def _managed(self, who: Principal, list_id: int) -> ReadingList:
        reading_list = self.get(who, list_id)
        if not self.can_manage(who, reading_list):
            raise PermissionDenied("only the list's organisers can change it")
        return reading_list

    # --- lists ---------------------------------------------------------------------------------------------

    def create(self, who: Principal, title: str, description: str = "", unit_id: int | None = None) -> ReadingList:
        if not may_organise(who):
            raise PermissionDenied("only organisers and admins build reading lists")
        if not title.strip() or len(title) > 200:
            raise ReadingListError("a reading list needs a title of at most 200 characters")
        if unit_id is None and not who.is_admin:
            unit_id = who.units[0][0] if who.units else None
        path = self._unit_path(unit_id)
        if path is not None and not who.manages(path):
            raise PermissionDenied("you can host a list only in a unit you manage")
        with self.sessions.begin() as session:
            reading_list = ReadingList(title=title.strip(), description=description, owner_id=who.id,
                                       unit_id=unit_id, created_at=utcnow(), updated_at=utcnow())
            session.add(reading_list)
        return reading_list

    MAX_DRAFT_CHOICES = 200

    def create_from_draft(self, who: Principal, title: str, description: str, unit_id: int | None,
                          choices: list[str]) -> ReadingList:
        """A list built from a drafted topic: ``choices`` are "document:<id>" or "passage:<id>", in order
        (at most ``MAX_DRAFT_CHOICES``; anything else is refused before the list is made)."""
        picked = []
        for choice in choices:
            kind, _, target = choice.partition(":")
            if kind not in ("document", "passage") or not target:
                raise ReadingListError(f"{choice!r} is not a document or passage of the draft")
            picked.append((kind, target))
        if len(picked) > self.MAX_DRAFT_CHOICES:
            raise ReadingListError(f"a drafted list takes at most {self.MAX_DRAFT_CHOICES} items")
        created = self.create(who, title, description, unit_id)
        for kind, target in picked:
            if kind == "document":
                self.add_item(who, created.id, "document", document_id=target)
            else:
                self.add_item(who, created.id, "passage", passage_id=target)
        return created

    def lists_for(self, who: Principal) -> tuple[list[ReadingList], list[ReadingList]]:
        """(lists assigned to ``who``, lists ``who`` manages), newest first: two queries."""
        newest = (ReadingList.created_at.desc(), ReadingList.id.desc())
        with self.sessions() as session:
            assigned = list(session.scalars(select(ReadingList).where(
                ReadingList.id.in_(self._assigned(who))).order_by(*newest)))
            managed = list(session.scalars(select(ReadingList).where(
                manageable(who, ReadingList.owner_id, ReadingList.unit_id)).order_by(*newest)))
        return assigned, managed

    def studied_counts(self, who: Principal, list_ids) -> dict[int, int]:
        """Per list, how many of its items ``who`` marked studied (one query)."""
        with self.sessions() as session:
            return dict(session.execute(select(ReadingItem.list_id, func.count()).join(
                ItemProgress, ItemProgress.item_id == ReadingItem.id).where(
                ItemProgress.user_id == who.id, ItemProgress.studied_at.is_not(None),
                ReadingItem.list_id.in_(list(list_ids))).group_by(ReadingItem.list_id)).all())

    def delete(self, who: Principal, list_id: int) -> None:
        self._managed(who, list_id)
        with self.sessions.begin() as session:
            session.delete(session.get(ReadingList, list_id))
        self.accounts.audit("reading_list_deleted", who.id, f"reading_list:{list_id}")

    # --- items ---------------------------------------------------------------------------------------------

    def add_item(self, who: Principal, list_id: int, kind: str, *, document_id: str | None = None,
                 passage_id: str | None = None, heading_path: str = "", query: str = "", guide: str = "",
                 due: str | None = None, title: str = "") -> ReadingItem:
        self._managed(who, list_id)
        if kind not in ITEM_KINDS:
            raise ReadingListError(f"an item is one of {', '.join(ITEM_KINDS)}")
        if due:
            try:
                date.fromisoformat(due)
            except ValueError as exc:
                raise ReadingListError(f"due date {due!r} is not YYYY-MM-DD") from exc
        if kind == "search":
            if not query.strip():
                raise ReadingListError("a saved search needs a query")
            try:
                parse_query(query)
            except QueryError as exc:
                raise ReadingListError(f"the saved search does not parse: {exc}") from exc
            title = title or query
        elif kind == "passage":
            passage, document, _, _ = self.store.passage_in_context(passage_id or "")
            document_id, heading_path = document.id, passage.heading_path
            title = title or f"{document.title}：{passage.heading_path or passage.text[:20]}"
        else:
            document = self.store.get_document(document_id or "")
            if kind == "section":
                first = next((p for p in document.passages if _under(p.heading_path, heading_path)), None)
                if not heading_path or first is None:
                    raise ReadingListError(f"no section {heading_path!r} in {document.id}")
                passage_id = first.id
                title = title or f"{document.title}：{heading_path.split(HEADING_SEPARATOR)[-1]}"
            else:
                passage_id, heading_path = None, ""
                title = title or document.title
        with self.sessions.begin() as session:
            # Touching the list first locks it: two items added at once get two places, one after the other.
            session.execute(update(ReadingList).where(ReadingList.id == list_id).values(updated_at=utcnow()))
            position = (session.scalar(select(func.max(ReadingItem.position)).where(
                ReadingItem.list_id == list_id)) or 0) + 1
            item = ReadingItem(list_id=list_id, position=position, kind=kind, document_id=document_id,
                               passage_id=passage_id, heading_path=heading_path, query=query.strip(),
                               title=title[:500], guide=guide, due=due or None)
            session.add(item)
        return item

    def remove_item(self, who: Principal, list_id: int, item_id: int) -> None:
        self._managed(who, list_id)
        with self.sessions.begin() as session:
            session.execute(delete(ReadingItem).where(ReadingItem.id == item_id, ReadingItem.list_id == list_id))

    def move_item(self, who: Principal, list_id: int, item_id: int, step: int) -> None:
        """Move an item up (step -1) or down (+1)."""
        self._managed(who, list_id)
        with self.sessions.begin() as session:
            items = list(session.scalars(select(ReadingItem).where(ReadingItem.list_id == list_id)
                                         .order_by(ReadingItem.position)))
            index = next((i for i, item in enumerate(items) if item.id == item_id), None)
            if index is None:
                raise NotFoundError(f"no item {item_id} in list {list_id}")
            other = index + step
            if 0 <= other < len(items):  # through a free place: each place holds one item at every moment
                mine, theirs = items[index].position, items[other].position
                items[index].position = -items[index].id
                session.flush()
                items[other].position = mine
                session.flush()
                items[index].position = theirs

    # --- assignment and progress ------------------------------------------------------------------------------

    def assign(self, who: Principal, list_id: int, unit_ids: list[int] = (), logins: list[str] = ()) -> None:
        self._managed(who, list_id)
        for unit_id in unit_ids:
            if not who.manages(self._unit_path(unit_id)):
                raise PermissionDenied(f"unit {unit_id} is not one you manage")
        found = self.accounts.managed_members(who, logins)
        if unknown := sorted(set(logins) - set(found)):  # unknown and foreign logins alike: no probing
            raise NotFoundError(f"not members of a unit you manage: {', '.join(unknown)}")
        users = list(found.values())
        with self.sessions.begin() as session:  # assigning twice (or twice at once) keeps one assignment
            for unit_id in dict.fromkeys(unit_ids):
                session.execute(insert_new(session, ReadingAssignment).values(
                    list_id=list_id, unit_id=unit_id, assigned_at=utcnow()))
            for user in users:
                session.execute(insert_new(session, ReadingAssignment).values(
                    list_id=list_id, user_id=user.id, assigned_at=utcnow()))

    def item_of(self, who: Principal, item_id: int) -> ReadingItem:
        """An item of a list ``who`` may see (NotFoundError otherwise)."""
        with self.sessions() as session:
            item = session.get(ReadingItem, item_id)
        if item is None:
            raise NotFoundError(f"no reading item {item_id}")
        self.get(who, item.list_id)
        return item

    def record_open(self, who: Principal, item_id: int) -> ReadingItem:
        """Called when a member opens an item through the list: the server's evidence that it was read."""
        item = self.item_of(who, item_id)
        if item.list_id in self._assigned_ids(who):
            now = utcnow()
            with self.sessions.begin() as session:  # two tabs at once: one row, the first time kept
                if not session.execute(insert_new(session, ItemProgress).values(
                        user_id=who.id, item_id=item_id, opened_at=now)).rowcount:
                    session.execute(update(ItemProgress).where(
                        ItemProgress.user_id == who.id, ItemProgress.item_id == item_id,
                        ItemProgress.opened_at.is_(None)).values(opened_at=now))
        return item


    def mark(self, who: Principal, item_id: int, studied: bool = True) -> None:
        item = self.item_of(who, item_id)
        if item.list_id not in self._assigned_ids(who):
            raise PermissionDenied("this list is not assigned to you")
        with self.sessions.begin() as session:
            row = session.get(ItemProgress, (who.id, item_id))
            if row is None:
                row = ItemProgress(user_id=who.id, item_id=item_id)
                session.add(row)
            row.studied_at = utcnow() if studied else None

    def my_progress(self, who: Principal, list_id: int) -> dict[int, ItemProgress]:
        with self.sessions() as session:
            rows = session.scalars(select(ItemProgress).join(ReadingItem, ReadingItem.id == ItemProgress.item_id)
                                   .where(ItemProgress.user_id == who.id, ReadingItem.list_id == list_id))
            return {row.item_id: row for row in rows}

    def assignees(self, list_id: int) -> list[tuple[User, list[str]]]:
        """Everyone the list is assigned to (directly, or through a unit or a unit above theirs)."""
        with self.sessions() as session:
            assignments = list(session.scalars(select(ReadingAssignment).where(ReadingAssignment.list_id == list_id)))
        user_ids = {a.user_id for a in assignments if a.user_id} | \
            self.accounts.member_ids(a.unit_id for a in assignments if a.unit_id)
        with self.sessions() as session:
            users = list(session.scalars(select(User).where(User.id.in_(user_ids)).order_by(User.login)))
            names = defaultdict(list)
            for user_id, name in session.execute(select(Membership.user_id, Unit.name).join(
                    Unit, Unit.id == Membership.unit_id).where(Membership.user_id.in_(user_ids))):
                names[user_id].append(name)
        return [(user, names[user.id]) for user in users]

    def progress(self, who: Principal, list_id: int) -> list[MemberProgress]:
        """Per assignee: items opened and marked studied, and the notes on the list's documents since it began
        that ``who`` may read (shared with the unit or its organisers; never private ones)."""
        reading_list = self._managed(who, list_id)
        item_ids = [item.id for item in reading_list.items]
        documents = {item.document_id for item in reading_list.items if item.document_id}
        people = self.assignees(list_id)
        with self.sessions() as session:
            rows = list(session.scalars(select(ItemProgress).where(ItemProgress.item_id.in_(item_ids)))) \
                if item_ids else []
            # Only the notes the viewer may read: a member's private notes are nobody else's business.
            notes = dict(session.execute(select(Note.owner_id, func.count()).where(
                Note.document_id.in_(documents), Note.created_at >= reading_list.created_at,
                visible_notes(who, self.accounts)).group_by(Note.owner_id)).all()) if documents else {}
        opened, studied = defaultdict(int), defaultdict(int)
        for row in rows:
            opened[row.user_id] += row.opened_at is not None
            studied[row.user_id] += row.studied_at is not None
        return [MemberProgress(user.id, user.login, user.display_name, units, opened[user.id], studied[user.id],
                               notes.get(user.id, 0), len(item_ids)) for user, units in people]

    # --- drafting from a topic ----------------------------------------------------------------------------

    def draft(self, topic: str, per_level: int = 4, passages_per_document: int = 3) -> list[Proposal]:
        """The documents most relevant to ``topic``, central level first, newest first within a level."""
        if self.search is None:
            raise ReadingListError("drafting needs the search index")
        found = self.search.search(SearchRequest(topic, limit=100, facets=False))
        by_document: dict[str, Proposal] = {}
        for hit in found.results:
            proposal = by_document.get(hit.doc_id)
            if proposal is None:
                proposal = by_document[hit.doc_id] = Proposal(hit.level, hit.doc_id, hit.title, hit.doc_number,
                                                              hit.date)
            if len(proposal.passages) < passages_per_document:
                proposal.passages.append((hit.passage_id, hit.heading_path, hit.snippet))
        ordered: list[Proposal] = []
        for level in (*LEVELS, None):
            at_level = [p for p in by_document.values() if p.level == level]
            ordered += sorted(at_level, key=lambda p: p.date or "", reverse=True)[:per_level]
        return ordered

    # --- reading the items --------------------------------------------------------------------------------

    def item_passages(self, item: ReadingItem, limit: int = 10) -> list[tuple[PassageRow, Document]]:
        """The original text an item stands for, in reading order (a saved search: its best passages)."""
        if item.kind == "search":
            if self.search is None:
                return []
            hits = self.search.search(SearchRequest(item.query, limit=limit, facets=False)).results
            rows = self.store.passages_by_id(h.passage_id for h in hits)
            return [rows[h.passage_id] for h in hits if h.passage_id in rows]
        try:
            document = self.store.get_document(item.document_id or "")
        except NotFoundError:
            return []
        if item.kind == "passage":
            chosen = [p for p in document.passages if p.id == item.passage_id]
        elif item.kind == "section":
            chosen = [p for p in document.passages if _under(p.heading_path, item.heading_path)]
        else:
            chosen = list(document.passages)
        return [(p, document) for p in chosen]


def _under(heading_path: str, section: str) -> bool:
    return bool(section) and (heading_path == section or heading_path.startswith(section + HEADING_SEPARATOR))


MOVED_SIMILARITY = 0.6  # a changed passage is "the same one" if this much of the old text is in it


def orphan_items_in(session: Session, document_id: str) -> int:
    """The reading-list items of a removed document, kept and shown as orphaned (in the caller's transaction)."""
    return session.execute(update(ReadingItem).where(ReadingItem.document_id == document_id,
                                                      ReadingItem.orphaned.is_(False))
                           .values(orphaned=True)).rowcount


def reanchor_items_in(session: Session, document_id: str, previous: dict[str, tuple[str, str]]) -> dict[str, int]:
    """Point the reading-list items of a changed document at its new passages (in the caller's transaction).

    A passage item follows its passage: the same text keeps its id; an edited passage is the new one that
    shares most of its text (at least ``MOVED_SIMILARITY``); otherwise the item is orphaned, kept and shown as
    such. A section item follows its heading path to the section's new first passage. Returns counts.
    """
    from difflib import SequenceMatcher

    passages = list(session.execute(select(PassageRow.id, PassageRow.text, PassageRow.heading_path).where(
        PassageRow.document_id == document_id).order_by(PassageRow.ordinal)))
    current = {p.id for p in passages}
    counts = {"kept": 0, "moved": 0, "orphaned": 0}
    for item in session.scalars(select(ReadingItem).where(ReadingItem.document_id == document_id,
                                                          ReadingItem.kind.in_(("passage", "section")))):
        target = None
        if item.kind == "section":
            target = next((p.id for p in passages if _under(p.heading_path, item.heading_path)), None)
        elif item.passage_id in current:
            target = item.passage_id
        elif item.passage_id in previous:
            old_text = previous[item.passage_id][0]
            scored = [(SequenceMatcher(None, old_text, p.text, autojunk=False).ratio(), p.id) for p in passages
                      if SequenceMatcher(None, old_text, p.text).real_quick_ratio() >= MOVED_SIMILARITY]
            best = max(scored, default=(0.0, None))
            target = best[1] if best[0] >= MOVED_SIMILARITY else None
        if target is None:
            counts["orphaned"] += not item.orphaned
            item.orphaned = True
            continue
        counts["kept" if target == item.passage_id and not item.orphaned else "moved"] += 1
        item.passage_id, item.orphaned = target, False
    session.flush()
    return counts
