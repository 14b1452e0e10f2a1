"""Reading lists through the API and the pages: building (also from a topic), assigning, progress from
evidence, permissions, and study packs that open in the libraries that read them."""

from __future__ import annotations

import io
import re

import pytest
from support import A1, B1, DOC, csrf_of


def call(client, method: str, path: str, **kwargs):
    return getattr(client, method)(path, headers={"X-CSRF-Token": csrf_of(client)}, **kwargs)


@pytest.fixture(scope="module")
def built(world):
    """org_a's list hosted in community A with one item of each kind, assigned to branch A1."""
    clients, accounts = world["clients"], world["accounts"]
    community = accounts.unit_by_path("迎泽区委/桥东街道党工委/五一社区党委").id
    made = call(clients["org_a"], "post", "/api/reading-lists",
                json={"title": "物业管理条例学习", "description": "逐条学习", "unit_id": community})
    assert made.status_code == 201, made.text
    list_id = made.json()["id"]
    municipal = world["store"].get_document("municipal-reg-qingdao-property-2021").passages[5]
    for item in ({"kind": "document", "document_id": DOC, "guide": "通读全文", "due": "2026-12-31"},
                 {"kind": "section", "document_id": DOC, "heading_path": "第二章 业主及业主大会",
                  "guide": "重点学习业主大会的职责"},
                 {"kind": "passage", "passage_id": municipal.id},
                 {"kind": "search", "query": "业主大会 level:provincial", "guide": "对照北京市的规定"}):
        response = call(clients["org_a"], "post", f"/api/reading-lists/{list_id}/items", json=item)
        assert response.status_code == 201, response.text
    assigned = call(clients["org_a"], "post", f"/api/reading-lists/{list_id}/assign",
                    json={"unit_ids": [accounts.unit_by_path(A1).id]})
    assert assigned.status_code == 200
    return list_id


def test_a_list_holds_every_kind_of_item(world, built) -> None:
    body = world["clients"]["org_a"].get(f"/api/reading-lists/{built}").json()
    assert [i["kind"] for i in body["items"]] == ["document", "section", "passage", "search"]
    assert body["items"][0]["title"] == "物业管理条例" and body["items"][0]["due"] == "2026-12-31"
    assert body["items"][1]["title"].endswith("第二章 业主及业主大会") and body["manageable"]


def test_who_sees_and_changes_a_list(world, built) -> None:
    clients = world["clients"]
    assert call(clients["a"], "post", "/api/reading-lists", json={"title": "我的清单"}).status_code == 403
    for who, status in (("a", 200), ("b", 200), ("c", 404), ("org_b", 404), ("admin", 200), ("org_a", 200)):
        assert clients[who].get(f"/api/reading-lists/{built}").status_code == status, who
    assert call(clients["a"], "post", f"/api/reading-lists/{built}/items",
                json={"kind": "search", "query": "物业"}).status_code == 403
    assert call(clients["org_b"], "delete", f"/api/reading-lists/{built}").status_code == 404
    assert call(clients["org_a"], "post", f"/api/reading-lists/{built}/assign",
                json={"unit_ids": [world["accounts"].unit_by_path(B1).id]}).status_code == 403
    assert clients["anonymous"].get(f"/api/reading-lists/{built}").status_code == 401
    mine = clients["b"].get("/api/reading-lists").json()
    assert [r["id"] for r in mine["assigned"]] == [built] and mine["managed"] == []


@pytest.mark.parametrize(("item", "status"), [
    ({"kind": "section", "document_id": DOC, "heading_path": "第九十九章 不存在"}, 400),
    ({"kind": "search", "query": "level:nowhere"}, 400),
    ({"kind": "document", "document_id": "no-such-document"}, 404),
    ({"kind": "passage", "passage_id": "no-such-passage"}, 404),
    ({"kind": "search", "query": "物业", "due": "31/12/2026"}, 422),
    ({"kind": "poem"}, 422),
])
def test_bad_items_are_refused_with_a_reason(world, built, item, status) -> None:
    response = call(world["clients"]["org_a"], "post", f"/api/reading-lists/{built}/items", json=item)
    assert response.status_code == status and response.json()["message"]


