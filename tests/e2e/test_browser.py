"""The pages in a real browser: Playwright driving Debian's Chromium (`make test` installs it).

A person searches, sees highlighted hits, filters by level, opens a hit and lands on the highlighted
passage, follows the table of contents, copies a citation; the same on a phone-sized screen. Screenshots
go to test-output/screenshots/ for a person to look at.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from pathlib import Path

import pytest
import uvicorn

from study_hub.webapp import create_app

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"


READER_PASSWORD = "reader-password-2026"


@pytest.fixture(scope="module")
def browser_home(tmp_path_factory, embedder, test_vector_cache):
    """A home of this module's own: the tests add members, notes, lists and sessions to it."""
    from conftest import build_semantic_home

    return build_semantic_home(tmp_path_factory.mktemp("browser-home"), embedder, test_vector_cache)


@pytest.fixture(scope="module")
def base_url(browser_home, embedder):
    settings, store = browser_home
    from study_hub.accounts import AccountService

    accounts = AccountService(store)
    if not any(path == "浏览器测试支部" for _, path in accounts.list_units()):
        accounts.add_unit("浏览器测试支部", "branch")
        accounts.add_user("reader", "读者", READER_PASSWORD, "member", ["浏览器测试支部"])
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings, encoder=embedder), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail("Debian's Chromium is missing: `make test` installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                              args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser, base_url):
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900}, locale="zh-CN")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base_url)
    elsewhere: list[str] = []  # the site must work with no internet: nothing may be fetched from another host

    def only_this_site(route) -> None:
        if route.request.url.startswith(base_url):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()
    context.route("**/*", only_this_site)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    yield opened
    context.close()
    assert not elsewhere, f"pages fetched from other hosts: {elsewhere}"
    assert not errors, f"errors in the browser console: {errors}"


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)


def test_search_filter_open_a_hit_and_land_on_the_passage(page) -> None:
    page.goto("/")
    box = page.get_by_role("searchbox")
    assert box.evaluate("el => el === document.activeElement")  # the search page starts in the box
    box.fill("业主大会")
    page.get_by_label("关键词").check()
    box.press("Enter")
    page.wait_for_url(re.compile(r"/search\?q="))
    hits = page.locator("li.hit")
    assert hits.count() == 10
    assert page.locator("li.hit .snippet mark").first.inner_text() == "业主大会"
    shot(page, "1-search")

    page.locator(".facets a", has_text="市级").click()
    page.wait_for_url(re.compile(r"level=municipal"))
    levels = page.locator("li.hit .tag.level-municipal")
    assert hits.count() > 0 and levels.count() == hits.count()

    first = hits.first.locator("h3 a")
    title = first.inner_text()
    first.click()
    page.wait_for_url(re.compile(r"/documents/.+#p-"))
    passage_id = page.url.split("#p-")[1]
    current = page.locator("section.passage.current")
    current.wait_for()
    assert current.get_attribute("data-passage") == passage_id
    assert current.locator("mark").count() > 0 and page.locator("h1").inner_text() == title
    box = current.bounding_box()
    assert box is not None and 0 <= box["y"] < 900  # scrolled into view
    shot(page, "2-reader-at-hit")


def test_table_of_contents_and_citation(page) -> None:
    page.goto("/documents/central-reg-property-management-2018")
    chapter = page.locator("nav.toc a", has_text="第六章")
    chapter.click()
    page.wait_for_url(re.compile(r"#p-"))
    current = page.locator("section.passage.current")
    assert "第六章" in current.inner_text()
    current.locator("button.copy").click()
    page.locator(".copied-status").filter(has_text="已复制").wait_for()
    assert "《物业管理条例》" in page.locator(".copied-status").inner_text()
    shot(page, "3-table-of-contents")


