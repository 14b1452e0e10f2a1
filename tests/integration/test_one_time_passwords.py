"""A one-time password (from a member import, the demo, or `user set-password --one-time`) opens one door: the
form that replaces it. Everything else, pages and API alike, waits until the member has a password of their own."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from support import A1, PASSWORD, sign_in


def _login(client: TestClient, login: str, password: str, next_page: str = "/notes"):
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return client.post("/login", data={"login": login, "password": password, "csrf_token": token,
                                       "next": next_page}, follow_redirects=False)


def test_a_one_time_password_must_be_replaced_before_anything_else(world, tmp_path) -> None:
    from study_hub.accounts.importer import import_members, read_rows

    accounts, app = world["accounts"], world["app"]
    members = tmp_path / "members.csv"
    members.write_text(f"name,login,unit\n新党员,xin,{A1}\n", encoding="utf-8")
    report = import_members(accounts, read_rows(members))
    one_time = dict(report.added)["xin"]
    assert accounts.get_user("xin").must_change_password

    browser, other = TestClient(app), TestClient(app)
    signed = _login(browser, "xin", one_time)
    assert signed.status_code == 303 and signed.headers["location"] == "/account/password?next=%2Fnotes"
    assert _login(other, "xin", one_time).status_code == 303  # a second browser, signed in with it too
    blocked = browser.get("/notes", follow_redirects=False)
    assert blocked.status_code == 303 and blocked.headers["location"] == "/account/password?next=%2Fnotes"
    assert browser.get("/", follow_redirects=False).status_code == 303  # even the search page
    api = browser.get("/api/notes")
    assert api.status_code == 403 and api.json()["error"] == "password_change_required"
    me = browser.get("/api/me").json()
    assert me["must_change_password"] and me["login"] == "xin"
    form = browser.get("/account/password", params={"next": "/notes"})
    assert form.status_code == 200 and "一次性密码" in form.text

    headers = {"X-CSRF-Token": me["csrf_token"]}
    wrong = browser.post("/api/me/password", headers=headers, json={"current_password": "not-the-one-time",
                                                                    "new_password": "my-own-password-1"})
    assert wrong.status_code == 400 and "current password" in wrong.json()["message"]
    same = browser.post("/api/me/password", headers=headers, json={"current_password": one_time,
                                                                   "new_password": one_time})
    assert same.status_code == 400 and "new password" in same.json()["message"]
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    differ = browser.post("/account/password", data={"csrf_token": token, "current_password": one_time,
                                                     "new_password": "my-own-password-1",
                                                     "repeat_password": "my-own-password-2", "next": "/notes"},
                          follow_redirects=False)
    assert differ.status_code == 303 and differ.headers["location"].startswith("/account/password?")
    changed = browser.post("/account/password", data={"csrf_token": token, "current_password": one_time,
                                                      "new_password": "my-own-password-1",
                                                      "repeat_password": "my-own-password-1", "next": "/notes"},
                           follow_redirects=False)
    assert changed.status_code == 303 and changed.headers["location"] == "/notes"
    assert browser.get("/notes").status_code == 200 and browser.get("/api/notes").status_code == 200
    assert not accounts.get_user("xin").must_change_password
    assert other.get("/api/notes").status_code == 401  # the other sign-in with the one-time password ended
    assert _login(TestClient(app), "xin", one_time).headers["location"].startswith("/login?")  # it is gone
    assert _login(TestClient(app), "xin", "my-own-password-1").headers["location"] == "/notes"
    assert accounts.audit_entries(action="password_changed")[0].detail == {"by": "self"}


def test_an_admin_can_hand_out_a_one_time_password(world) -> None:
    accounts = world["accounts"]
    accounts.add_user("lao", "老党员", PASSWORD, "member", [A1])
    accounts.set_password("lao", "handed-over-once", one_time=True)
    browser = TestClient(world["app"])
    assert _login(browser, "lao", "handed-over-once").headers["location"].startswith("/account/password")
    accounts.set_password("lao", PASSWORD)  # an ordinary new password: used as it is
    sign_in(browser, "lao")
    assert browser.get("/api/notes").status_code == 200
