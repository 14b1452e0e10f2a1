"""The discussion under shared notes (交流研讨), attacked: who reads and joins it, who hides, double posts in
parallel, huge and hostile bodies, new-reply counts and a hall of 300 members reading one thread (SQLite, and
PostgreSQL with STUDY_HUB_TEST_BACKEND=postgres, as `make test` runs it).

The people of ``world``: a and b in branch A1, c in branch A2, org_a (organiser of community A, above A1 and A2),
org_b (the sibling community B), admin; here also d, a second reader in A1.
"""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select
from support import A1, DOC, PASSWORD, add_members_fast, csrf_of, sign_in

from study_hub.store.models import NoteRead, NoteReply, utcnow
from study_hub.webapp.deps import SESSION_COOKIE

HIDDEN = 'class="placeholder">此回复已被隐藏<'  # what others see in its place


def headers(client: TestClient) -> dict[str, str]:
    return {"X-CSRF-Token": csrf_of(client)}


def post_reply(client: TestClient, note_id: int, body: str, **fields):
    return client.post(f"/api/notes/{note_id}/replies", json={"body": body, **fields}, headers=headers(client))


def replies_of(world, note_id: int) -> list[NoteReply]:
    with world["store"].sessions() as session:
        return list(session.scalars(select(NoteReply).where(NoteReply.note_id == note_id).order_by(NoteReply.id)))


@pytest.fixture(scope="module")
def people(world):
    world["accounts"].add_user("d", "丁", PASSWORD, "member", [A1])
    client = TestClient(world["app"])
    sign_in(client, "d")
    world["clients"]["d"] = client
    return world


def new_note(world, visibility: str = "unit", owner: str = "a", body: str = "讨论这一条") -> dict:
    client = world["clients"][owner]
    passage = world["store"].get_document(DOC).passages[5]
    unit = world["accounts"].unit_by_path(A1).id
    response = client.post("/api/notes", json={
        "passage_id": passage.id, "start": 0, "end": 4, "body": body, "visibility": visibility,
        "unit_id": None if visibility == "private" else unit}, headers=headers(client))
    assert response.status_code == 201, response.text
    return response.json()


# who reads a note's discussion and may reply: exactly those who read the note (everyone else: 404)
READERS = {"unit": {"a", "b", "d", "org_a", "admin"}, "organisers": {"a", "org_a", "admin"}}


@pytest.mark.parametrize("visibility", sorted(READERS))
def test_exactly_those_who_see_the_note_read_and_join_its_discussion(people, visibility) -> None:
    world, clients = people, people["clients"]
    note = new_note(world, visibility)
    first = post_reply(clients["a"], note["id"], "作者先说两句")
    assert first.status_code == 201, first.text
    for who in ("a", "b", "c", "d", "org_a", "org_b", "admin"):
        allowed = who in READERS[visibility]
        listed = clients[who].get(f"/api/notes/{note['id']}/replies")
        assert listed.status_code == (200 if allowed else 404), who
        posted = post_reply(clients[who], note["id"], f"{who} 的回复", quote_reply_id=first.json()["id"])
        assert posted.status_code == (201 if allowed else 404), (who, posted.text)
        # the pages answer alike, and a refusal never shows the text
        page = clients[who].get(f"/notes/{note['id']}")
        assert page.status_code == (200 if allowed else 404) and ("作者先说两句" in page.text) == allowed
        if not allowed:
            assert "作者先说两句" not in listed.text + posted.text
    authors = {r.author_id for r in replies_of(world, note["id"])}
    assert len(authors) == len(READERS[visibility])


def test_foreign_ids_are_not_found(people) -> None:
    clients = people["clients"]
    mine, other = new_note(people), new_note(people)
    reply = post_reply(clients["b"], other["id"], "另一条笔记下的回复").json()
    b = clients["b"]
    for method, path, body in (
            ("patch", f"/api/notes/{mine['id']}/replies/{reply['id']}", {"body": "改"}),
            ("delete", f"/api/notes/{mine['id']}/replies/{reply['id']}", None),
            ("post", f"/api/notes/{mine['id']}/replies/{reply['id']}/hide", {}),
            ("post", f"/api/notes/{mine['id']}/replies", {"body": "引用别处", "quote_reply_id": reply["id"]}),
            ("get", "/api/notes/2147483647/replies", None),
            ("post", "/api/notes/2147483647/replies", {"body": "无处"})):
        kwargs = {"headers": headers(b)} | ({"json": body} if body is not None else {})
        response = getattr(b, method)(path, **kwargs)
        assert response.status_code == 404, (method, path, response.text)
    assert clients["a"].post(f"/notes/{mine['id']}/replies/{reply['id']}/hide",
                             data={"csrf_token": csrf_of(clients["a"])}).status_code == 404
    assert b.get(f"/api/notes/{mine['id']}/replies/abc").status_code in (404, 405)
    assert b.post(f"/api/notes/{mine['id']}/replies", json={"body": "x", "quote_reply_id": 2**40},
                  headers=headers(b)).status_code == 422


