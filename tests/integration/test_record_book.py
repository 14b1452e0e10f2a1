"""The record book: a session's record (会议记录) and a unit's 三会一课 ledger (台账), opened as a reader would open
them (python-docx, pypdf) and checked for the names, counts, reasons, minutes, documents and 文号; who may export
them; a session's 主持人 and 记录人 set at creation and changed later. The sessions' clock is the test's."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from support import A1, A2, DOC, PASSWORD, csrf_of, sign_in

START = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)  # 14:00 in Beijing, in 2026Q4
GROUP = f"{A1}/第一党小组"


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def call(client, method: str, path: str, **kwargs):
    return getattr(client, method)(path, headers={"X-CSRF-Token": csrf_of(client)}, **kwargs)


def ok(response, status: int = 200):
    assert response.status_code == status, response.text
    return response.json()


def docx_text(content: bytes) -> str:
    """Every paragraph and table cell of a Word file, whitespace removed (names are not split by it)."""
    from docx import Document as Docx

    document = Docx(io.BytesIO(content))
    parts = [p.text for p in document.paragraphs]
    parts += [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return "".join("\n".join(parts).split())


def pdf_text(content: bytes) -> str:
    """The text of every page, whitespace removed: a line may wrap inside a name."""
    from pypdf import PdfReader

    assert content.startswith(b"%PDF")
    return "".join("".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages).split())


def squeeze(text: str) -> str:
    return "".join(text.split())


@pytest.fixture(scope="module")
def branch(world):
    """Branch A1 with its secretary (organiser), a minute-taker and members, a 党小组 below it, and two
    sessions of the quarter: a past 支部党员大会 with every kind of attendance, and an upcoming 党课."""
    from fastapi.testclient import TestClient

    accounts, app = world["accounts"], world["app"]
    accounts.add_unit("第一党小组", "group", A1)
    people = {"shuji": ("王书记", "organiser", A1), "jilu": ("李记录", "member", A1), "d1": ("丁一", "member", A1),
              "d2": ("丁二", "member", A1), "d3": ("丁三", "member", GROUP)}
    clients = dict(world["clients"])
    for login, (name, role, path) in people.items():
        accounts.add_user(login, name, PASSWORD, role, [path])
        clients[login] = TestClient(app)
        sign_in(clients[login], login)
    clock = Clock(START - timedelta(days=2))
    app.state.context.study_sessions.clock = clock
    a1 = accounts.unit_by_path(A1).id
    shuji = clients["shuji"]
    reading = ok(call(shuji, "post", "/api/reading-lists", json={"title": "物业管理专题学习", "unit_id": a1}), 201)
    for doc in (DOC, "municipal-reg-qingdao-property-2021"):
        ok(call(shuji, "post", f"/api/reading-lists/{reading['id']}/items", json={"kind": "document",
                                                                                    "document_id": doc}), 201)
    ok(call(shuji, "post", f"/api/reading-lists/{reading['id']}/items", json={
        "kind": "section", "document_id": DOC, "heading_path": "第二章 业主及业主大会"}), 201)
    ok(call(shuji, "post", f"/api/reading-lists/{reading['id']}/assign", json={"unit_ids": [a1]}))
    meeting = ok(call(shuji, "post", "/api/sessions", json={
        "title": "第四季度支部党员大会", "kind": "branch_meeting", "starts_at": START.isoformat(),
        "ends_at": (START + timedelta(hours=2)).isoformat(), "place": "五一社区党群服务中心二楼",
        "host_unit_id": a1, "unit_ids": [a1], "reading_list_id": reading["id"], "presider": "shuji",
        "recorder": "jilu", "agenda": "1. 传达学习《物业管理条例》\n2. 讨论无物业小区治理"}), 201)
    lecture = ok(call(shuji, "post", "/api/sessions", json={
        "title": "书记讲党课", "kind": "party_lecture", "starts_at": (START + timedelta(days=19)).isoformat(),
        "ends_at": (START + timedelta(days=19, hours=1)).isoformat(), "host_unit_id": a1, "unit_ids": [a1]}), 201)
    group = ok(call(shuji, "post", "/api/sessions", json={
        "title": "党小组学习", "kind": "group_meeting", "starts_at": (START + timedelta(days=3)).isoformat(),
        "ends_at": (START + timedelta(days=3, hours=1)).isoformat(),
        "host_unit_id": accounts.unit_by_path(GROUP).id, "unit_ids": [accounts.unit_by_path(GROUP).id]}), 201)
    ok(call(clients["org_a"], "post", "/api/sessions", json={  # the sibling branch's: not in A1's ledger
        "title": "第二支部支委会", "kind": "committee", "starts_at": START.isoformat(),
        "ends_at": (START + timedelta(hours=1)).isoformat(), "host_unit_id": accounts.unit_by_path(A2).id,
        "unit_ids": [accounts.unit_by_path(A2).id]}), 201)

    sid = meeting["id"]
    ok(call(clients["d1"], "post", f"/api/sessions/{sid}/leave", json={"reason": "赴外地出差"}))
    ok(call(clients["d2"], "post", f"/api/sessions/{sid}/leave", json={"reason": "家中有事"}))
    ok(call(shuji, "post", f"/api/sessions/{sid}/leave/d1", json={"approve": True}))
    ok(call(shuji, "post", f"/api/sessions/{sid}/leave/d2", json={"approve": False}))
    clock.now = START - timedelta(minutes=10)
    code = ok(call(shuji, "post", f"/api/sessions/{sid}/checkin-code"))["code"]
    for login in ("shuji", "jilu", "a"):
        ok(call(clients[login], "post", f"/api/sessions/{sid}/checkin", json={"code": code}))
    clock.now = START + timedelta(minutes=12)
    code = ok(call(shuji, "post", f"/api/sessions/{sid}/checkin-code"))["code"]
    ok(call(clients["b"], "post", f"/api/sessions/{sid}/checkin", json={"code": code}))
    ok(call(shuji, "post", f"/api/sessions/{sid}/attendance", json={"login": "d3", "status": "absent",
                                                                   "reason": "多次联系未到会"}))
    ok(call(shuji, "put", f"/api/sessions/{sid}/minutes", json={
        "minutes": "王书记领学《物业管理条例》第二章。\n大家围绕无物业小区治理交流发言。"}))
    clock.now = START + timedelta(hours=3)
    ok(call(shuji, "post", f"/api/sessions/{sid}/close"))
    clock.now = START + timedelta(days=2)
    for item in ok(clients["d1"].get(f"/api/reading-lists/{reading['id']}"))["items"]:
        ok(call(clients["d1"], "post", f"/api/reading-lists/{reading['id']}/items/{item['id']}/studied",
                json={"studied": True}))
    ok(call(clients["d1"], "post", f"/api/sessions/{sid}/makeup", json={
        "reflection": "补学了《物业管理条例》全文，对业主大会的职责有了新的认识。"}))
    clock.now = START + timedelta(days=3)
    ok(call(shuji, "post", f"/api/sessions/{sid}/makeup/d1/confirm"))
    clock.now = START + timedelta(days=9)  # 2026-12-10: the 党课 is still ahead
    return {**world, "clients": clients, "clock": clock, "meeting": sid, "lecture": lecture["id"],
            "group": group["id"], "a1": a1}


EXPECTED_RECORD = [
    "会议记录", "第四季度支部党员大会", "支部党员大会", "2026年12月01日14:00—16:00", "五一社区党群服务中心二楼",
    "主持人王书记", "记录人李记录", "应到7人，实到4人，迟到1人，请假1人，缺席2人",
    "甲", "乙（14:12签到）", "丁一（赴外地出差）", "丁二（请假未获批准：家中有事）", "丁三（多次联系未到会）",
    "传达学习《物业管理条例》", "学习清单：物业管理专题学习", "《物业管理条例》（国务院令第379号，2018-03-19）",
    "《青岛市物业管理条例》", f"http://testserver/documents/{DOC}",
    "3. 《物业管理条例》第二章 业主及业主大会（国务院令第379号，2018-03-19）", f"http://testserver/documents/{DOC}#p-{DOC}.",
    "王书记领学《物业管理条例》第二章。", "大家围绕无物业小区治理交流发言。",
    "补学情况（1人，已确认1人）", "丁一（请假）", "确认：2026-12-0414:00王书记", "对业主大会的职责有了新的认识",
]


def test_a_session_record_in_word_and_pdf(branch) -> None:
    shuji, sid = branch["clients"]["shuji"], branch["meeting"]
    docx = shuji.get(f"/api/sessions/{sid}/record", params={"format": "docx"})
    assert docx.status_code == 200 and docx.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert f'filename="session-record-{sid}.docx"' in docx.headers["content-disposition"]
    pdf = shuji.get(f"/api/sessions/{sid}/record", params={"format": "pdf"})
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    for text in (docx_text(docx.content), pdf_text(pdf.content)):
        for expected in EXPECTED_RECORD:
            assert squeeze(expected) in text, expected
        assert "丙" not in text  # a member of the other branch
    from docx import Document as Docx

    links = [r.target_ref for r in Docx(io.BytesIO(docx.content)).part.rels.values() if r.is_external]
    assert f"http://testserver/documents/{DOC}" in links  # a clickable link into the reader
    assert [e.detail["format"] for e in branch["accounts"].audit_entries(action="session_record_exported")][:2] \
        == ["pdf", "docx"]


def test_the_unit_ledger_counts_types_against_the_rule(branch) -> None:
    shuji, a1 = branch["clients"]["shuji"], branch["a1"]
    docx = shuji.get(f"/api/units/{a1}/ledger", params={"period": "2026Q4", "format": "docx"})
    pdf = shuji.get(f"/api/units/{a1}/ledger", params={"period": "2026Q4", "format": "pdf"})
    assert docx.status_code == pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    for text in (docx_text(docx.content), pdf_text(pdf.content)):
        for expected in ("“三会一课”记录台账", squeeze(A1), "2026年第四季度（2026-10-01至2026-12-31）",
                         "生成时间：2026-12-1014:00", "生成人：王书记", "第四季度支部党员大会", "党小组学习", "书记讲党课",
                         "2026-12-01支部党员大会第四季度支部党员大会王书记741121",
                         "支部党员大会1100达标", "支委会3003未达标：缺3次", "党小组会3102未达标：缺2次",
                         "党课1010达标", "每季度支部党员大会1次，支委会3次，党小组会3次，党课1次",
                         "《中国共产党支部工作条例（试行）》", *EXPECTED_RECORD[3:8]):
            assert squeeze(expected) in text, expected
        assert "第二支部支委会" not in text  # the sibling branch's session
    year = shuji.get(f"/api/units/{a1}/ledger", params={"period": "2026", "format": "docx"})
    assert "支部党员大会4103未达标：缺3次" in docx_text(year.content)  # a year: four quarters' worth
    empty = docx_text(shuji.get(f"/api/units/{a1}/ledger", params={"period": "2027Q1"}).content)
    assert "本期无会议记录" in empty and "支委会3003未达标：缺3次" in empty
    audited = branch["accounts"].audit_entries(action="ledger_exported")
    assert (audited[0].subject, audited[0].detail) == (f"unit:{a1}", {"period": "2027Q1", "format": "docx"})


def test_who_may_export_records_and_ledgers(branch) -> None:
    clients, sid, a1 = branch["clients"], branch["meeting"], branch["a1"]
    for login in ("shuji", "org_a", "admin"):  # the branch's organiser, the community's above it, an admin
        assert clients[login].get(f"/api/sessions/{sid}/record").status_code == 200, login
        assert clients[login].get(f"/api/units/{a1}/ledger", params={"period": "2026Q4"}).status_code == 200, login
    assert clients["org_b"].get(f"/api/sessions/{sid}/record").status_code == 404  # another community's organiser
    assert clients["c"].get(f"/api/sessions/{sid}/record").status_code == 404  # another branch's member
    assert clients["a"].get(f"/api/sessions/{sid}/record").status_code == 403  # expected there, organises nothing
    assert clients["org_b"].get(f"/api/units/{a1}/ledger").status_code == 403
    assert clients["a"].get(f"/api/units/{a1}/ledger").status_code == 403
    assert clients["admin"].get("/api/units/999999/ledger").status_code == 404
    assert clients["anonymous"].get(f"/api/units/{a1}/ledger").status_code == 401
    bad = clients["shuji"].get(f"/api/units/{a1}/ledger", params={"period": "2026Q5"})
    assert bad.status_code == 422


def test_presider_and_recorder_are_set_and_changed_by_organisers(branch) -> None:
    clients, sid = branch["clients"], branch["meeting"]
    shown = ok(clients["shuji"].get(f"/api/sessions/{sid}"))
    assert (shown["presider"]["login"], shown["recorder"]["display_name"]) == ("shuji", "李记录")
    changed = ok(call(clients["shuji"], "patch", f"/api/sessions/{sid}", json={"recorder": "d1"}))
    assert (changed["presider"]["login"], changed["recorder"]["login"]) == ("shuji", "d1")  # presider unchanged
    assert ok(call(clients["shuji"], "patch", f"/api/sessions/{sid}", json={"recorder": None}))["recorder"] is None
    assert call(clients["shuji"], "patch", f"/api/sessions/{sid}", json={"recorder": "c"}).status_code == 404
    assert call(clients["a"], "patch", f"/api/sessions/{sid}", json={"recorder": "a"}).status_code == 403
    page = clients["shuji"].get(f"/sessions/{sid}").text
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    assert f"/api/sessions/{sid}/record?format=pdf" in page and f"/attendance?unit={branch['a1']}" in page
    moved = clients["shuji"].post(f"/sessions/{sid}/people", data={"csrf_token": token, "presider": "shuji",
                                                                   "recorder": "jilu"}, follow_redirects=False)
    assert moved.status_code == 303
    assert ok(clients["shuji"].get(f"/api/sessions/{sid}"))["recorder"]["login"] == "jilu"
    attendance = clients["shuji"].get("/attendance", params={"unit": branch["a1"]}).text
    assert 'action="/ledger"' in attendance and f'<option value="{branch["a1"]}" selected>' in attendance
    assert "2026Q4" in attendance and "2026-12-01 14:00" in attendance  # the table in local time, as exports
    sent = clients["shuji"].get("/ledger", params={"unit": branch["a1"], "period": "2026Q4", "format": "docx"},
                                follow_redirects=False)
    assert sent.status_code == 303 and sent.headers["location"] == \
        f"/api/units/{branch['a1']}/ledger?period=2026Q4&format=docx"


def test_periods() -> None:
    from datetime import date

    from study_hub.study.records import RecordError, current_quarter, parse_period, recent_periods

    assert parse_period("2026Q4")[:3] == (date(2026, 10, 1), date(2027, 1, 1), "2026年第四季度")
    assert parse_period("2026-q1")[:3] == (date(2026, 1, 1), date(2026, 4, 1), "2026年第一季度")
    assert parse_period("2026") == (date(2026, 1, 1), date(2027, 1, 1), "2026年", 4)
    with pytest.raises(RecordError):
        parse_period("2026Q5")
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("Asia/Shanghai")
    new_year = datetime(2026, 12, 31, 17, 0, tzinfo=UTC)  # already 2027 in Beijing
    assert current_quarter(new_year, zone) == "2027Q1"
    assert recent_periods(new_year, zone) == ["2027Q1", "2026Q4", "2026Q3", "2026Q2", "2027", "2026"]
