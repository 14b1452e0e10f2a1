"""The promises of issues 15 and 19 across two worker processes of a real server, not only across threads of one.

A sign-in limit, a once-per-member check-in, a wrong-code limit, one reply per double post, one audited hiding
and one read mark per member are held by the database (a row written before the attempt is judged, one
conditional insert or update, one upsert), so which process answers must not matter; and a document saved while
another process saves the one it cites still finds it (the writers of documents take one lock).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
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
    home, passages = writer_home(tmp_path_factory.mktemp("races"))
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
    yield {"home": home, "url": url, "session": study.id, "passage": passages[0]}
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



def test_discussion_under_a_shared_note_holds_its_promises_whichever_process_answers(served) -> None:
    """Double posts make one reply each, eight clicks on "hide" make one audited change, and parallel visits
    leave one read mark per member at the newest reply."""
    url = served["url"]
    author, author_csrf = client_of(url, "member0")
    branch = author.get("/api/me").json()["units"][0]["id"]
    note = author.post("/api/notes", headers={"X-CSRF-Token": author_csrf}, json={
        "passage_id": served["passage"], "start": 0, "end": 4, "body": "两个进程下的讨论", "visibility": "unit",
        "unit_id": branch})
    assert note.status_code == 201, note.text
    note_id = note.json()["id"]
    repliers = [client_of(url, f"member{n}") for n in range(1, 5)]

    def post(replier, body="=HYPERLINK(\"http://x\")<script>alert(1)</script> 同意"):
        client, csrf = replier
        return client.post(f"/api/notes/{note_id}/replies", json={"body": body},
                           headers={"X-CSRF-Token": csrf})

    with ThreadPoolExecutor(8) as pool:  # four members, each posting the same reply twice at once
        answers = list(pool.map(post, repliers + repliers))
    assert sorted(answer.status_code for answer in answers) == [200] * 4 + [201] * 4, [a.text for a in answers]
    replies = home_rows(served["home"], "SELECT id, author_id FROM note_replies WHERE note_id = :n", n=note_id)
    assert len(replies) == 4 and len({author_id for _, author_id in replies}) == 4
    assert {answer.json()["id"] for answer in answers} == {reply_id for reply_id, _ in replies}

    first = min(reply_id for reply_id, _ in replies)
    with ThreadPoolExecutor(8) as pool:  # the note's author clicks "hide" eight times
        hidden = list(pool.map(lambda _: author.post(f"/api/notes/{note_id}/replies/{first}/hide", json={},
                                                     headers={"X-CSRF-Token": author_csrf}), range(8)))
    assert [answer.status_code for answer in hidden] == [200] * 8 and all(a.json()["hidden"] for a in hidden)
    audited = home_rows(served["home"], "SELECT count(*) FROM audit_log WHERE action = 'reply_hidden' "
                                        "AND subject = :s", s=f"reply:{first}")
    assert audited == [(1,)]

    readers = [client_of(url, f"member{n}") for n in range(5, 9)]
    with ThreadPoolExecutor(8) as pool:  # four members open the thread twice at once
        opened = list(pool.map(lambda reader: reader[0].get(f"/api/notes/{note_id}/replies"), readers + readers))
    assert [answer.status_code for answer in opened] == [200] * 8
    marks = home_rows(served["home"], "SELECT user_id, last_seen_reply_id FROM note_reads WHERE note_id = :n",
                      n=note_id)
    assert len(marks) == 4 and {seen for _, seen in marks} == {max(reply_id for reply_id, _ in replies)}
    assert {reader[0].get("/api/notes/unread").json()["shared"] for reader in readers} == {0}


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


INGESTER = """
import sys
import time
from pathlib import Path
from study_hub.config import Settings
from study_hub.pipeline import ingest_paths
from study_hub.store import open_store
settings = Settings(home=Path(sys.argv[1]), semantic=False)
time.sleep(max(0.0, float(sys.argv[3]) - time.time()))  # both start at the same moment, imports done
report = ingest_paths([Path(sys.argv[2])], open_store(settings), settings)
print("ok" if report.ok else report.failures)
"""
PLACES = [side + place for side in "东西南北中" for place in "城湖山河桥港林川"]  # forty


def _rules_folder(root, name: str, documents: list[tuple[str, str, str]]):
    """A folder of small district rules with their catalog: (id, title, text) each."""
    folder = root / name
    folder.mkdir()
    catalog = []
    for doc_id, title, body in documents:
        (folder / f"{doc_id}.txt").write_text(body, encoding="utf-8")
        catalog.append(json.dumps({"file": f"{doc_id}.txt", "id": doc_id, "title": title, "issuer": "某区人民政府",
                                   "level": "district", "kind": "regulation", "date": "2024-03-01"},
                                  ensure_ascii=False))
    (folder / "catalog.jsonl").write_text("\n".join(catalog) + "\n", encoding="utf-8")
    return folder


def test_a_document_saved_while_another_process_saves_the_one_it_cites_resolves(tmp_path) -> None:
    """Two processes ingest at once: one forty rules that cite an article of a measure, the other those forty
    measures. Whichever commits first, every reference ends resolved to its article (on PostgreSQL, without the
    writers' lock, a rule saved beside its measure would see neither the measure nor be seen by it)."""
    citing = _rules_folder(tmp_path, "rules", [
        (f"rule-{n}", f"{place}社区议事规则", f"{place}社区议事规则\n\n第一条 为规范议事，根据《{place}物业服务办法》第二条，"
                                         f"制定本规则。\n\n第二条 议事会每季度召开一次。\n")
        for n, place in enumerate(PLACES)])
    cited = _rules_folder(tmp_path, "measures", [
        (f"measure-{n}", f"{place}物业服务办法", f"{place}物业服务办法\n\n第一条 为规范物业服务，制定本办法。\n\n"
                                            f"第二条 业主大会依法选举业主委员会。\n\n第三条 本办法自公布之日起施行。\n")
        for n, place in enumerate(PLACES)])
    home = tmp_path / "home"
    store = open_store(Settings(home=home, semantic=False))  # migrated before the two writers start
    store.engine.dispose()
    start_at = str(time.time() + 5)
    processes = [subprocess.Popen([sys.executable, "-c", INGESTER, str(home), str(folder), start_at],
                                  env={**os.environ, **database_env(home)}, stdout=subprocess.PIPE, text=True)
                 for folder in (citing, cited)]
    assert [process.communicate(timeout=300)[0].strip() for process in processes] == ["ok", "ok"]
    references = home_rows(home, "SELECT document_id, kind, to_document_id, to_passage_id, resolution "
                                 "FROM citations WHERE document_id LIKE 'rule-%' AND target LIKE '%物业服务办法'")
    # Each rule cites the measure by its title and by its article 第二条.
    assert sorted(kind for _, kind, *_ in references) == ["article"] * len(PLACES) + ["title"] * len(PLACES)
    assert all(to_doc == f"measure-{doc[5:]}" and resolution != "unresolved" and (kind == "title" or to_passage)
               for doc, kind, to_doc, to_passage, resolution in references), references