def test_a_private_note_has_no_discussion(people) -> None:
    world, clients = people, people["clients"]
    private = new_note(world, "private")
    thread = clients["a"].get(f"/api/notes/{private['id']}/replies").json()
    assert thread["open"] is False and thread["replies"] == [] and thread["may_reply"] is False
    refused = post_reply(clients["a"], private["id"], "自言自语")
    assert refused.status_code == 400 and "private" in refused.json()["message"]
    assert post_reply(clients["b"], private["id"], "看不见").status_code == 404
    # a shared note with replies, made private: the replies are kept, shown to nobody, and come back when shared
    shared = new_note(world)
    assert post_reply(clients["b"], shared["id"], "乙的体会").status_code == 201
    assert clients["a"].patch(f"/api/notes/{shared['id']}", json={"visibility": "private"},
                              headers=headers(clients["a"])).status_code == 200
    assert clients["a"].get(f"/api/notes/{shared['id']}/replies").json()["replies"] == []
    assert "乙的体会" not in clients["a"].get(f"/notes/{shared['id']}").text
    assert clients["b"].get(f"/api/notes/{shared['id']}/replies").status_code == 404
    assert clients["a"].patch(f"/api/notes/{shared['id']}", json={
        "visibility": "unit", "unit_id": world["accounts"].unit_by_path(A1).id},
        headers=headers(clients["a"])).status_code == 200
    assert [r["body"] for r in clients["b"].get(f"/api/notes/{shared['id']}/replies").json()["replies"]] == ["乙的体会"]