def test_follow_a_reference_to_the_article_it_cites(page) -> None:
    """法条联想: 第十二条 of 物业管理条例 refers to 本条例第十一条; the reference is a link that lands on 第十一条."""
    page.goto("/documents/central-reg-property-management-2018")
    link = page.locator("a.cite", has_text="本条例第十一条第(五)项")
    assert link.count() == 1
    assert "第十一条" in link.get_attribute("title")
    citing = link.locator("xpath=ancestor::section[contains(@class, 'passage')]").get_attribute("data-passage")
    link.click()
    page.wait_for_url(re.compile(r"#p-"))
    current = page.locator("section.passage.current")
    current.wait_for()
    assert current.get_attribute("aria-label").endswith("第十一条")
    assert current.inner_text().lstrip().startswith("第十一条")
    assert current.get_attribute("data-passage") != citing
    box = current.bounding_box()
    assert box is not None and 0 <= box["y"] < 900  # scrolled to the cited article
    # The cited article says what cites it, under 本文件内 (its own document's references to it).
    cited_by = current.locator("details.cited-by")
    cited_by.locator("summary").click()
    assert cited_by.locator("a").first.get_attribute("href") == f"/documents/central-reg-property-management-2018#p-{citing}"
    shot(page, "citation-landed")
    # A reference to a document the library lacks is marked, not linked.
    missing = page.locator("span.cite.unresolved", has_text="《国务院关于修改部分行政法规的决定》")
    assert missing.count() == 1 and missing.get_attribute("title") == "库中暂无该文件"


def test_keyboard_only(page) -> None:
    page.goto("/search?q=物业服务")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"#main$"))
    for _ in range(40):  # tab on until a result link has the focus, then open it with Enter
        page.keyboard.press("Tab")
        if page.evaluate("!!document.activeElement.closest('li.hit h3')"):
            break
    else:
        pytest.fail("no search result can be reached with the keyboard")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/documents/"))


def test_phone_screen_puts_results_first(browser, base_url) -> None:
    context = browser.new_context(base_url=base_url, viewport={"width": 390, "height": 844}, is_mobile=True,
                                  has_touch=True)
    phone = context.new_page()
    phone.goto("/search?q=物业&mode=keyword")
    results = phone.locator("section.results").bounding_box()
    facets = phone.locator("aside.facets").bounding_box()
    assert results["y"] < facets["y"] and results["width"] <= 390
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the screen
    shot(phone, "4-phone-search")
    phone.goto("/documents/central-reg-property-management-2018")
    assert phone.locator(".toc details").get_attribute("open") is None  # contents folded, text first
    shot(phone, "5-phone-reader")
    context.close()


def test_english_interface(page) -> None:
    page.goto("/?lang=en")
    assert page.get_by_role("button", name="Search").is_visible()
    page.goto("/documents")
    assert page.locator("h1").inner_text() == "Library"  # remembered


def test_api_documentation_works_offline(page) -> None:
    page.goto("/docs")
    page.locator(".swagger-ui .info .title", has_text="study_hub").wait_for(timeout=15000)
    assert page.locator(".opblock-summary-path", has_text="/api/search").count() == 1
    shot(page, "6-api-docs")


