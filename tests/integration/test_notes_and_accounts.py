"""Accounts and study notes through the API and the pages: permissions, CSRF, sign-in, re-anchoring,
import and export. Members: A and B in branch A1, C in branch A2 (same community), an organiser of
community A, an organiser of the sibling community B, and an admin."""

from __future__ import annotations

import io
import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from support import A1, A2, B1, DOC, PASSWORD, build_units, csrf_of, sign_in

from study_hub.accounts import AccountService
from study_hub.accounts.importer import import_members, read_rows
from study_hub.config import Settings
from study_hub.pipeline import ingest_paths
from study_hub.store import open_store
from study_hub.store.models import AuditEntry, User
from study_hub.study.notes import NoteService, reanchor
from study_hub.webapp import create_app


def post_note(client: TestClient, passage_id: str, start: int, end: int, **fields):
    return client.post("/api/notes", json={"passage_id": passage_id, "start": start, "end": end, **fields},
                       headers={"X-CSRF-Token": csrf_of(client)})


def unit_id(world, path: str) -> int:
    return world["accounts"].unit_by_path(path).id


@pytest.fixture(scope="module")
def notes(world):
    """A's private note, a note shared with branch A1, and one for the organisers of branch A1."""
    passage = next(p for p in world["store"].get_document(DOC).passages if "业主大会" in p.text)
    start = passage.text.index("业主大会")
    a = world["clients"]["a"]
    made = {}
    for name, visibility in (("private", "private"), ("unit", "unit"), ("organisers", "organisers")):
        response = post_note(a, passage.id, start, start + 4, body=f"**{name}** 笔记 {name}-marker",
                             tags=["物业", name], visibility=visibility,
                             unit_id=None if visibility == "private" else unit_id(world, A1))
        assert response.status_code == 201, response.text
        made[name] = response.json()
    assert made["private"]["quote"] == "业主大会" and made["private"]["prefix"].endswith(passage.text[start - 1])
    return made


# who may read each note (everyone else gets 404: a note you may not see does not exist for you)
READERS = {
    "private": {"a"},
    "unit": {"a", "b", "org_a", "admin"},
    "organisers": {"a", "org_a", "admin"},
}


@pytest.mark.parametrize("note", sorted(READERS))
@pytest.mark.parametrize("who", ["a", "b", "c", "org_a", "org_b", "admin"])
def test_who_reads_which_note(world, notes, note, who) -> None:
    response = world["clients"][who].get(f"/api/notes/{notes[note]['id']}")
    assert response.status_code == (200 if who in READERS[note] else 404)
    listed = {n["id"] for n in world["clients"][who].get("/api/notes").json()}
    assert (notes[note]["id"] in listed) == (who in READERS[note])


def test_only_the_author_edits(world, notes) -> None:
    clients = world["clients"]
    shared = notes["unit"]["id"]
    for who, status in (("b", 403), ("org_a", 403), ("admin", 403), ("c", 404), ("org_b", 404)):
        response = clients[who].patch(f"/api/notes/{shared}", json={"body": "改了"},
                                      headers={"X-CSRF-Token": csrf_of(clients[who])})
        assert response.status_code == status, who
    body = notes["unit"]["body"] + "（补充体会）"
    response = clients["a"].patch(f"/api/notes/{shared}", json={"body": body, "tags": ["学习", "unit"]},
                                  headers={"X-CSRF-Token": csrf_of(clients["a"])})
    assert response.status_code == 200 and response.json()["body"] == body
    assert response.json()["tags"] == ["unit", "学习"]


def test_delete_rules_and_audit(world, notes) -> None:
    clients, accounts = world["clients"], world["accounts"]
    extra = post_note(clients["a"], notes["unit"]["passage_id"], 0, 2, visibility="unit",
                      unit_id=unit_id(world, A1)).json()
    private = post_note(clients["a"], notes["unit"]["passage_id"], 0, 2).json()
    for who, note, status in (("b", extra, 403), ("org_a", extra, 403), ("admin", private, 404),
                              ("c", extra, 404)):
        assert clients[who].delete(f"/api/notes/{note['id']}",
                                   headers={"X-CSRF-Token": csrf_of(clients[who])}).status_code == status
    assert clients["admin"].delete(f"/api/notes/{extra['id']}",
                                   headers={"X-CSRF-Token": csrf_of(clients["admin"])}).status_code == 204
    assert clients["a"].delete(f"/api/notes/{private['id']}",
                               headers={"X-CSRF-Token": csrf_of(clients["a"])}).status_code == 204
    assert clients["a"].get(f"/api/notes/{private['id']}").status_code == 404
    deletions = accounts.audit_entries(action="note_deleted")
    assert {e.subject for e in deletions} >= {f"note:{extra['id']}", f"note:{private['id']}"}


