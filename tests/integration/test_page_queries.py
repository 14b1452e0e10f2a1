"""The sessions, lists and notes pages do a bounded number of queries, however many rows there are.

Fails before issue 15: ``sessions_for`` and ``lists_for`` scanned every session and list with queries per row
(200 sessions: thousands of queries), and the notes page loaded up to 10,000 notes for its two dropdowns.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event
from support import A1, DOC

from study_hub.store.models import Note, ReadingAssignment, ReadingList, SessionInvitee, StudySession, utcnow

SESSIONS, LISTS, NOTES = 200, 50, 5000
BOUND = 30  # queries per page, whatever the numbers above


@pytest.fixture(scope="module")
def crowded(world):
    """A branch with 200 sessions and 50 lists addressed to it, and 5,000 notes of one member (bulk inserts)."""
    store, accounts = world["store"], world["accounts"]
    branch = accounts.unit_by_path(A1).id
    organiser = accounts.get_user("org_a").id
    member = accounts.get_user("a").id
    passage = store.get_document(DOC).passages[2]
    later = utcnow() + timedelta(days=30)
    with store.sessions.begin() as session:
        studies = [StudySession(title=f"学习会{n}", kind="thematic", starts_at=later + timedelta(hours=n),
                                ends_at=later + timedelta(hours=n, minutes=90), host_unit_id=branch,
                                created_by=organiser) for n in range(SESSIONS)]
        lists = [ReadingList(title=f"清单{n}", owner_id=organiser, unit_id=branch) for n in range(LISTS)]
        session.add_all(studies + lists)
        session.flush()
        session.add_all([SessionInvitee(session_id=s.id, unit_id=branch) for s in studies])
        session.add_all([ReadingAssignment(list_id=r.id, unit_id=branch) for r in lists])
        session.add_all([Note(owner_id=member, document_id=DOC, passage_id=passage.id, start=0, end=4,
                              quote=passage.text[:4], body=f"笔记{n}") for n in range(NOTES)])
    return world


def queries_for(world, login: str, path: str) -> int:
    engine = world["app"].state.context.store.engine
    count = 0

    def counted(*_):
        nonlocal count
        count += 1

    world["clients"][login].get(path)  # once to warm what is cached per process
    event.listen(engine, "before_cursor_execute", counted)
    try:
        response = world["clients"][login].get(path)
    finally:
        event.remove(engine, "before_cursor_execute", counted)
    assert response.status_code == 200, response.text[:300]
    return count


@pytest.mark.parametrize("login", ["a", "org_a"])
@pytest.mark.parametrize("path", ["/sessions", "/lists", "/notes"])
def test_pages_do_a_bounded_number_of_queries(crowded, login, path) -> None:
    assert queries_for(crowded, login, path) <= BOUND


def test_the_pages_still_show_everything(crowded) -> None:
    a = crowded["clients"]["a"]
    assert a.get("/sessions").text.count('href="/sessions/') >= SESSIONS
    assert a.get("/lists").text.count('href="/lists/') >= LISTS
    assert "笔记4999" in a.get("/notes", params={"q": "笔记4999"}).text
