"""The promises of issue 15 across two worker processes of a real server, not only across threads of one.

A sign-in limit, a once-per-member check-in and a wrong-code limit are held by the database (a row written
before the attempt is judged, one conditional insert), so which process answers must not matter.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import pytest
from support import csrf_of, database_env, home_rows, sign_in
from test_server_killed import start, writer_home

from study_hub.accounts import AccountService
from study_hub.config import Settings
from study_hub.index.builder import update_indexes
from study_hub.store import open_store
from study_hub.store.models import utcnow
from study_hub.study.sessions import SessionService

PASSWORD = "a-long-password"
MEMBERS = 16


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A two-worker server; a branch of 16 members with a session starting in ten minutes."""
    home, _ = writer_home(tmp_path_factory.mktemp("races"))
    settings = Settings(home=home, semantic=False)
    store = open_store(settings)
    update_indexes(store, settings.indexes_dir)
    accounts = AccountService(store)
    accounts.add_unit("区委", "district_committee")
    accounts.add_unit("支部", "branch", "区委")
    accounts.add_user("organiser", "组织员", PASSWORD, "organiser", ["区委"])
    for n in range(MEMBERS):
        accounts.add_user(f"member{n}", f"党员{n}", PASSWORD, "member", ["区委/支部"])
    organiser = accounts.principal(accounts.get_user("organiser"))
    start_at = utcnow() + timedelta(minutes=10)
    study = SessionService(store, accounts).create(
        organiser, title="两个进程的学习会", kind="thematic", starts_at=start_at,
        ends_at=start_at + timedelta(hours=1), host_unit_id=accounts.unit_by_path("区委").id,
        unit_ids=[accounts.unit_by_path("区委/支部").id])
    store.engine.dispose()
    server, url = start(home, workers=2)
    yield {"home": home, "url": url, "session": study.id}
    server.terminate()
    server.wait(30)


def client_of(url: str, login: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=url, timeout=30)
    sign_in(client, login, PASSWORD)
    return client, csrf_of(client)


def test_parallel_wrong_passwords_across_processes_get_at_most_the_limit(served) -> None:
    start = threading.Barrier(8)

    def guess(_):
        client = httpx.Client(base_url=served["url"], timeout=30)
        token = client.get("/login").text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        start.wait()
        client.post("/login", data={"login": "writer", "password": "wrong-password-9", "csrf_token": token})

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(guess, range(8)))
    outcomes = [action for (action,) in home_rows(served["home"], "SELECT action FROM audit_log WHERE subject = :who "
                                                                  "AND action LIKE 'login%'", who="user:writer")]
    assert len(outcomes) == 8 and outcomes.count("login_failed") <= 5 and "login_attempt" not in outcomes


def test_members_check_in_once_whichever_process_answers(served) -> None:
    sid, url = served["session"], served["url"]
    organiser, organiser_csrf = client_of(url, "organiser")
    members = [client_of(url, f"member{n}") for n in range(MEMBERS)]
    code = organiser.post(f"/api/sessions/{sid}/checkin-code", headers={"X-CSRF-Token": organiser_csrf}).json()

    def check_in(member):
        client, csrf = member
        return client.post(f"/api/sessions/{sid}/checkin", json={"code": code["code"]},
                           headers={"X-CSRF-Token": csrf}).status_code

    with ThreadPoolExecutor(8) as pool:  # every member twice, all at once
        answers = list(pool.map(check_in, members + members))
    assert answers == [200] * (2 * MEMBERS)
    recorded = home_rows(served["home"], "SELECT user_id, status FROM attendance WHERE session_id = :sid", sid=sid)
    assert len(recorded) == MEMBERS and {status for _, status in recorded} == {"present"}


CLAIMER = """
import sys
from concurrent.futures import ThreadPoolExecutor
from study_hub.config import Settings
from study_hub.jobs.ledger import JobLedger
from study_hub.store import open_store
ledger = JobLedger(open_store(Settings(home=sys.argv[1])))
with ThreadPoolExecutor(4) as pool:
    if sys.argv[2] == "request":
        found = pool.map(lambda n: ledger.request("update", f"{sys.argv[3]}-{n}")[0], range(4))
    else:
        found = pool.map(lambda n: ledger.claim(int(sys.argv[2]), f"{sys.argv[3]}:{n}"), range(4))
print(" ".join(map(str, found)))
"""


def _in_two_processes(home, what: str) -> list[str]:
    processes = [subprocess.Popen([sys.executable, "-c", CLAIMER, str(home), what, f"w{n}"],
                                  env={**os.environ, **database_env(home)}, stdout=subprocess.PIPE, text=True)
                 for n in range(2)]
    return [found for process in processes for found in process.communicate(timeout=120)[0].split()]


def test_index_jobs_queue_once_and_run_once_across_two_processes(tmp_path) -> None:
    """Two worker processes, four threads each: eight requests queue one job, and one of eight claims wins."""
    from study_hub.jobs.ledger import JobLedger

    settings = Settings(home=tmp_path / "home")
    ledger = JobLedger(open_store(settings))
    asked = set(_in_two_processes(settings.home, "request"))
    assert len(asked) == 1 and ledger.queued() == [int(next(iter(asked)))]
    claims = _in_two_processes(settings.home, next(iter(asked)))
    assert claims.count("True") == 1 and claims.count("None") == 7, claims
    # A second job cannot start while that one runs, whichever process asks.
    second, _ = ledger.request("update", "upload")
    assert _in_two_processes(settings.home, str(second)) == ["False"] * 8
