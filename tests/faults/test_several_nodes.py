"""Two nodes: two `study-hub serve` processes, each with its own home, on one PostgreSQL, one job queue on Redis
and one shared generations folder (``STUDY_HUB_INDEXES_DIR``; NFS in a deployment).

A generation the job worker (on node A) builds once is served by both; a note written through one node is read
through the other; a check-in code minted on one works, once, on the other.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import redis
from sqlalchemy import create_engine, text
from support import csrf_of, sign_in

from study_hub.accounts import AccountService
from study_hub.config import Settings
from study_hub.store import open_store
from study_hub.store.models import utcnow
from study_hub.study.sessions import SessionService

# Its own PostgreSQL database whatever the backend under test: once, in the first run of `make test`.
pytestmark = [pytest.mark.postgres, pytest.mark.sqlite_only]
CORPUS = Path(__file__).resolve().parents[2] / "corpus" / "docs"
QUEUE = "redis://127.0.0.1:6379/12"
PASSWORD = "a-long-password"


def _node(home: Path, shared: Path, database_url: str, worker: bool) -> tuple[subprocess.Popen, str, dict]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "STUDY_HUB_HOME": str(home), "STUDY_HUB_DATABASE_URL": database_url,
           "STUDY_HUB_QUEUE_URL": QUEUE, "STUDY_HUB_INDEXES_DIR": str(shared / "indexes"),
           "STUDY_HUB_UPLOADS_DIR": str(shared / "uploads"), "STUDY_HUB_SEMANTIC": "false",
           "STUDY_HUB_SECRET_KEY": "one-secret-for-every-node-of-this-test-site"}
    command = [sys.executable, "-c", "from study_hub.cli import run; run()", "serve", "--port", str(port)]
    server = subprocess.Popen(command + ([] if worker else ["--no-job-worker"]), env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                return server, url, env
        except httpx.HTTPError:
            time.sleep(0.1)
    server.kill()
    raise AssertionError("a node did not start")


@pytest.fixture
def site(tmp_path: Path, fresh_pg_url: str):
    redis.Redis.from_url(QUEUE).flushdb()
    shared = tmp_path / "shared"
    settings = Settings(home=tmp_path / "a", database_url=fresh_pg_url, indexes_dir=shared / "indexes")
    store = open_store(settings)
    accounts = AccountService(store)
    accounts.add_unit("区委", "district_committee")
    accounts.add_unit("支部", "branch", "区委")
    accounts.add_user("organiser", "组织员", PASSWORD, "organiser", ["区委"])
    accounts.add_user("member", "党员", PASSWORD, "member", ["区委/支部"])
    organiser = accounts.principal(accounts.get_user("organiser"))
    start_at = utcnow() + timedelta(minutes=5)
    session = SessionService(store, accounts).create(
        organiser, title="两个节点的学习会", kind="thematic", starts_at=start_at,
        ends_at=start_at + timedelta(hours=1), host_unit_id=accounts.unit_by_path("区委").id,
        unit_ids=[accounts.unit_by_path("区委/支部").id])
    store.engine.dispose()
    nodes = [_node(tmp_path / "a", shared, fresh_pg_url, worker=True),
             _node(tmp_path / "b", shared, fresh_pg_url, worker=False)]
    yield {"nodes": nodes, "shared": shared, "session": session.id, "database": fresh_pg_url}
    for server, _, _ in nodes:
        server.terminate()
    for server, _, _ in nodes:
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()


def _client(url: str, login: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=url, timeout=30)
    sign_in(client, login, PASSWORD)
    return client, csrf_of(client)


def test_two_nodes_serve_one_generation_and_share_what_people_write(site) -> None:
    (server_a, url_a, env_a), (_, url_b, _) = site["nodes"]
    # Documents arrive through node A's command line; the job goes on the Redis queue, A's worker builds once.
    ingest = subprocess.run([sys.executable, "-c", "from study_hub.cli import run; run()", "ingest", "--no-wait",
                             str(CORPUS / "central-law-urban-residents-committee-2018.txt"),
                             str(CORPUS / "provincial-reg-beijing-street-office-2019.txt")],
                            env=env_a, capture_output=True, text=True, timeout=120)
    assert ingest.returncode == 0, ingest.stderr
    deadline = time.monotonic() + 120
    answers = {}
    while time.monotonic() < deadline:
        answers = {url: httpx.get(f"{url}/api/search", params={"q": "街乡吹哨", "mode": "keyword"}).json()
                   for url in (url_a, url_b)}
        if all(a.get("total") for a in answers.values()):
            break
        time.sleep(0.5)
    first, second = answers[url_a], answers[url_b]
    assert first["total"] == second["total"] > 0
    assert first["generation"] == second["generation"]  # the same generation, from the shared folder
    assert [h["passage_id"] for h in first["results"]] == [h["passage_id"] for h in second["results"]]
    assert len(list((site["shared"] / "indexes").glob("gen-*"))) == 1  # built once
    with create_engine(site["database"]).connect() as connection:
        jobs = connection.execute(text("SELECT state FROM index_jobs")).scalars().all()
    assert jobs == ["done"]

    # A note written through node A is read through node B.
    member_a, csrf_a = _client(url_a, "member")
    passage = first["results"][0]["passage_id"]
    note = member_a.post("/api/notes", json={"passage_id": passage, "start": 0, "end": 4, "body": "两个节点都能看到"},
                         headers={"X-CSRF-Token": csrf_a})
    assert note.status_code in (200, 201), note.text
    member_b, csrf_b = _client(url_b, "member")
    read = member_b.get(f"/api/notes/{note.json()['id']}")
    assert read.status_code == 200 and read.json()["body"] == "两个节点都能看到"

    # A check-in code minted on node A works on node B, once.
    organiser, organiser_csrf = _client(url_a, "organiser")
    sid = site["session"]
    code = organiser.post(f"/api/sessions/{sid}/checkin-code", headers={"X-CSRF-Token": organiser_csrf}).json()
    for _ in range(2):
        answer = member_b.post(f"/api/sessions/{sid}/checkin", json={"code": code["code"]},
                               headers={"X-CSRF-Token": csrf_b})
        assert answer.status_code == 200, answer.text
    again = member_a.post(f"/api/sessions/{sid}/checkin", json={"code": code["code"]},
                          headers={"X-CSRF-Token": csrf_a})
    assert again.status_code == 200
    with create_engine(site["database"]).connect() as connection:
        recorded = connection.execute(text("SELECT status FROM attendance WHERE session_id = :sid"),
                                      {"sid": sid}).scalars().all()
    assert recorded == ["present"]
    assert server_a.poll() is None