def test_select_words_and_save_a_note(page) -> None:
    page.goto("/documents/central-reg-property-management-2018")
    page.get_by_role("link", name="登录").click()
    page.get_by_label("账号").fill("reader")
    page.get_by_label("密码").fill(READER_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/documents/central-reg-property-management-2018$"))
    assert page.locator("header.site .who").inner_text() == "读者"

    line = page.locator("section.passage p", has_text="业主大会").first
    # Select "业主大会" in that line as a person would with the mouse, then let the page react.
    page.evaluate("""(line) => {
        const walker = document.createTreeWalker(line, NodeFilter.SHOW_TEXT);
        let node; while ((node = walker.nextNode())) { const at = node.data.indexOf("业主大会");
          if (at >= 0) { const range = document.createRange(); range.setStart(node, at); range.setEnd(node, at + 4);
            const chosen = window.getSelection(); chosen.removeAllRanges(); chosen.addRange(range); break; } }
        document.dispatchEvent(new MouseEvent("mouseup", {bubbles: true}));
    }""", line.element_handle())
    form = page.locator("#note-form")
    form.wait_for(state="visible")
    assert form.locator(".note-quote").inner_text() == "业主大会"
    form.get_by_label("学习体会（支持 Markdown）").fill("业主大会由全体业主组成，**要点**。")
    form.get_by_label("标签（用空格分隔）").fill("物业 自治")
    shot(page, "7-note-form")
    form.get_by_role("button", name="保存").click()
    page.locator("mark.note", has_text="业主大会").first.wait_for()
    card = page.locator(".note-card").first
    assert "要点" in card.locator(".note-body strong").inner_text() and "#物业" in card.inner_text()
    shot(page, "8-note-saved")

    page.goto("/notes")
    assert page.locator(".note-card blockquote").first.inner_text() == "业主大会"


def sign_in_page(page, login: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("账号").fill(login)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/$"))


def test_reply_under_a_shared_note_see_the_badge_and_hide_it(browser, base_url, browser_home) -> None:
    """A member replies under a note shared with the branch (a plain form, no script needed); the note's author
    sees the new reply counted in the header and on the notes page, opens the discussion (the badge goes) and
    hides the reply: a third member then sees only that it was hidden, its author still reads it."""
    from study_hub.accounts import AccountService
    from study_hub.study.notes import NoteService

    _, store = browser_home
    accounts = AccountService(store)
    accounts.add_unit("研讨测试支部", "branch")
    for login, name in (("writer", "笔记作者"), ("replier", "回复人"), ("bystander", "旁观者")):
        accounts.add_user(login, name, READER_PASSWORD, "member", ["研讨测试支部"])
    writer = accounts.principal(accounts.get_user("writer"))
    passage = store.get_document("central-reg-property-management-2018").passages[4]
    note = NoteService(store, accounts).create(writer, passage.id, 0, 5, body="这一条怎么落实？", visibility="unit",
                                               unit_id=writer.units[0][0])

    def person(login: str):
        page = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900}, locale="zh-CN").new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        sign_in_page(page, login, READER_PASSWORD)
        return page, errors

    replier, replier_errors = person("replier")
    replier.goto("/notes?scope=shared")
    card = replier.locator(f"#note-{note.id}")
    card.locator(".reply-compose summary").click()
    card.get_by_label(re.compile("回复（支持 Markdown")).fill("要结合**小区实际**，先摸清业主意见。<b>粗</b>")
    card.get_by_role("button", name="发表回复").click()
    replier.wait_for_url(re.compile(r"/notes\?scope=shared#reply-\d+$"))
    reply = replier.locator(f"#note-{note.id} .reply").first
    assert "小区实际" in reply.locator(".reply-body strong").inner_text()
    assert "<b>粗</b>" in reply.inner_text()  # markup typed in a reply stays text
    shot(replier, "11-reply-posted")

    writer_page, writer_errors = person("writer")
    badge = writer_page.locator("header.site nav a[href='/notes'] .badge")
    assert badge.locator(".count").inner_text() == "1"
    writer_page.goto("/notes")
    assert "1 条新回复" in writer_page.locator(f"#note-{note.id} .thread-preview").inner_text()
    shot(writer_page, "12-new-reply-badge")
    writer_page.locator(f"#note-{note.id} .thread-head a").click()
    writer_page.wait_for_url(re.compile(rf"/notes/{note.id}#replies$"))
    assert writer_page.locator("header.site nav a[href='/notes'] .badge").count() == 0  # seen now
    writer_page.locator(".reply").first.get_by_role("button", name="隐藏").click()
    writer_page.locator(".reply .hidden-note").wait_for()
    assert "笔记作者" in writer_page.locator(".reply .hidden-note").inner_text()
    shot(writer_page, "13-reply-hidden")

    bystander, bystander_errors = person("bystander")
    bystander.goto(f"/notes/{note.id}")
    assert bystander.locator(".reply .placeholder").inner_text() == "此回复已被隐藏"
    assert "小区实际" not in bystander.locator("#replies").inner_text()
    bystander.set_viewport_size({"width": 390, "height": 844})  # the discussion fits a phone
    for path in (f"/notes/{note.id}", "/notes?scope=shared"):
        bystander.goto(path)
        assert bystander.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1, path
    shot(bystander, "14-discussion-phone")
    replier.goto(f"/notes/{note.id}")
    assert "小区实际" in replier.locator(".reply-body").inner_text()
    assert replier.locator(".reply").get_by_role("button", name="删除").count() == 0  # hidden: not changeable now
    for page, errors in ((replier, replier_errors), (writer_page, writer_errors), (bystander, bystander_errors)):
        assert not errors, errors
        page.context.close()