def test_sharing_is_checked_on_the_server(world, notes) -> None:
    a = world["clients"]["a"]
    passage = notes["private"]["passage_id"]
    assert post_note(a, passage, 0, 2, visibility="unit", unit_id=unit_id(world, A2)).status_code == 403
    assert post_note(a, passage, 0, 2, visibility="unit").status_code == 400
    assert post_note(a, passage, 5, 2).status_code == 400
    assert post_note(a, passage, 0, 100_000).status_code == 400
    assert post_note(a, "no-such-passage", 0, 2).status_code == 404
    assert post_note(a, passage, 0, 2, visibility="everyone").status_code == 422


def test_anonymous_requests_get_no_data(world, notes) -> None:
    anonymous = world["clients"]["anonymous"]
    for method, path in (("get", "/api/notes"), ("get", f"/api/notes/{notes['unit']['id']}"),
                         ("get", "/api/notes/export"), ("delete", f"/api/notes/{notes['unit']['id']}"),
                         ("get", "/api/me")):
        response = getattr(anonymous, method)(path)
        assert response.status_code == 401 and "notes-marker" not in response.text, path
    assert anonymous.post("/api/notes", json={"passage_id": "x", "start": 0, "end": 1}).status_code == 401
    page = anonymous.get("/notes", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login?next=%2Fnotes")
    reader = anonymous.get(f"/documents/{DOC}")
    assert "private-marker" not in reader.text and "unit-marker" not in reader.text


def test_csrf_is_required_for_every_change(world, notes) -> None:
    a = world["clients"]["a"]
    body = {"passage_id": notes["private"]["passage_id"], "start": 0, "end": 2}
    assert a.post("/api/notes", json=body).status_code == 403
    assert a.post("/api/notes", json=body, headers={"X-CSRF-Token": "forged"}).status_code == 403
    assert a.delete(f"/api/notes/{notes['private']['id']}").status_code == 403
    assert a.post("/logout", data={"csrf_token": "forged"}).status_code == 403
    fresh = TestClient(world["app"])
    fresh.get("/login")
    assert fresh.post("/login", data={"login": "a", "password": PASSWORD, "csrf_token": "forged"}).status_code == 403


def test_reader_shows_own_notes_and_shared_ones_on_request(world, notes) -> None:
    clients = world["clients"]
    own = clients["a"].get(f"/documents/{DOC}").text
    assert 'class="note"' in own and "private-marker" in own and "<strong>private</strong>" in own
    b_plain = clients["b"].get(f"/documents/{DOC}").text
    assert "unit-marker" not in b_plain and "private-marker" not in b_plain
    b_shared = clients["b"].get(f"/documents/{DOC}", params={"shared": "1"}).text
    assert "unit-marker" in b_shared and "private-marker" not in b_shared and "organisers-marker" not in b_shared
    c_shared = clients["c"].get(f"/documents/{DOC}", params={"shared": "1"}).text
    assert "unit-marker" not in c_shared


def test_my_notes_page_filters_and_export(world, notes) -> None:
    a = world["clients"]["a"]
    page = a.get("/notes", params={"tag": "organisers"})
    assert page.status_code == 200 and "organisers-marker" in page.text and "private-marker" not in page.text
    assert "private-marker" in a.get("/notes", params={"q": "private-marker"}).text
    assert "private-marker" not in a.get("/notes", params={"until": "2000-01-01"}).text
    assert a.get("/notes", params={"since": "not-a-date"}).status_code == 400
    markdown = a.get("/api/notes/export", params={"format": "md"})
    assert markdown.status_code == 200 and "> 业主大会" in markdown.text and "《物业管理条例》" in markdown.text
    docx = a.get("/api/notes/export", params={"format": "docx", "tag": "物业"})
    from docx import Document as Docx

    text = "\n".join(p.text for p in Docx(io.BytesIO(docx.content)).paragraphs)
    assert "业主大会" in text and "《物业管理条例》" in text
    shared_with_b = world["clients"]["b"].get("/notes", params={"scope": "shared"}).text
    assert "unit-marker" in shared_with_b and "private-marker" not in shared_with_b
    organiser_view = world["clients"]["org_a"].get("/notes", params={"scope": "shared"}).text
    assert "organisers-marker" in organiser_view and "unit-marker" in organiser_view
    assert "unit-marker" not in world["clients"]["org_b"].get("/notes", params={"scope": "shared"}).text
    b_export = world["clients"]["b"].get("/api/notes/export").text
    assert "marker" not in b_export  # an export holds one's own notes only
    assert world["accounts"].audit_entries(action="notes_exported")


def test_sign_in_is_rate_limited_and_passwords_are_hashed(world) -> None:
    accounts = world["accounts"]
    accounts.add_user("victim", "受害者", PASSWORD, "member", [A2])
    client = TestClient(world["app"])
    for _ in range(5):
        response = sign_in(client, "victim", "wrong-password-123")
        assert "error=" in response.headers["location"]
    blocked = sign_in(client, "victim", PASSWORD)  # even the right password waits now
    assert "error=" in blocked.headers["location"] and "study_hub_session" not in client.cookies
    assert "15" in client.get(blocked.headers["location"]).text
    with world["store"].sessions() as session:
        hashes = [u.password_hash for u in session.query(User)]
        failures = session.query(AuditEntry).filter_by(action="login_failed", subject="user:victim").count()
    assert all(h.startswith("$argon2id$") for h in hashes) and failures == 5


def test_sign_out_ends_the_session(world) -> None:
    client = TestClient(world["app"])
    sign_in(client, "c")
    assert client.get("/api/me").status_code == 200
    assert client.post("/logout", data={"csrf_token": csrf_of(client)}, follow_redirects=False).status_code == 303
    assert client.get("/api/me").status_code == 401


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_sessions_expire(tmp_path) -> None:
    """The server refuses a session past its expiry, by the service's clock: the browser still sends the cookie
    (its max-age is an hour), so the refusal is the server's own."""
    settings = Settings(home=tmp_path / "home", semantic=False, session_hours=1)
    store = open_store(settings)
    AccountService(store).add_user("x", "某", PASSWORD)
    app = create_app(settings, encoder=None)
    clock = Clock(datetime(2027, 3, 1, 8, 0, tzinfo=UTC))
    app.state.context.accounts.clock = clock
    client = TestClient(app)
    sign_in(client, "x")
    assert client.get("/api/me").status_code == 200
    clock.now += timedelta(minutes=59, seconds=59)
    assert client.get("/api/me").status_code == 200  # still within the hour
    clock.now += timedelta(seconds=2)
    assert "study_hub_session" in client.cookies
    assert client.get("/api/me").status_code == 401
    store.engine.dispose()


def test_production_refuses_a_placeholder_secret(tmp_path) -> None:
    with pytest.raises(ValueError, match="SECRET_KEY"):
        create_app(Settings(home=tmp_path / "home", environment="production"), encoder=None)
    with pytest.raises(ValueError, match="SECRET_KEY"):
        create_app(Settings(home=tmp_path / "home", environment="production", secret_key="changeme"), encoder=None)
    create_app(Settings(home=tmp_path / "home", environment="production", secret_key="x" * 48), encoder=None)


def test_member_import_reports_bad_rows(world, tmp_path) -> None:
    accounts = world["accounts"]
    csv_file = tmp_path / "members.csv"
    csv_file.write_bytes((
        "姓名,账号,组织,角色,密码\n"
        f"李四,lisi,{A1},党员,\n"
        f"王五,wangwu,{A2},member,a-long-password\n"
        f"重复,lisi,{A1},member,\n"
        f"赵六,zhaoliu,迎泽区委/没有这个支部,member,\n"
        f"钱七,qianqi,{A1},superuser,\n"
        f"孙八,sunba,{A1},member,short\n"
        f",nobody,{A1},member,\n"
        f"周九,a,{A1},member,\n"
    ).encode("gb18030"))
    report = import_members(accounts, read_rows(csv_file))
    assert [login for login, _ in report.added] == ["lisi", "wangwu"]
    assert dict(report.added)["lisi"] and dict(report.added)["wangwu"] is None  # one-time password generated
    reasons = dict(report.rejected)
    assert set(reasons) == {4, 5, 6, 7, 8, 9}
    assert "twice" in reasons[4] and "没有这个支部" in reasons[5] and "role" in reasons[6]
    assert "10 characters" in reasons[7] and "display name" in reasons[8] and "taken" in reasons[9]
    assert accounts.principal(accounts.get_user("lisi")).units[0][1] == "第一党支部"

    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["name", "login", "unit", "role"])
    book.active.append(["吴十", "wushi", B1, "organiser"])
    book.active.append(["郑十一", "zheng", "", "member"])
    book.save(tmp_path / "members.xlsx")
    report = import_members(accounts, read_rows(tmp_path / "members.xlsx"))
    assert [login for login, _ in report.added] == ["wushi"] and report.rejected == [(3, "no unit given")]