def test_eight_parallel_posts_of_the_same_reply_from_two_clients_make_one(people) -> None:
    world = people
    note = new_note(world)
    browsers = [TestClient(world["app"]) for _ in range(2)]  # b's phone and b's computer
    for browser in browsers:
        sign_in(browser, "b")
    tokens = [csrf_of(browser) for browser in browsers]
    start = threading.Barrier(8)

    def post(n: int):
        browser, token = browsers[n % 2], tokens[n % 2]
        start.wait()
        return browser.post(f"/api/notes/{note['id']}/replies", json={"body": "我同意，要抓好落实。"},
                            headers={"X-CSRF-Token": token})

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(post, range(8)))
    assert sorted(a.status_code for a in answers) == [200] * 7 + [201], [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    assert len(replies_of(world, note["id"])) == 1
    # the same words from someone else are their own reply; a form post of the same text is b's reply again
    assert post_reply(world["clients"]["d"], note["id"], "我同意，要抓好落实。").status_code == 201
    again = browsers[0].post(f"/notes/{note['id']}/replies", data={"body": "我同意，要抓好落实。\r\n",
                                                                    "csrf_token": tokens[0]}, follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"].endswith(f"#reply-{answers[0].json()['id']}")
    assert len(replies_of(world, note["id"])) == 2


def test_hiding_by_the_author_and_the_unit_organisers_only_audited(people) -> None:
    world, clients, accounts = people, people["clients"], people["accounts"]
    note = new_note(world)
    reply = post_reply(clients["b"], note["id"], "一条不妥的回复 hidden-marker").json()
    path = f"/api/notes/{note['id']}/replies/{reply['id']}/hide"
    for who, status in (("b", 403), ("d", 403), ("c", 404), ("org_b", 404)):
        assert clients[who].post(path, headers=headers(clients[who])).status_code == status, who
    assert clients["org_a"].post(path).status_code == 403  # no CSRF token
    hidden = clients["org_a"].post(path, headers=headers(clients["org_a"]))
    assert hidden.status_code == 200 and hidden.json()["hidden"] and hidden.json()["hidden_by"] == "组织员甲"
    # the author and the moderators read it; everyone else sees that it was hidden
    for who, readable in (("b", True), ("a", True), ("org_a", True), ("admin", True), ("d", False)):
        seen = next(r for r in clients[who].get(f"/api/notes/{note['id']}/replies").json()["replies"]
                    if r["id"] == reply["id"])
        assert seen["hidden"] and (seen["body"] is not None) == readable, who
        page = clients[who].get(f"/notes/{note['id']}").text
        assert ("hidden-marker" in page) == readable and (HIDDEN in page) != readable, who
        assert ("hidden-marker" in clients[who].get("/notes", params={"scope": "shared"}).text) == (
            readable and who != "a"), who  # previews too (a's own note is on a's "my notes", not "shared")
    # hidden: its author can neither edit nor delete it, nor post the same text again as a fresh reply
    b = clients["b"]
    assert b.patch(f"/api/notes/{note['id']}/replies/{reply['id']}", json={"body": "改口"},
                   headers=headers(b)).status_code == 403
    assert b.delete(f"/api/notes/{note['id']}/replies/{reply['id']}", headers=headers(b)).status_code == 403
    repeat = post_reply(b, note["id"], "一条不妥的回复 hidden-marker")
    assert repeat.status_code == 200 and repeat.json()["id"] == reply["id"] and repeat.json()["hidden"]
    entries = [e for e in accounts.audit_entries(action="reply_hidden") if e.subject == f"reply:{reply['id']}"]
    assert len(entries) == 1 and entries[0].actor_id == accounts.get_user("org_a").id
    # hiding twice records once; the note's author unhides it (a plain form post works too)
    assert clients["admin"].post(path, headers=headers(clients["admin"])).status_code == 200
    assert len([e for e in accounts.audit_entries(action="reply_hidden")
                if e.subject == f"reply:{reply['id']}"]) == 1
    shown = clients["a"].post(f"/notes/{note['id']}/replies/{reply['id']}/hide",
                              data={"csrf_token": csrf_of(clients["a"]), "hidden": "0"}, follow_redirects=False)
    assert shown.status_code == 303
    assert "hidden-marker" in clients["d"].get(f"/notes/{note['id']}").text
    assert [e.subject for e in accounts.audit_entries(action="reply_unhidden")] == [f"reply:{reply['id']}"]


def test_authors_edit_within_a_day_and_delete_their_own_replies(people, monkeypatch) -> None:
    world, clients, accounts = people, people["clients"], people["accounts"]
    note = new_note(world)
    b = clients["b"]
    first = post_reply(b, note["id"], "初稿").json()
    quoting = post_reply(clients["d"], note["id"], "赞同楼上", quote_reply_id=first["id"]).json()
    assert quoting["quote"] == {"id": first["id"], "author_name": "乙", "excerpt": "初稿", "hidden": False,
                                "deleted": False}
    url = f"/api/notes/{note['id']}/replies/{first['id']}"
    for who in ("a", "org_a", "admin", "d"):
        assert clients[who].patch(url, json={"body": "别人改的"}, headers=headers(clients[who])).status_code == 403
        assert clients[who].delete(url, headers=headers(clients[who])).status_code == 403
    edited = b.patch(url, json={"body": "修改稿"}, headers=headers(b))
    assert edited.status_code == 200 and edited.json()["body"] == "修改稿" and edited.json()["edited_at"]
    second = post_reply(b, note["id"], "第二条").json()
    duplicate = b.patch(f"/api/notes/{note['id']}/replies/{second['id']}", json={"body": "修改稿"}, headers=headers(b))
    assert duplicate.status_code == 400 and "already" in duplicate.json()["message"]
    # a day later the text stands (others have read it); it can still be deleted
    replies = world["app"].state.context.replies
    later = utcnow() + timedelta(hours=25)
    monkeypatch.setattr(replies, "clock", lambda: later)
    late = b.patch(url, json={"body": "事后改"}, headers=headers(b))
    assert late.status_code == 403 and "24 hours" in late.json()["message"]
    assert b.get(f"/api/notes/{note['id']}/replies").json()["replies"][0]["may_edit"] is False
    assert b.delete(url, headers=headers(b)).status_code == 204
    gone = {r["id"]: r for r in clients["d"].get(f"/api/notes/{note['id']}/replies").json()["replies"]}
    assert gone[first["id"]]["deleted"] and gone[first["id"]]["body"] is None
    assert gone[quoting["id"]]["quote"]["deleted"] and gone[quoting["id"]]["quote"]["excerpt"] is None
    assert "修改稿" not in clients["d"].get(f"/notes/{note['id']}").text
    assert "此回复已被作者删除" in clients["d"].get(f"/notes/{note['id']}").text
    assert b.delete(url, headers=headers(b)).status_code == 400  # deleted already
    assert [e.subject for e in accounts.audit_entries(action="reply_deleted")] == [f"reply:{first['id']}"]
    with world["store"].sessions() as session:
        assert session.get(NoteReply, first["id"]).body == ""  # the words are gone from the database too


def test_huge_empty_and_hostile_bodies(people) -> None:
    world, clients = people, people["clients"]
    note = new_note(world)
    b = clients["b"]
    too_long = post_reply(b, note["id"], "长" * 5001)
    assert too_long.status_code == 422 and "5000" in too_long.json()["message"]
    huge = b.post(f"/api/notes/{note['id']}/replies", content=b'{"body": "' + b"x" * (2 << 20) + b'"}',
                  headers={**headers(b), "Content-Type": "application/json"})
    assert huge.status_code == 413
    assert post_reply(b, note["id"], " \n\t ").status_code == 400
    assert post_reply(b, note["id"], "空字符\x00也不行").status_code == 201  # NUL dropped (PostgreSQL refuses it)
    form = b.post(f"/notes/{note['id']}/replies", data={"body": "草" * 6000, "csrf_token": csrf_of(b)})
    assert form.status_code == 400 and "回复最多 5000 字，这条有 6000 字" in form.text
    assert "草" * 6000 in form.text  # the draft is kept
    assert b.post(f"/notes/{note['id']}/replies", data={"body": "无令牌"}).status_code == 403
    assert world["clients"]["anonymous"].get(f"/api/notes/{note['id']}/replies").status_code == 401
    hostile = ('<script>window.__xss=1</script><img src=x onerror="alert(1)"> '
               '[点我](javascript:alert(2)) <a href="javascript:alert(3)">链接</a>')
    assert post_reply(b, note["id"], hostile).status_code == 201
    assert post_reply(clients["d"], note["id"], "引用", quote_reply_id=replies_of(world, note["id"])[-1].id
                      ).status_code == 201
    for path in (f"/notes/{note['id']}", "/notes", f"/documents/{DOC}?shared=1"):
        page = clients["a"].get(path).text
        assert "<script>window.__xss" not in page and "<img src=x" not in page, path
        assert 'href="javascript:' not in page and "&lt;script&gt;window.__xss=1&lt;/script&gt;" in page, path


def test_new_replies_are_counted_and_a_visit_marks_them_seen(people) -> None:
    world, clients = people, people["clients"]
    before = {who: clients[who].get("/api/notes/unread").json() for who in ("a", "b", "d", "org_a", "c")}
    note = new_note(world)
    for body in ("第一条", "第二条"):
        assert post_reply(clients["b"], note["id"], body).status_code == 201
    own = post_reply(clients["a"], note["id"], "作者自己的回复不算新").json()
    after = {who: clients[who].get("/api/notes/unread").json() for who in before}
    assert after["a"]["mine"] == before["a"]["mine"] + 2 and after["a"]["shared"] == before["a"]["shared"]
    assert after["d"]["shared"] == before["d"]["shared"] + 3 and after["org_a"]["shared"] == before["org_a"]["shared"] + 3
    assert after["b"]["shared"] == before["b"]["shared"] + 1  # not b's own two
    assert after["c"] == before["c"]  # c does not see the note
    # the badges: in the header, on the notes page's scopes and under the note
    page = clients["d"].get("/notes", params={"scope": "shared"}).text
    assert re.search(r'class="count">{}<'.format(after["d"]["total"]), page)
    assert f"{after['d']['shared']} 条新回复" in page and "3 条新回复" in page
    # visiting the discussion marks it seen: 8 parallel visits make one row, and the counts drop by this note's
    d = clients["d"]
    with ThreadPoolExecutor(8) as pool:
        visits = list(pool.map(lambda _: d.get(f"/api/notes/{note['id']}/replies"), range(8)))
    assert all(v.status_code == 200 for v in visits)
    assert {v.json()["new"] for v in visits} <= {0, 3}
    with world["store"].sessions() as session:
        marks = session.scalars(select(NoteRead).where(NoteRead.note_id == note["id"])).all()
    assert [(m.user_id, m.last_seen_reply_id) for m in marks] == [(world["accounts"].get_user("d").id, own["id"])]
    assert d.get("/api/notes/unread").json()["shared"] == after["d"]["shared"] - 3
    # a mark never moves back, whatever order visits commit in
    replies = world["app"].state.context.replies
    replies.mark_seen(world["accounts"].principal(world["accounts"].get_user("d")), note["id"], 1)
    assert d.get("/api/notes/unread").json()["shared"] == after["d"]["shared"] - 3
    # the thread page marks seen too; the author's own note: "mine" drops
    clients["a"].get(f"/notes/{note['id']}")
    assert clients["a"].get("/api/notes/unread").json()["mine"] == after["a"]["mine"] - 2
    # a new reply after the visit is new again, and hidden replies are not counted
    late = post_reply(clients["b"], note["id"], "第三条").json()
    assert d.get("/api/notes/unread").json()["shared"] == after["d"]["shared"] - 2
    clients["a"].post(f"/api/notes/{note['id']}/replies/{late['id']}/hide", headers=headers(clients["a"]))
    assert d.get("/api/notes/unread").json()["shared"] == after["d"]["shared"] - 3


HALL = 300


def test_300_members_read_a_thread(people) -> None:
    """A unit of 300 members (added straight to the store: one password hash for all), a note shared with it,
    replies from a few; everyone reads the thread, 8 at a time: each is answered, each gets one mark, and a
    visit costs the same number of queries however many replies and readers there are."""
    world = people
    accounts, store, app = world["accounts"], world["store"], world["app"]
    unit = accounts.add_unit("机关党委", "branch", "迎泽区委/桥东街道党工委/五一社区党委")
    browsers = []
    for user in add_members_fast(accounts, store, unit.id, "r", HALL):
        token, csrf = accounts.start_session(user)
        browser = TestClient(app)
        browser.cookies.set(SESSION_COOKIE, token)
        browsers.append((browser, csrf))
    host, host_csrf = browsers[0]
    passage = store.get_document(DOC).passages[6]
    note = host.post("/api/notes", json={"passage_id": passage.id, "start": 0, "end": 3, "body": "大家谈谈",
                                         "visibility": "unit", "unit_id": unit.id},
                     headers={"X-CSRF-Token": host_csrf}).json()
    for browser, csrf in browsers[1:11]:
        assert browser.post(f"/api/notes/{note['id']}/replies", json={"body": "我的体会"},
                            headers={"X-CSRF-Token": csrf}).status_code == 201

    engine = app.state.context.store.engine
    count = 0

    def counted(*_):
        nonlocal count
        count += 1

    def queries(browser) -> int:
        nonlocal count
        count = 0
        event.listen(engine, "before_cursor_execute", counted)
        try:
            assert browser.get(f"/api/notes/{note['id']}/replies").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", counted)
        return count

    few = queries(browsers[-1][0])
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda pair: pair[0].get(f"/api/notes/{note['id']}/replies"), browsers))
    assert [a.status_code for a in answers] == [200] * HALL
    assert all(len(a.json()["replies"]) == 10 for a in answers)
    with store.sessions() as session:
        marks = session.scalar(select(func.count()).select_from(NoteRead).where(NoteRead.note_id == note["id"]))
    assert marks == HALL
    assert all(b.get("/api/notes/unread").json()["shared"] == 0 for b, _ in browsers[::37])
    for browser, csrf in browsers[11:60]:  # more replies: a visit does not cost more
        browser.post(f"/api/notes/{note['id']}/replies", json={"body": "补充一点"}, headers={"X-CSRF-Token": csrf})
    assert queries(browsers[-2][0]) <= few
    assert few <= 10


