"""A one-time password (from a member import, the demo, or `user set-password --one-time`) opens one door: the
form that replaces it. Everything else, pages and API alike, waits until the member has a password of their own."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient
from sqlalchemy import select
from support import A1, PASSWORD, sign_in

from study_hub.store.models import AuditEntry


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


def test_wrong_current_passwords_count_against_the_sign_in_limit(world) -> None:
    """A borrowed session cannot guess its owner's password through the password form: of eight wrong guesses at
    once, then six more one by one, at most five are checked (the rest 429), and then neither the right password
    nor a sign-in is taken until the window passes."""
    accounts, app = world["accounts"], world["app"]
    accounts.add_user("guessed", "被猜者", PASSWORD, "member", [A1])
    browser = TestClient(app, client=("192.0.2.18", 50000))  # an address of its own: other tests' counts apart
    sign_in(browser, "guessed", PASSWORD)
    headers = {"X-CSRF-Token": browser.get("/api/me").json()["csrf_token"]}

    def guess(n: int) -> int:
        return browser.post("/api/me/password", headers=headers, json={
            "current_password": f"wrong-guess-{n}", "new_password": "a-brand-new-password"}).status_code

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(guess, range(8)))
    answers += [guess(n) for n in range(8, 14)]
    assert answers.count(400) <= 5 and answers.count(400) + answers.count(429) == 14, answers
    assert answers[-1] == 429, answers
    right = browser.post("/api/me/password", headers=headers, json={"current_password": PASSWORD,
                                                                    "new_password": "a-brand-new-password"})
    assert right.status_code == 429 and right.json()["error"] == "too_many_attempts"
    assert _login(TestClient(app, client=("192.0.2.19", 50000)), "guessed", PASSWORD).headers["location"] \
        .startswith("/login")  # throttled: back to the form, not signed in
    with world["store"].sessions() as session:  # five checked at most, and the password never changed
        ended = list(session.scalars(select(AuditEntry.action).where(AuditEntry.subject == "user:guessed")))
    assert "password_changed" not in ended and ended.count("login_failed") <= 5, ended