def test_progress_comes_from_evidence(world, built) -> None:
    clients = world["clients"]
    items = clients["a"].get(f"/api/reading-lists/{built}").json()["items"]
    # A link (GET) shows the text and records nothing: another site cannot record study for a member
    # (fails before: the GET recorded it). Opening through the list's button (a POST with the token) does.
    shown = clients["a"].get(items[1]["url"], follow_redirects=False)
    assert shown.status_code == 303 and shown.headers["location"].startswith(f"/documents/{DOC}#p-")
    assert not clients["a"].get(f"/api/reading-lists/{built}").json()["items"][1]["opened"]
    opened = clients["a"].post(items[1]["url"], data={"csrf_token": csrf_of(clients["a"])}, follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"].startswith(f"/documents/{DOC}#p-")
    assert clients["a"].post(items[1]["url"], follow_redirects=False).status_code == 403  # no token, no record
    for item in items[:2]:
        assert call(clients["a"], "post", f"/api/reading-lists/{built}/items/{item['id']}/studied",
                    json={"studied": True}).status_code == 200
    passage = world["store"].get_document(DOC).passages[3]
    branch = world["accounts"].unit_by_path(A1).id
    note = call(clients["a"], "post", "/api/notes", json={"passage_id": passage.id, "start": 0, "end": 4,
                                                          "body": "学习体会", "visibility": "organisers",
                                                          "unit_id": branch})
    assert note.status_code == 201
    private = call(clients["a"], "post", "/api/notes", json={"passage_id": passage.id, "start": 0, "end": 4,
                                                             "body": "只给自己看的", "visibility": "private"})
    assert private.status_code == 201
    assert call(clients["c"], "post", f"/api/reading-lists/{built}/items/{items[0]['id']}/studied",
                json={"studied": True}).status_code == 404  # not assigned to c
    assert clients["a"].get(f"/api/reading-lists/{built}/progress").status_code == 403  # members see their own

    progress = clients["org_a"].get(f"/api/reading-lists/{built}/progress").json()
    members = {m["login"]: m for m in progress["members"]}
    assert set(members) == {"a", "b"}
    # The shared note counts, the private one does not (fails before: private notes were counted for organisers).
    assert (members["a"]["opened"], members["a"]["studied"], members["a"]["notes"], members["a"]["percent"]) == \
        (1, 2, 1, 50)
    assert (members["b"]["studied"], members["b"]["percent"]) == (0, 0)
    assert progress["units"] == [{"unit": "第一党支部", "members": 2, "completed": 0, "average_percent": 25}]
    mine = clients["a"].get(f"/api/reading-lists/{built}").json()["items"]
    assert [i["studied"] for i in mine] == [True, True, False, False] and mine[1]["opened"]
    page = clients["org_a"].get(f"/lists/{built}").text
    assert "<progress" in page and "甲" in page and "50%" in page


def test_draft_from_a_topic_goes_from_central_down(world) -> None:
    proposals = world["clients"]["org_a"].get("/api/reading-lists/draft", params={"topic": "业主大会"}).json()
    levels = [p["level"] for p in proposals]
    assert levels[:1] == ["central"] and levels == sorted(levels, key=["central", "provincial", "municipal",
                                                                         "district"].index)
    assert all(p["passages"] for p in proposals)
    page = world["clients"]["org_a"].get("/lists/draft", params={"topic": "业主大会"}).text
    assert 'name="choice" value="document:' in page and "中央" in page


def test_build_a_list_from_a_draft_and_from_search_results_in_the_pages(world) -> None:
    org = world["clients"]["org_a"]
    token = csrf_of(org)
    proposals = org.get("/api/reading-lists/draft", params={"topic": "业主委员会"}).json()
    choice = [f"document:{proposals[0]['document_id']}", f"passage:{proposals[0]['passages'][0]['passage_id']}"]
    made = org.post("/lists/from-draft", data={"csrf_token": token, "title": "业主委员会专题", "choice": choice},
                    follow_redirects=False)
    assert made.status_code == 303
    list_id = int(made.headers["location"].rsplit("/", 1)[1])
    assert [i["kind"] for i in org.get(f"/api/reading-lists/{list_id}").json()["items"]] == ["document", "passage"]

    results = org.get("/search", params={"q": "业主大会", "mode": "keyword"}).text
    assert 'action="/lists/add"' in results
    passage_id = re.search(r'name="passage_id" value="([^"]+)"', results).group(1)
    added = org.post("/lists/add", data={"csrf_token": token, "list_id": list_id, "kind": "passage",
                                         "passage_id": passage_id, "next": "/search?q=x"}, follow_redirects=False)
    assert added.status_code == 303 and added.headers["location"] == "/search?q=x"
    reader = org.get(f"/documents/{DOC}").text
    assert 'name="heading_path"' in reader and "第二章 业主及业主大会" in reader
    section = org.post("/lists/add", data={"csrf_token": token, "list_id": list_id, "kind": "section",
                                           "document_id": DOC, "heading_path": "第二章 业主及业主大会"},
                       follow_redirects=False)
    assert section.status_code == 303
    kinds = [i["kind"] for i in org.get(f"/api/reading-lists/{list_id}").json()["items"]]
    assert kinds == ["document", "passage", "passage", "section"]
    forged = org.post("/lists/add", data={"csrf_token": "forged", "list_id": list_id, "kind": "document",
                                          "document_id": DOC})
    assert forged.status_code == 403
    assert 'action="/lists/add"' not in world["clients"]["a"].get("/search", params={"q": "业主大会"}).text


def test_study_pack_exports_open(world, built) -> None:
    from docx import Document as Docx
    from pypdf import PdfReader

    b = world["clients"]["b"]  # b's own note (private: a pack with notes is one's own), made here
    passage = world["store"].get_document(DOC).passages[3]
    note = call(b, "post", "/api/notes", json={"passage_id": passage.id, "start": 0, "end": 4,
                                               "body": "乙的学习体会", "visibility": "private"})
    assert note.status_code == 201, note.text
    docx = b.get(f"/api/reading-lists/{built}/export", params={"format": "docx", "notes": "true"})
    assert docx.status_code == 200
    text = "\n".join(p.text for p in Docx(io.BytesIO(docx.content)).paragraphs)
    for expected in ("学习材料汇编", "物业管理条例学习", "学习提示：重点学习业主大会的职责", "《物业管理条例》",
                     "第二十条", "检索：业主大会 level:provincial", "我的笔记", "乙的学习体会"):
        assert expected in text, expected
    pdf = b.get(f"/api/reading-lists/{built}/export", params={"format": "pdf"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(pdf.content))
    assert len(reader.pages) >= 5 and reader.metadata.title == "物业管理条例学习"
    assert world["accounts"].audit_entries(action="study_pack_exported")