# --- re-anchoring after a document changes (service level, on SQLite and PostgreSQL) --------------------------

ORIGINAL = """示范社区学习制度

一、学习安排
每月第一个周五下午集中学习，由支部书记领学原文。学习前一周公布篇目。
二、学习要求
党员应当做好学习笔记，结合岗位谈体会。缺席者应当在一周内补学。
三、附则
本制度自印发之日起施行。
"""


def study_rules_home(backend_settings, tmp_path):
    """A store with the unit tree and the study-rules document ingested from ``source`` (edit it, ingest again)."""
    store = open_store(backend_settings)
    accounts = AccountService(store)
    build_units(accounts)
    source = tmp_path / "in" / "study-rules.txt"
    source.parent.mkdir()
    source.write_text(ORIGINAL, encoding="utf-8")
    assert ingest_paths([source], store, backend_settings).ok
    return store, accounts, source


def test_notes_reanchor_after_a_document_edit(backend_settings, tmp_path) -> None:
    store, accounts, source = study_rules_home(backend_settings, tmp_path)
    author = accounts.principal(accounts.add_user("writer", "作者", PASSWORD, "member", [A1]))
    notes = NoteService(store, accounts)
    passages = store.get_document("study-rules").passages

    def note_on(words: str):
        passage = next(p for p in passages if words in p.text)
        start = passage.text.index(words)
        return notes.create(author, passage.id, start, start + len(words), body=words)

    unchanged = note_on("本制度自印发之日起施行")
    moving = note_on("由支部书记领学原文")
    doomed = note_on("缺席者应当在一周内补学")

    edited = ORIGINAL.replace("每月第一个周五下午集中学习，", "每月第一个周五下午集中学习，遇节假日顺延，") \
        .replace("缺席者应当在一周内补学。", "缺席者由党小组长督促补课。")
    source.write_text(edited, encoding="utf-8")
    report = ingest_paths([source], store, backend_settings)
    assert report.ok and report.notes_moved == 1 and report.notes_orphaned == 1

    after = {n.body: n for n in notes.list(author, mine_only=True)}
    texts = {p.id: p.text for p in store.get_document("study-rules").passages}
    kept, moved, orphan = after[unchanged.body], after[moving.body], after[doomed.body]
    assert (kept.passage_id, kept.start, kept.orphaned) == (unchanged.passage_id, unchanged.start, False)
    assert not moved.orphaned and texts[moved.passage_id][moved.start:moved.end] == "由支部书记领学原文"
    assert moved.start != moving.start  # it moved with its sentence
    assert orphan.orphaned and orphan.quote == "缺席者应当在一周内补学"  # kept with its quote, never re-pointed

    source.write_text(ORIGINAL, encoding="utf-8")  # the text comes back: so does the note
    ingest_paths([source], store, backend_settings)
    assert not notes.get(author, doomed.id).orphaned
    assert reanchor(store, "study-rules").kept == 3
    store.engine.dispose()