def test_check_in_with_the_code_on_the_organisers_screen(browser, base_url, browser_home) -> None:
    from datetime import UTC, datetime, timedelta

    from study_hub.accounts import AccountService
    from study_hub.study.sessions import SessionService

    _, store = browser_home
    accounts = AccountService(store)
    accounts.add_unit("签到测试支部", "branch")
    accounts.add_user("host", "主持人", READER_PASSWORD, "organiser", ["签到测试支部"])
    accounts.add_user("attendee", "参会人", READER_PASSWORD, "member", ["签到测试支部"])
    host = accounts.principal(accounts.get_user("host"))
    now = datetime.now(UTC)
    study = SessionService(store, accounts).create(
        host, title="支部党员大会", kind="branch_meeting", starts_at=now + timedelta(minutes=10),
        ends_at=now + timedelta(hours=1), host_unit_id=host.units[0][0], unit_ids=[host.units[0][0]])

    organiser = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900}).new_page()
    sign_in_page(organiser, "host", READER_PASSWORD)
    organiser.goto(f"/sessions/{study.id}/screen")
    organiser.locator(".qr svg").wait_for()
    code = organiser.locator(".short-code").inner_text()
    assert re.fullmatch(r"\d{6}", code)
    # the host's unit: the host and the attendee are expected
    assert organiser.locator(".tally").inner_text().replace(" ", "") == "已签到0/2"
    assert 0 < int(organiser.locator(".seconds-left").inner_text()) <= 20
    shot(organiser, "9-checkin-screen")

    member = browser.new_context(base_url=base_url, viewport={"width": 390, "height": 844}, is_mobile=True).new_page()
    sign_in_page(member, "attendee", READER_PASSWORD)
    member.goto(f"/sessions/{study.id}")
    member.get_by_label("签到码").fill(code)
    member.get_by_role("button", name="签到").click()
    member.locator("h2", has_text="我的状态：出席").wait_for()
    shot(member, "10-checked-in")
    organiser.locator(".tally", has_text="1 / 2").wait_for(timeout=10_000)  # the next refresh counts them

    organiser.goto(f"/sessions/{study.id}")
    assert "出席" in organiser.locator("table.attendance").inner_text()
    organiser.context.close()
    member.context.close()


def test_markup_typed_by_members_stays_text(browser, base_url, browser_home) -> None:
    """HTML and script in a note, its tags, a list title and a session title are shown as text, never run."""
    from datetime import UTC, datetime, timedelta

    from study_hub.accounts import AccountService
    from study_hub.study.notes import NoteService
    from study_hub.study.reading_lists import ReadingListService
    from study_hub.study.sessions import SessionService

    _, store = browser_home
    accounts = AccountService(store)
    accounts.add_unit("安全测试支部", "branch")
    accounts.add_user("mallory", "<b>马</b>", READER_PASSWORD, "organiser", ["安全测试支部"])
    who = accounts.principal(accounts.get_user("mallory"))
    payload = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'
    passage = store.get_document("central-reg-property-management-2018").passages[2]
    NoteService(store, accounts).create(who, passage.id, 0, 3, body=f"体会 {payload} [链接](javascript:window.__xss=3)",
                                        tags=["<i>t</i>"])
    reading = ReadingListService(store, accounts).create(who, f"清单{payload}")
    now = datetime.now(UTC)
    study = SessionService(store, accounts).create(
        who, title=f"会议{payload}", kind="thematic", starts_at=now, ends_at=now + timedelta(hours=1),
        host_unit_id=who.units[0][0], unit_ids=[who.units[0][0]])

    page = browser.new_context(base_url=base_url).new_page()
    sign_in_page(page, "mallory", READER_PASSWORD)
    for path in ("/documents/central-reg-property-management-2018", "/notes", f"/lists/{reading.id}", "/lists",
                 f"/sessions/{study.id}", "/sessions"):
        page.goto(path)
        for link in page.locator(".note-body a").all():
            link.click(no_wait_after=True)  # a javascript: link must not survive Markdown rendering
        assert page.evaluate("window.__xss") is None, path
        assert page.locator("img[src=x]").count() == 0, path
    page.goto("/notes")
    assert "<script>window.__xss=1</script>" in page.locator(".note-body").first.inner_text()
    assert "#<i>t</i>" in page.locator(".note-tag").first.inner_text()
    assert page.locator("header .who").inner_text() == "<b>马</b>"
    page.context.close()


