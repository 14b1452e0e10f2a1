"""`study-hub demo` on a fresh home, as a person runs it (a process of its own, on the test run's database backend):
it creates what it says, refuses a second run without --force, its people sign in and must replace their
one-time passwords, and the record book of its past session and branch holds the demo's content."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from support import database_env

from study_hub import demo

SIGNED_IN = ("chenhong", "zhangwei")  # the demo people whose passwords the sign-in test replaces
ACCOUNT = re.compile(r"^  (\w+) +(\S{16})  (admin|organiser|member) ", re.MULTILINE)


def _demo(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from study_hub.cli import run; run()", "demo", *args],
        capture_output=True, text=True, timeout=600,
        # Keyword-only: the demo builds the keyword index itself and leaves the vectors to the job worker.
        env={**os.environ, "STUDY_HUB_HOME": str(home), "STUDY_HUB_SEMANTIC": "false", **database_env(home)})


def _login(client: TestClient, login: str, password: str):
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return client.post("/login", data={"login": login, "password": password, "csrf_token": token, "next": "/"},
                       follow_redirects=False)


def _own_password(client: TestClient, one_time: str, new: str = "my-own-demo-password") -> None:
    csrf = client.get("/api/me").json()["csrf_token"]
    changed = client.post("/api/me/password", headers={"X-CSRF-Token": csrf},
                          json={"current_password": one_time, "new_password": new})
    assert changed.status_code == 204, changed.text


def _text(content: bytes, kind: str) -> str:
    if kind == "pdf":
        from pypdf import PdfReader

        text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    else:
        from docx import Document as Docx

        document = Docx(io.BytesIO(content))
        text = "\n".join([p.text for p in document.paragraphs] +
                         [c.text for t in document.tables for r in t.rows for c in r.cells])
    return "".join(text.split())


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("demo") / "home"
    first = _demo(home)
    assert first.returncode == 0, first.stderr[-3000:]
    return home, first.stdout


def test_the_demo_creates_what_it_says(demo_home) -> None:
    from study_hub.config import Settings
    from study_hub.store import open_store

    home, out = demo_home
    assert "corpus: 72 documents ingested" in out and "keyword index: job 1:" in out
    accounts = dict((login, (password, role)) for login, password, role in ACCOUNT.findall(out))
    assert set(accounts) == {login for login, *_ in demo.PEOPLE}
    assert {role for _, role in accounts.values()} == {"admin", "organiser", "member"}
    assert len({password for password, _ in accounts.values()}) == 12  # each its own
    assert "units created: 13" in out and f"  {demo.OFFICE}/第三督导检查组" in out and f"  {demo.BRANCH}" in out
    assert "(7 expected: 4 on time, 1 late, 1 on leave (made up), 1 absent; minutes)" in out
    assert "http://127.0.0.1:8000/login" in out and "/record?format=pdf" in out

    store = open_store(Settings(home=home, semantic=False))
    from study_hub.accounts import AccountService

    service = AccountService(store)
    assert [path for _, path in service.list_units()] == sorted([
        demo.DISTRICT, demo.OFFICE, *(f"{demo.OFFICE}/{g}" for g in demo.WORKING_GROUPS + demo.STEERING_GROUPS),
        demo.STREET, demo.COMMUNITY, demo.BRANCH])
    for login, (password, role) in accounts.items():
        user = service.get_user(login)
        assert user.role == role
        if login not in SIGNED_IN:  # the sign-in test replaces theirs (tests run in any order)
            assert user.must_change_password and service.authenticate(login, password).login == login
    store.engine.dispose()


def test_a_second_run_is_refused_without_force(demo_home) -> None:
    home, _ = demo_home
    again = _demo(home)
    assert again.returncode == 2 and "already has 12 users" in again.stderr and "--force" in again.stderr
    assert "Traceback" not in again.stderr


def test_demo_people_sign_in_replace_their_password_and_find_real_content(demo_home) -> None:
    from study_hub.config import Settings
    from study_hub.webapp import create_app

    home, out = demo_home
    passwords = {login: password for login, password, _ in ACCOUNT.findall(out)}
    past = int(re.search(r"past session (\d+):", out).group(1))
    upcoming = int(re.search(r"upcoming session (\d+):", out).group(1))
    ledger = re.search(r"(/api/units/\d+/ledger\?period=\d{4}Q\d)&format=pdf", out).group(1)
    reading = int(re.search(r"reading list (\d+):", out).group(1))
    items = re.search(r"reading list \d+:.*?\n((?:  .*\n)+)past session", out).group(1).split("\n  ")
    app = create_app(Settings(home=home, semantic=False), encoder=None)

    secretary = TestClient(app)
    signed = _login(secretary, "chenhong", passwords["chenhong"])
    assert signed.status_code == 303 and signed.headers["location"].startswith("/account/password")
    assert secretary.get(f"/api/sessions/{past}").status_code == 403  # nothing before a password of one's own
    _own_password(secretary, passwords["chenhong"])
    session = secretary.get(f"/api/sessions/{past}").json()
    assert session["closed"] and session["presider"]["login"] == "chenhong" and session["recorder"]["login"] == "lina"
    assert "陈红同志领学" in session["minutes"]
    assert secretary.get(f"/api/sessions/{upcoming}").json()["reading_list_id"] == reading
    assert "<svg" in secretary.get("/attendance").text
    progress = secretary.get(f"/api/reading-lists/{reading}/progress").json()
    assert any(member["percent"] == 100 for member in progress["members"])

    for kind in ("pdf", "docx"):
        record = _text(secretary.get(f"/api/sessions/{past}/record", params={"format": kind}).content, kind)
        for expected in ("第一党支部党员大会：学习党建引领基层治理文件", "主持人陈红", "记录人李娜",
                         "应到7人，实到5人，迟到1人，请假1人，缺席1人", f"黄敏（{demo.LEAVE_REASON}）",
                         f"吴强（{demo.ABSENCE_REASON}）", "杨帆（", "学习清单：党建引领基层治理专题学习清单",
                         "陈红同志领学党建引领基层治理的有关文件原文", "黄敏（请假）", "王芳", "张伟",
                         *(title.split("：")[0].strip() for title in items)):
            assert "".join(expected.split()) in record, (kind, expected)
        book = _text(secretary.get(ledger, params={"format": kind}).content, kind)
        for expected in ("“三会一课”记录台账", "".join(demo.BRANCH.split()), "第一党支部党员大会：学习党建引领基层治理文件",
                         "专题党课：以党建引领提升基层治理能力", "支委会", "未达标"):
            assert expected in book, (kind, expected)

    member = TestClient(app)
    _login(member, "zhangwei", passwords["zhangwei"])
    _own_password(member, passwords["zhangwei"])
    assert member.get(f"/api/sessions/{past}/record").status_code == 403  # a member: no record book
    mine = member.get(f"/api/reading-lists/{reading}").json()
    assert len(mine["items"]) == len(items) and all(i["studied"] for i in mine["items"])
    shared = member.get("/api/notes").json()
    assert [(n["owner_name"], n["visibility"], n["unit_name"]) for n in shared] == [("陈红", "unit", "第一党支部")]
    assert member.get(f"/sessions/{upcoming}").status_code == 200
    assert member.get("/search", params={"q": demo.TOPIC}).status_code == 200


def test_force_adds_the_demo_beside_existing_users(tmp_path) -> None:
    """On a home of its own (the demo of the other tests stays as it was made)."""
    from study_hub.accounts import AccountService
    from study_hub.config import Settings
    from study_hub.store import open_store

    home = tmp_path / "home"
    store = open_store(Settings(home=home, semantic=False))
    AccountService(store).add_user("wuqiang", "吴强", "his-own-password", "member")  # before any demo
    store.engine.dispose()
    refused = _demo(home)
    assert refused.returncode == 2 and "already has 1 user:" in refused.stderr
    forced = _demo(home, "--force")
    assert forced.returncode == 0, forced.stderr[-3000:]
    out = forced.stdout
    assert "corpus: 72 documents ingested" in out and "units created: 13" in out
    assert out.count("(existing account: new one-time password)") == 1
    printed = {login: password for login, password, _ in ACCOUNT.findall(out)}
    assert len(printed) == 12
    store = open_store(Settings(home=home, semantic=False))
    service = AccountService(store)
    assert service.authenticate("wuqiang", printed["wuqiang"]).must_change_password
    assert [name for _, name, _ in service.principal(service.get_user("wuqiang")).units] == ["第一党支部"]
    store.engine.dispose()