def test_parallel_wrong_passwords_get_no_more_guesses_than_the_limit(world, monkeypatch) -> None:
    """Fails before: the limit was counted, then the password checked, then the failure recorded, so 8
    attempts in parallel were all checked against a limit of 5."""
    import threading

    accounts = world["accounts"]
    accounts.add_user("target", "目标", PASSWORD, "member", [A2])

    class SlowHasher:  # a real Argon2 check takes this long on a loaded server: the requests overlap
        def __init__(self, hasher):
            self.hasher = hasher

        def __getattr__(self, name):
            return getattr(self.hasher, name)

        def verify(self, *args):
            time.sleep(0.3)
            return self.hasher.verify(*args)

    monkeypatch.setattr(accounts, "hasher", SlowHasher(accounts.hasher))
    clients = [TestClient(world["app"]) for _ in range(8)]
    tokens = [re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text).group(1) for c in clients]
    start = threading.Barrier(len(clients))

    def attempt(client, token):
        start.wait()
        client.post("/login", data={"login": "target", "password": "wrong-password-1", "csrf_token": token},
                    follow_redirects=False)

    threads = [threading.Thread(target=attempt, args=pair) for pair in zip(clients, tokens, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with world["store"].sessions() as session:
        outcomes = [entry.action for entry in session.query(AuditEntry).filter_by(subject="user:target")
                    if entry.action.startswith("login")]
    assert len(outcomes) == 8 and "login_attempt" not in outcomes  # every attempt recorded and settled
    assert outcomes.count("login_failed") <= 5 and outcomes.count("login_throttled") >= 3


def test_pages_show_only_messages_the_site_signed_and_links_stay_on_site(world) -> None:
    """Fails before: ?error= / ?upload_error= text was shown as given (phishing with the site's own address),
    and the language link of //evil.example/x pointed off-site."""
    bait = "您的账号已被冻结，请拨打400-000-0000解冻"
    anonymous, admin = world["clients"]["anonymous"], world["clients"]["admin"]
    assert bait not in anonymous.get("/login", params={"error": bait}).text
    assert bait not in admin.get("/documents", params={"upload_error": bait}).text
    assert bait not in admin.get("/sessions", params={"error": bait}).text
    assert bait not in admin.get("/sessions", params={"error": bait, "error_sig": "0" * 32}).text
    failed = TestClient(world["app"])
    redirect = sign_in_expecting_failure(failed, "c", "not-the-password")
    assert "wrong login id or password" in failed.get(redirect).text  # the site's own message still shows
    page = anonymous.get("http://testserver//evil.example/x")
    links = re.findall(r'href="([^"]+)"', page.text)
    assert links and not any(link.startswith(("//", "/\\", "http")) for link in links), links


def sign_in_expecting_failure(client: TestClient, login: str, password: str) -> str:
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    response = client.post("/login", data={"login": login, "password": password, "csrf_token": token},
                           follow_redirects=False)
    assert response.status_code == 303
    return response.headers["location"]


def test_a_crash_while_notes_move_leaves_the_old_document_and_the_next_ingest_repairs(
        backend_settings, tmp_path, monkeypatch) -> None:
    """Fails before: the changed document was committed, then the notes were moved in a second transaction; a
    crash between the two left notes pointing at deleted passages, and the next ingest said "unchanged"."""
    from study_hub import pipeline

    store, accounts, source = study_rules_home(backend_settings, tmp_path)
    author = accounts.principal(accounts.add_user("crasher", "作者", PASSWORD, "member", [A1]))
    notes = NoteService(store, accounts)
    passage = next(p for p in store.get_document("study-rules").passages if "由支部书记领学原文" in p.text)
    start = passage.text.index("由支部书记领学原文")
    note = notes.create(author, passage.id, start, start + 9, body="领学")

    def crash(session, document_id):
        raise RuntimeError("killed while the notes were moving")

    source.write_text(ORIGINAL.replace("每月第一个周五下午集中学习，", "每月第一个周五下午集中学习，遇节假日顺延，"),
                      encoding="utf-8")
    monkeypatch.setattr(pipeline, "reanchor_in", crash)
    assert not ingest_paths([source], store, backend_settings).ok
    assert "遇节假日顺延" not in store.get_document("study-rules").text  # the old text: nothing was half-saved
    kept = notes.get(author, note.id)
    assert kept.passage_id in {p.id for p in store.get_document("study-rules").passages}
    monkeypatch.undo()
    report = ingest_paths([source], store, backend_settings)
    assert report.ok and report.outcomes.get("updated") == 1 and report.notes_moved == 1
    moved = notes.get(author, note.id)
    texts = {p.id: p.text for p in store.get_document("study-rules").passages}
    assert texts[moved.passage_id][moved.start:moved.end] == "由支部书记领学原文"
    store.engine.dispose()


def test_reading_list_items_follow_a_revised_document(backend_settings, tmp_path) -> None:
    """Fails before: a passage item kept the old passage id after an edit, and the study pack said the text was
    no longer in the library, for a document that was."""
    from study_hub.study.reading_lists import ReadingListService
    from study_hub.study.study_pack import build_pack

    store, accounts, source = study_rules_home(backend_settings, tmp_path)
    organiser = accounts.principal(accounts.add_user("lister", "组织员", PASSWORD, "organiser", [A1]))
    passages = store.get_document("study-rules").passages

    def passage_with(words: str):
        return next(p for p in passages if words in p.text)

    lists = ReadingListService(store, accounts)
    reading = lists.create(organiser, "制度学习")
    edited_item = lists.add_item(organiser, reading.id, "passage", document_id="study-rules",
                                 passage_id=passage_with("由支部书记领学原文").id)
    doomed_item = lists.add_item(organiser, reading.id, "passage", document_id="study-rules",
                                 passage_id=passage_with("缺席者应当在一周内补学").id)
    section = passage_with("缺席者应当在一周内补学").heading_path
    section_item = lists.add_item(organiser, reading.id, "section", document_id="study-rules",
                                  passage_id=passage_with("缺席者应当在一周内补学").id, heading_path=section)
    source.write_text(ORIGINAL.replace("每月第一个周五下午集中学习，", "每月第一个周五下午集中学习，遇节假日顺延，")
                      .replace("党员应当做好学习笔记，结合岗位谈体会。缺席者应当在一周内补学。",
                               "全体党员每季度撰写一篇心得，由支部委员会择优交流，年底汇编成册存档备查。"),
                      encoding="utf-8")
    assert ingest_paths([source], store, backend_settings).ok
    now = {p.id: p for p in store.get_document("study-rules").passages}
    items = {item.id: item for item in lists.get(organiser, reading.id).items}
    followed = items[edited_item.id]
    assert not followed.orphaned and "遇节假日顺延，由支部书记领学原文" in now[followed.passage_id].text
    assert items[doomed_item.id].orphaned  # the whole paragraph was rewritten: kept, shown as such
    assert not items[section_item.id].orphaned and items[section_item.id].passage_id in now
    pack = build_pack(lists, organiser, reading.id)
    sources = [item.source for item in pack.items]
    assert "原文已不在文库中" not in "".join(sources) and "未能找到" in sources[1]
    assert "遇节假日顺延" in pack.items[0].passages[0][1]
    store.engine.dispose()


def test_the_database_refuses_duplicate_units_assignments_and_places(backend_settings, tmp_path) -> None:
    """Fails before: the same unit added at once twice, a list assigned at once twice, and items added at once
    to one list made duplicates (each was a read, then a write); the unique indexes of migration 0005 and one
    conditional insert each now hold it, here with 8 requests at a time."""
    import threading

    from study_hub.accounts import AccountError
    from study_hub.study.reading_lists import ReadingListService

    store, accounts, _ = study_rules_home(backend_settings, tmp_path)
    organiser = accounts.principal(accounts.add_user("dup", "组织员", PASSWORD, "organiser", [A1]))
    lists = ReadingListService(store, accounts)
    reading = lists.create(organiser, "并发测试")
    branch = accounts.unit_by_path(A1).id

    def at_once(action, times: int = 8) -> list:
        start, outcomes = threading.Barrier(times), []

        def run():
            start.wait()
            try:
                outcomes.append(action())
            except AccountError as error:
                outcomes.append(error)

        threads = [threading.Thread(target=run) for _ in range(times)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return outcomes

    added = at_once(lambda: accounts.add_unit("学习小组", "group", A1))
    assert sum(not isinstance(o, AccountError) for o in added) == 1
    at_once(lambda: lists.assign(organiser, reading.id, [branch]))
    at_once(lambda: lists.add_item(organiser, reading.id, "document", document_id="study-rules"))
    with store.sessions() as session:
        from study_hub.store.models import ReadingAssignment, ReadingItem, Unit

        assert session.query(Unit).filter_by(name="学习小组").count() == 1
        assert session.query(ReadingAssignment).filter_by(list_id=reading.id).count() == 1
        positions = sorted(i.position for i in session.query(ReadingItem).filter_by(list_id=reading.id))
    assert positions == list(range(1, 9))
    items = lists.get(organiser, reading.id).items
    lists.move_item(organiser, reading.id, items[0].id, +1)  # a swap passes through a free place
    assert [i.id for i in lists.get(organiser, reading.id).items][:2] == [items[1].id, items[0].id]
    store.engine.dispose()