def test_every_page_fits_a_desktop_and_a_phone(browser, base_url, browser_home) -> None:
    """Each page, signed in as an organiser with a list, a note and a session: nothing wider than the screen at
    1280 and 390 pixels, no error in the console; a screenshot of each in test-output/screenshots/pages/."""
    from datetime import UTC, datetime, timedelta

    from study_hub.accounts import AccountService
    from study_hub.study.notes import NoteService
    from study_hub.study.reading_lists import ReadingListService
    from study_hub.study.sessions import SessionService

    _, store = browser_home
    accounts = AccountService(store)
    accounts.add_unit("页面巡查支部", "branch")
    accounts.add_user("tour", "巡查员", READER_PASSWORD, "organiser", ["页面巡查支部"])
    accounts.add_user("tour-member", "支部党员", READER_PASSWORD, "member", ["页面巡查支部"])
    who = accounts.principal(accounts.get_user("tour"))
    doc = "central-reg-property-management-2018"
    passage = store.get_document(doc).passages[3]
    note = NoteService(store, accounts).create(who, passage.id, 0, 6, body="**体会**：业主大会的职责。", tags=["物业"],
                                               visibility="unit", unit_id=who.units[0][0])
    lists = ReadingListService(store, accounts)
    reading = lists.create(who, "物业管理专题学习清单", "第一季度", unit_id=who.units[0][0])
    lists.add_item(who, reading.id, "document", document_id=doc)
    now = datetime.now(UTC)
    study = SessionService(store, accounts).create(
        who, title="物业管理条例专题学习会", kind="thematic", starts_at=now + timedelta(minutes=5),
        ends_at=now + timedelta(hours=2), host_unit_id=who.units[0][0], unit_ids=[who.units[0][0]],
        place="社区党群服务中心三楼", reading_list_id=reading.id)
    pages = {"search": "/search?q=业主大会&mode=keyword", "library": "/documents", "reader": f"/documents/{doc}",
             "passage": f"/passages/{passage.id}", "notes": "/notes", "thread": f"/notes/{note.id}", "lists": "/lists",
             "list": f"/lists/{reading.id}", "draft": "/lists/draft?topic=物业管理", "sessions": "/sessions",
             "session": f"/sessions/{study.id}", "screen": f"/sessions/{study.id}/screen",
             "attendance": "/attendance"}
    folder = SHOTS / "pages"
    folder.mkdir(parents=True, exist_ok=True)
    for width, height, label in ((1280, 900, "desktop"), (390, 844, "phone")):
        context = browser.new_context(base_url=base_url, viewport={"width": width, "height": height},
                                      is_mobile=label == "phone", locale="zh-CN")
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error, found=errors: found.append(str(error)))
        page.goto("/login")
        page.screenshot(path=str(folder / f"login-{label}.png"))
        sign_in_page(page, "tour", READER_PASSWORD)
        for name, path in pages.items():
            page.goto(path)
            assert page.locator("h1").count() == 1, (name, label)  # one title per page, for screen readers too
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, f"{name} is {overflow}px wider than a {label} screen"
            page.screenshot(path=str(folder / f"{name}-{label}.png"), full_page=True)
        assert not errors, (label, errors)
        context.close()