def test_pages_with_many_discussions_do_a_bounded_number_of_queries(people) -> None:
    """200 shared notes with 3 replies each: the notes page (previews, counts, badges) and the reader stay within
    the bound of ``test_page_queries``."""
    world = people
    store, accounts = world["store"], world["accounts"]
    from study_hub.store.models import Note

    passage = store.get_document(DOC).passages[7]
    a, b = accounts.get_user("a").id, accounts.get_user("b").id
    unit = accounts.unit_by_path(A1).id
    with store.sessions.begin() as session:
        notes = [Note(owner_id=a, document_id=DOC, passage_id=passage.id, start=0, end=2, quote=passage.text[:2],
                      body=f"批量{n}", visibility="unit", unit_id=unit) for n in range(200)]
        session.add_all(notes)
        session.flush()
        session.add_all([NoteReply(note_id=n.id, author_id=b, body=f"回复{n.id}-{k}", fingerprint=f"{n.id}-{k}")
                         for n in notes for k in range(3)])
    engine = world["app"].state.context.store.engine
    for login, path in (("a", "/notes"), ("b", "/notes?scope=shared"), ("org_a", "/notes?scope=shared"),
                        ("d", f"/documents/{DOC}?shared=1")):
        client = world["clients"][login]
        client.get(path)
        count = 0

        def counted(*_):
            nonlocal count
            count += 1

        event.listen(engine, "before_cursor_execute", counted)
        try:
            response = client.get(path)
        finally:
            event.remove(engine, "before_cursor_execute", counted)
        assert response.status_code == 200 and count <= 30, (login, path, count)
        assert response.text.count('class="thread-preview"') >= 200, (login, path)
