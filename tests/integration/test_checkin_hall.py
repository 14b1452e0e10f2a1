"""Check-in at the size of a real meeting, in parallel, and under guessing (SQLite and PostgreSQL).

Each test here fails on the main before issue 15: a code worked once (one member per screen refresh, and two
members posting the same code at once could both be recorded), and wrong short codes had no limit.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from support import PASSWORD, add_members_fast

from study_hub.store.models import Attendance, User
from study_hub.webapp.deps import SESSION_COOKIE

START = datetime(2027, 3, 1, 6, 30, tzinfo=UTC)
HALL = 300


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Member:
    """A signed-in browser of one member: its cookie and the CSRF token of its sign-in session."""

    def __init__(self, app, accounts, user: User):
        self.login = user.login
        token, self.csrf = accounts.start_session(user)
        self.client = TestClient(app)
        self.client.cookies.set(SESSION_COOKIE, token)

    def post(self, path: str, **body):
        return self.client.post(path, json=body, headers={"X-CSRF-Token": self.csrf})


@pytest.fixture(scope="module")
def hall(world):
    """A branch of 300 members (added straight to the store: one password hash for all, to keep setup quick),
    the organiser's screen and a clock the service reads."""
    accounts, store, app = world["accounts"], world["store"], world["app"]
    unit = accounts.add_unit("机关大党委", "branch", "迎泽区委")
    members = [Member(app, accounts, user) for user in add_members_fast(accounts, store, unit.id, "m", HALL)]
    organiser = Member(app, accounts, accounts.get_user("admin"))
    clock = Clock(START - timedelta(minutes=20))
    app.state.context.study_sessions.clock = clock
    return {"members": members, "organiser": organiser, "clock": clock, "store": store, "unit": unit.id}


@pytest.fixture
def meeting(hall) -> dict:
    """A session of each test's own for the hall's branch (so the tests pass in any order), the clock 20 minutes
    before it starts."""
    hall["clock"].now = START - timedelta(minutes=20)
    created = hall["organiser"].post("/api/sessions", title="全体党员大会", kind="branch_meeting",
                                     starts_at=START.isoformat(), ends_at=(START + timedelta(hours=2)).isoformat(),
                                     unit_ids=[hall["unit"]])
    assert created.status_code == 201, created.text
    expected = len(created.json()["attendance"])
    assert expected >= HALL  # the 300, and whoever another test added to the branch
    return {**hall, "session": created.json()["id"], "expected": expected}


def records(meeting) -> list[Attendance]:
    with meeting["store"].sessions() as session:
        return session.query(Attendance).filter_by(session_id=meeting["session"]).all()


def test_a_hall_of_300_checks_in_from_one_screen_within_two_minutes(meeting) -> None:
    sid, clock, members = meeting["session"], meeting["clock"], meeting["members"]
    batches = [members[i:i + 25] for i in range(0, HALL, 25)]  # 12 screens' worth, 5 s apart: one minute
    arrived = 0
    with ThreadPoolExecutor(8) as pool:
        for batch in batches:
            clock.now += timedelta(seconds=5)
            code = meeting["organiser"].post(f"/api/sessions/{sid}/checkin-code").json()
            # the screen's tally and countdown: the members checked in so far, of all expected
            assert (code["checked_in"], code["expected"]) == (arrived, meeting["expected"])
            assert 0 < code["seconds_left"] <= 60
            answers = list(pool.map(lambda m, c=code: m.post(f"/api/sessions/{sid}/checkin", code=c["code"]), batch))
            assert [a.status_code for a in answers] == [200] * len(batch), [a.text for a in answers if a.is_error]
            arrived += len(batch)
    assert meeting["organiser"].post(f"/api/sessions/{sid}/checkin-code").json()["checked_in"] == HALL
    assert clock.now - (START - timedelta(minutes=20)) <= timedelta(minutes=2)
    found = records(meeting)
    assert len(found) == HALL and {r.status for r in found} == {"present"}
    assert len({r.user_id for r in found}) == HALL  # every member exactly once


def test_one_member_posting_five_times_at_once_is_recorded_once(world, meeting) -> None:
    sid, clock, first = meeting["session"], meeting["clock"], meeting["members"][0]
    accounts = world["accounts"]
    member = Member(world["app"], accounts, accounts.add_user("eager", "心急者", PASSWORD, "member",
                                                              ["迎泽区委/机关大党委"]))
    clock.now = START - timedelta(minutes=10)  # one member on time, before the eager one
    early = meeting["organiser"].post(f"/api/sessions/{sid}/checkin-code").json()
    assert first.post(f"/api/sessions/{sid}/checkin", code=early["code"]).status_code == 200
    clock.now = START + timedelta(minutes=10)
    code = meeting["organiser"].post(f"/api/sessions/{sid}/checkin-code").json()
    start = threading.Barrier(5)

    def post(_):
        start.wait()
        return member.post(f"/api/sessions/{sid}/checkin", token=code["token"])

    with ThreadPoolExecutor(5) as pool:
        answers = list(pool.map(post, range(5)))
    assert [a.status_code for a in answers] == [200] * 5, [a.text for a in answers]
    user_id = accounts.get_user("eager").id
    assert [r.status for r in records(meeting) if r.user_id == user_id] == ["late"]
    assert len(records(meeting)) == 2  # and nobody else's record moved
    again = first.post(f"/api/sessions/{sid}/checkin", token=code["token"])
    assert again.json()["attendance"][0]["status"] == "present"  # checked in before: stays present, not late


def test_short_codes_cannot_be_guessed(world, meeting) -> None:
    sid, clock, hall = meeting["session"], meeting["clock"], meeting
    accounts, app = world["accounts"], world["app"]
    unit = accounts.unit_by_path("迎泽区委/机关大党委")
    latecomer_user = accounts.add_user("latecomer", "迟到者", PASSWORD, "member", ["迎泽区委/机关大党委"])
    assert unit is not None
    guesser = Member(app, accounts, latecomer_user)
    clock.now = START + timedelta(minutes=20)
    right = hall["organiser"].post(f"/api/sessions/{sid}/checkin-code").json()["code"]
    wrong = [f"{(int(right) + n) % 10**6:06d}" for n in range(1, 9)]
    with ThreadPoolExecutor(8) as pool:  # eight guesses at once
        answers = list(pool.map(lambda c: guesser.post(f"/api/sessions/{sid}/checkin", code=c), wrong))
    assert all(a.status_code == 400 for a in answers)
    locked = guesser.post(f"/api/sessions/{sid}/checkin", code=right)  # even the right code waits now
    assert locked.status_code == 400 and "too many wrong codes" in locked.json()["message"]
    clock.now += timedelta(minutes=11)
    fresh = hall["organiser"].post(f"/api/sessions/{sid}/checkin-code").json()["code"]
    assert guesser.post(f"/api/sessions/{sid}/checkin", code=fresh).json()["attendance"][0]["status"] == "late"