REVISED = "yz-revised-rules"
REVISED_V1 = ("关于社区议事协商的规定\n"
              "第一条 为了推动社区议事协商常态化，规范议事程序，保障居民参与社区治理的权利，制定本规定。\n"
              "第二条 社区居民委员会每季度至少召开一次居民议事会，议题由居民提出，经社区党组织审核后列入议程。\n"
              "第三条 议事会的决定应当在社区公开栏公开七日，接受居民监督，居民有异议的可以向街道办事处反映。\n"
              "第四条 本规定自发布之日起施行，由社区居民委员会负责解释，各居民小组应当认真遵照执行。\n")
REVISED_V2 = (REVISED_V1.replace("每季度至少", "每月至少")
              .replace("第三条 议事会的决定应当在社区公开栏公开七日，接受居民监督，居民有异议的可以向街道办事处反映。\n", "")
              .replace("第四条", "第三条 议事会应当邀请驻区单位代表和党员代表列席，听取<b>意见建议</b>，并做好会议记录存档备查。\n第四条"))


def test_compare_two_versions_side_by_side_and_stacked_on_a_phone(browser, base_url, browser_home,
                                                                  tmp_path) -> None:
    """A document ingested twice: the reader lists both versions; the comparison shows the change to the
    character (struck out and underlined), folds unchanged passages, keeps markup in the text as text, and on a
    phone puts the older passage above the newer one, nothing wider than the screen."""
    import json

    from study_hub.pipeline import ingest_paths

    settings, store = browser_home
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "catalog.jsonl").write_text(json.dumps({"id": REVISED, "level": "district", "kind": "regulation",
                                                      "status": "现行有效", "status_date": "2024-01-01"},
                                                     ensure_ascii=False), encoding="utf-8")
    for text in (REVISED_V1, REVISED_V2):
        (folder / f"{REVISED}.txt").write_text(text, encoding="utf-8")
        assert ingest_paths([folder], store, settings).ok

    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"/documents/{REVISED}")
    assert page.locator(".doc-header .validity-current").inner_text().startswith("现行有效")
    versions = page.locator("details.versions li")
    assert versions.count() == 2 and "现行文本" in versions.first.inner_text()
    shot(page, "7-reader-versions")
    page.get_by_role("link", name="与上一版对照").click()
    page.wait_for_url(re.compile(rf"/documents/{REVISED}/compare\?from=1&to=2"))
    changed = page.locator("section.cmp-changed")
    assert changed.count() == 1
    assert changed.locator(".cmp-old del").inner_text() == "季度" and changed.locator(".cmp-new ins").inner_text() == "月"
    assert page.locator("section.cmp-removed .cmp-old del").count() == 1
    added = page.locator("section.cmp-added")
    assert "<b>意见建议</b>" in added.locator(".cmp-new").inner_text() and added.locator("b").count() == 0
    old_box, new_box = (changed.locator(f".cmp-{side}").bounding_box() for side in ("old", "new"))
    assert old_box["x"] + old_box["width"] <= new_box["x"] and abs(old_box["y"] - new_box["y"]) < 2  # side by side
    folded = page.locator("details.cmp-unchanged").first
    assert not folded.locator(".cmp-text").first.is_visible()
    folded.locator("summary").focus()
    page.keyboard.press("Enter")  # unfolds from the keyboard
    assert folded.locator(".cmp-text").first.is_visible()
    shot(page, "8-compare-desktop")
    context.close()

    phone = browser.new_context(base_url=base_url, viewport={"width": 390, "height": 844}, is_mobile=True,
                                has_touch=True, locale="zh-CN").new_page()
    phone.goto(f"/documents/{REVISED}/compare?from=1&to=2")
    row = phone.locator("section.cmp-changed")
    old_box, new_box = (row.locator(f".cmp-{side}").bounding_box() for side in ("old", "new"))
    assert old_box["y"] + old_box["height"] <= new_box["y"] + 1  # stacked: the older text first
    assert row.locator(".cmp-old .cmp-label").is_visible()  # each labelled with its version
    assert phone.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1
    shot(phone, "9-compare-phone")
    phone.context.close()
    assert not errors, errors
