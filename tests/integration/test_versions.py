"""Versions and validity on both backends: every text a document has had is kept (ingest and upload), an unchanged
file makes none, a failed or killed ingest leaves the previous version serving; the comparison API and page
(修订对照) with notes made on the older text; validity set by the catalog, the command line and uploads, kept
across re-ingests, searched in the index."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from fastapi.testclient import TestClient
from support import PASSWORD, csrf_of, database_env, home_rows, run_index_jobs, sign_in

import study_hub.store as store_module
from study_hub.accounts import AccountService
from study_hub.config import Settings
from study_hub.index.builder import build_indexes, update_indexes
from study_hub.pipeline import PAUSE_IN_WRITE, ingest_paths
from study_hub.search.service import SearchRequest, SearchService
from study_hub.store import DocumentStore, open_store
from study_hub.store.db import _alembic_config, migrate
from study_hub.store.models import Base
from study_hub.study.notes import NoteService

TITLE = "关于社区议事协商的规定"
V1 = (f"{TITLE}\n"
      "第一条 为了推动社区议事协商常态化，规范议事程序，保障居民参与社区治理的权利，制定本规定。\n"
      "第二条 社区居民委员会每季度至少召开一次居民议事会，议题由居民提出，经社区党组织审核后列入议程。\n"
      "第三条 议事会的决定应当在社区公开栏公开七日，接受居民监督，居民有异议的可以向街道办事处反映。\n"
      "第四条 本规定自发布之日起施行，由社区居民委员会负责解释，各居民小组应当认真遵照执行。\n")
V2 = (V1.replace("每季度至少", "每月至少")
        .replace("第三条 议事会的决定应当在社区公开栏公开七日，接受居民监督，居民有异议的可以向街道办事处反映。\n", "")
        .replace("第四条", "第三条 议事会应当邀请驻区单位代表和党员代表列席，听取意见建议，并做好会议记录存档备查。\n第四条"))
DOC_ID = "yz-yishi-2024"


def _write(folder: Path, text: str, **catalog) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / f"{DOC_ID}.txt"
    path.write_text(text, encoding="utf-8")
    (folder / "catalog.jsonl").write_text(json.dumps({"id": DOC_ID, "level": "district", "kind": "regulation",
                                                      **catalog}, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


# --- the store, on SQLite and PostgreSQL -----------------------------------------------------------------------

def test_every_text_is_kept_and_an_unchanged_file_makes_no_version(backend_settings: Settings, store: DocumentStore,
                                                                   tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    _write(docs, V1)
    assert ingest_paths([docs], store, backend_settings).outcomes["added"] == 1
    assert ingest_paths([docs], store, backend_settings).outcomes["unchanged"] == 1
    _write(docs, V1, date="2024-05-01")  # the catalog changes, the text does not: no new version
    assert ingest_paths([docs], store, backend_settings).outcomes["metadata"] == 1
    assert [v.number for v in store.versions(DOC_ID)] == [1]
    before = {p.id: p.text for p in store.get_document(DOC_ID).passages}

    _write(docs, V2, date="2024-05-01")
    report = ingest_paths([docs], store, backend_settings)
    assert report.outcomes["updated"] == 1
    versions = store.versions(DOC_ID)
    assert [(v.number, v.current) for v in versions] == [(1, False), (2, True)]
    assert versions[0].ingested_at < versions[1].ingested_at and versions[1].ingested_at.tzinfo is not None
    assert versions[0].meta["date"] is None and versions[1].meta["date"] == "2024-05-01"  # the metadata then
    assert store.version(DOC_ID, 1).text == V1.strip() and store.version(DOC_ID, 2).text == V2.strip()
    assert store.version(DOC_ID, 2).text == store.get_document(DOC_ID).text
    after = {p.id: p.text for p in store.get_document(DOC_ID).passages}
    assert {pid for pid in before if pid in after} == {pid for pid, text in before.items() if text in V2}
    assert ingest_paths([docs], store, backend_settings).outcomes["unchanged"] == 1
    assert len(store.versions(DOC_ID)) == 2


def test_a_failed_ingest_keeps_the_old_version_serving(backend_settings: Settings, store: DocumentStore,
                                                      tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = tmp_path / "docs"
    _write(docs, V1)
    assert ingest_paths([docs], store, backend_settings).ok
    passages = [(p.id, p.text) for p in store.get_document(DOC_ID).passages]

    def broken(*_args, **_kwargs):
        raise RuntimeError("re-anchoring failed")

    monkeypatch.setattr("study_hub.pipeline.reanchor_in", broken)  # fails inside the save's transaction
    _write(docs, V2)
    report = ingest_paths([docs], store, backend_settings)
    assert not report.ok and "re-anchoring failed" in report.failures[0][1]
    assert [v.number for v in store.versions(DOC_ID)] == [1]
    document = store.get_document(DOC_ID)
    assert document.text == V1.strip() and [(p.id, p.text) for p in document.passages] == passages

    monkeypatch.undo()
    _write(docs, TITLE + "\n")  # only a title: nothing to read, refused before the store is touched
    assert not ingest_paths([docs], store, backend_settings).ok
    assert [v.number for v in store.versions(DOC_ID)] == [1] and store.get_document(DOC_ID).text == V1.strip()


def test_a_killed_ingest_keeps_the_old_version_serving(tmp_path: Path) -> None:
    """SIGKILL inside the transaction that writes the new text (the pipeline's pause hook): the old text, its
    passages and its one version stay; the next run makes version 2."""
    home = tmp_path / "home"
    env = {**os.environ, "STUDY_HUB_HOME": str(home), "STUDY_HUB_SEMANTIC": "false", **database_env(home)}
    docs = tmp_path / "docs"
    path = _write(docs, V1)
    ingest = [sys.executable, "-c", "from study_hub.cli import run; run()", "ingest", str(path), "--no-index"]
    assert subprocess.run(ingest, env=env, capture_output=True, timeout=300).returncode == 0
    _write(docs, V2)
    signal_file = tmp_path / "paused"
    process = subprocess.Popen(ingest, env={**env, PAUSE_IN_WRITE: f"{DOC_ID}:{signal_file}"},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while not signal_file.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert signal_file.exists(), "the ingest did not reach the pause"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)
    assert home_rows(home, "SELECT number FROM document_versions WHERE document_id = :d", d=DOC_ID) == [(1,)]
    assert home_rows(home, "SELECT text FROM documents WHERE id = :d", d=DOC_ID) == [(V1.strip(),)]
    assert subprocess.run(ingest, env=env, capture_output=True, timeout=300).returncode == 0
    assert sorted(home_rows(home, "SELECT number FROM document_versions WHERE document_id = :d", d=DOC_ID)) == [
        (1,), (2,)]


def test_validity_is_kept_across_re_ingests_and_a_change_reaches_the_index(backend_settings: Settings,
                                                                          store: DocumentStore,
                                                                          tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    _write(docs, V1, status="现行有效", status_date="2024-01-01")
    assert ingest_paths([docs], store, backend_settings).ok
    document = store.get_document(DOC_ID)
    assert (document.status, document.status_date) == ("current", "2024-01-01")
    build_indexes(store, backend_settings.indexes_dir)
    service = SearchService(store, backend_settings.indexes_dir)
    assert service.search(SearchRequest("议事会", mode="keyword")).total > 0

    fingerprint = store.document_fingerprints()[DOC_ID]
    assert store.set_status(DOC_ID, "已废止", "2025-06-30") and not store.set_status(DOC_ID, "repealed", "2025-06-30")
    assert store.document_fingerprints()[DOC_ID] != fingerprint  # the next update re-indexes it
    _write(docs, V1)  # the catalog no longer says: what is stored stays
    assert ingest_paths([docs], store, backend_settings).outcomes["unchanged"] == 1
    assert (store.get_document(DOC_ID).status, store.get_document(DOC_ID).status_date) == ("repealed", "2025-06-30")

    assert update_indexes(store, backend_settings.indexes_dir).mode == "incremental"
    hidden = service.search(SearchRequest("议事会", mode="keyword"))
    assert hidden.total == 0 and hidden.in_history > 0  # not shown, but the person is told it is there
    repealed = service.search(SearchRequest("议事会 效力:已废止", mode="keyword"))
    assert repealed.total > 0 and {h.status for h in repealed.results} == {"repealed"}
    assert repealed.facets["status"] == {"repealed": repealed.total}
    assert service.search(SearchRequest("议事会", mode="keyword", history=True)).total == repealed.total == \
        hidden.in_history
    assert repealed.in_history is None  # a status asked for: nothing left out to count
    with pytest.raises(Exception, match="status 'gone' is not one of"):
        store.set_status(DOC_ID, "gone")


def test_a_text_not_yet_in_force_becomes_current_on_its_commencement_date(backend_settings: Settings,
                                                                           store: DocumentStore,
                                                                           tmp_path: Path) -> None:
    """The worker's minute tick (``jobs.worker.take_effect``) turns 尚未生效 into 现行有效 on the day, in the site's
    time zone, and queues the update that lets ``status:current`` find it; once, even when asked twice."""
    from study_hub.jobs.worker import index_service, take_effect

    docs = tmp_path / "docs"
    _write(docs, V1, status="尚未生效", status_date="2027-01-01")
    assert ingest_paths([docs], store, backend_settings).ok
    build_indexes(store, backend_settings.indexes_dir)
    search = SearchService(store, backend_settings.indexes_dir)
    assert search.search(SearchRequest("议事会 status:current", mode="keyword")).total == 0
    service = index_service(backend_settings.model_copy(update={"semantic": False}), store)
    evening_before = datetime(2026, 12, 31, 15, 59, tzinfo=UTC)  # 23:59 in Beijing
    assert take_effect(backend_settings, store, service, evening_before) == []
    assert store.get_document(DOC_ID).status == "not_yet_effective" and service.ledger.queued() == []
    midnight = datetime(2026, 12, 31, 16, 0, tzinfo=UTC)  # 00:00 on 1 January in Beijing
    assert take_effect(backend_settings, store, service, midnight) == [DOC_ID]
    assert take_effect(backend_settings, store, service, midnight) == []  # once
    document = store.get_document(DOC_ID)
    assert (document.status, document.status_date) == ("current", "2027-01-01")  # in force since that day
    [job] = service.ledger.queued()
    assert service.run(job).state == "done"
    found = search.search(SearchRequest("议事会 status:current", mode="keyword"))
    assert found.total > 0 and {hit.status for hit in found.results} == {"current"}


def test_migration_0011_records_each_document_as_its_first_version(tmp_path: Path) -> None:
    engine = store_module.make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    migrate(engine, "0007")
    saved = datetime(2026, 1, 1, tzinfo=UTC)
    old = sa.table("documents", *(sa.column(name) for name in (
        "id", "title", "issuer", "language", "dates", "extra", "source_path", "source_format", "source_hash", "text",
        "char_count", "passage_count", "created_at", "updated_at")))
    with engine.begin() as connection:
        connection.execute(old.insert(), [{
            "id": doc_id, "title": doc_id, "issuer": "国务院", "language": "zh", "dates": "{}", "extra": "{}",
            "source_path": f"{doc_id}.txt", "source_format": "txt", "source_hash": "0" * 64, "text": f"{doc_id}正文。",
            "char_count": 5, "passage_count": 1, "created_at": saved, "updated_at": saved} for doc_id in ("a", "b")])
        connection.execute(sa.text("INSERT INTO passages (id, document_id, ordinal, heading_path, char_start, char_end, "
                                   "text) VALUES ('a.1', 'a', 0, '', 0, 5, 'a正文。')"))
    migrate(engine)
    store = DocumentStore(engine)
    [first] = store.versions("a")
    assert (first.number, first.current, first.ingested_at, first.meta["issuer"]) == (1, True, saved, "国务院")
    assert store.version("a", 1).text == "a正文。" and store.get_document("a").status == "unknown"
    versions = Base.metadata.tables["document_versions"]
    with engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(versions)).scalar() == 2

    command.downgrade(_alembic_config(engine), "0007")
    with engine.connect() as connection:
        assert "status" not in {c["name"] for c in sa.inspect(connection).get_columns("documents")}
        assert "document_versions" not in sa.inspect(connection).get_table_names()
        assert connection.execute(sa.text("SELECT count(*) FROM passages")).scalar() == 1  # no table copy
    migrate(engine)
    assert [v.number for v in store.versions("b")] == [1]
    engine.dispose()


# --- the API and the pages ------------------------------------------------------------------------------------

@pytest.fixture
def site(backend_settings: Settings, tmp_path: Path):
    settings = backend_settings.model_copy(update={"semantic": False})
    store = open_store(settings)
    accounts = AccountService(store)
    accounts.add_user("admin", "管理员", PASSWORD, "admin")
    accounts.add_user("member", "党员甲", PASSWORD, "member")
    accounts.add_user("other", "党员乙", PASSWORD, "member")
    from study_hub.webapp import create_app

    app = create_app(settings, encoder=None)
    clients = {login: TestClient(app) for login in ("admin", "member", "other", "anonymous")}
    for login in ("admin", "member", "other"):
        sign_in(clients[login], login)
    yield settings, store, accounts, clients
    store.engine.dispose()


def _upload(client: TestClient, text: str, **fields):
    return client.post("/api/documents", files={"file": (f"{DOC_ID}.txt", text.encode("utf-8"))}, data=fields,
                       headers={"X-CSRF-Token": csrf_of(client)})


def _note(client: TestClient, store: DocumentStore, words: str) -> int:
    passage = next(p for p in store.get_document(DOC_ID).passages if words in p.text)
    start = passage.text.index(words)
    response = client.post("/api/notes", json={"passage_id": passage.id, "start": start, "end": start + len(words),
                                               "body": "记下"}, headers={"X-CSRF-Token": csrf_of(client)})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_uploads_keep_versions_and_the_comparison_shows_what_changed(site) -> None:
    _, store, _, clients = site
    admin, member, other, anonymous = (clients[k] for k in ("admin", "member", "other", "anonymous"))
    first = _upload(admin, V1, status="现行有效", status_date="2024-01-01")
    assert first.status_code == 201 and first.json()["outcome"] == "added"
    kept = _note(member, store, "规范议事程序")  # in 第一条, which does not change
    lost = _note(member, store, "公开栏公开七日")  # in 第三条, which the new version removes
    _note(other, store, "每季度至少")  # another member's private note: never shown to this one
    second = _upload(admin, V2)  # no status given: the stored one stays
    assert second.json()["outcome"] == "updated"
    assert _upload(admin, V2).json()["outcome"] == "unchanged"

    listed = anonymous.get(f"/api/documents/{DOC_ID}/versions").json()
    assert [(v["number"], v["current"], v["status"]) for v in listed] == [(1, False, "current"), (2, True, "current")]
    assert listed[0]["compare_url"] is None and listed[1]["compare_url"] == f"/documents/{DOC_ID}/compare?from=1&to=2"
    one = anonymous.get(listed[0]["url"]).json()
    assert one["text"] == V1.strip() and one["meta"]["status_date"] == "2024-01-01" and one["number"] == 1
    detail = anonymous.get(f"/api/documents/{DOC_ID}").json()
    assert (detail["status"], detail["status_date"]) == ("current", "2024-01-01")

    body = member.get(f"/api/documents/{DOC_ID}/compare", params={"from": 1, "to": 2}).json()
    assert body["from"]["number"] == 1 and body["to"]["number"] == 2
    assert [row["kind"] for row in body["rows"]] == ["unchanged", "changed", "removed", "added", "unchanged"]
    assert body["counts"] == {"unchanged": 2, "changed": 1, "added": 1, "removed": 1}
    for row in body["rows"]:
        if row["kind"] == "changed":
            old, new = row["old"]["text"], row["new"]["text"]
            assert "".join(old[o["old_start"]:o["old_end"]] for o in row["ops"]) == old
            assert "".join(new[o["new_start"]:o["new_end"]] for o in row["ops"]) == new
            assert [(old[o["old_start"]:o["old_end"]], new[o["new_start"]:o["new_end"]])
                    for o in row["ops"] if o["op"] != "equal"] == [("季度", "月")]
    assert body["rows"][0]["notes"] == [kept] and body["unplaced_notes"] == [lost]
    assert all(row["notes"] == [] for row in anonymous.get(f"/api/documents/{DOC_ID}/compare?from=1&to=2")
               .json()["rows"])

    for params, status in (({"from": 2, "to": 2}, 400), ({"from": 2, "to": 1}, 400), ({"from": 1, "to": 9}, 404),
                           ({"from": "abc", "to": 2}, 422), ({"to": 2}, 422)):
        response = anonymous.get(f"/api/documents/{DOC_ID}/compare", params=params)
        assert response.status_code == status, (params, response.text)
        assert response.json()["error"]
    assert anonymous.get("/api/documents/no-such-doc/versions").status_code == 404
    assert anonymous.get(f"/api/documents/{DOC_ID}/versions/3").status_code == 404

    reader = member.get(f"/documents/{DOC_ID}").text
    assert "第2版" in reader and f'href="/documents/{DOC_ID}/compare?from=1&amp;to=2"' in reader
    assert "现行有效" in reader and "2024-01-01起" in reader  # the badge
    page = member.get(f"/documents/{DOC_ID}/compare")  # no versions named: the newest against the one before
    assert page.status_code == 200
    assert "<del>季度</del>" in page.text and "<ins>月</ins>" in page.text
    assert "未变 2 段，修改 1 段，新增 1 段，删除 1 段" in page.text
    assert "公开栏公开七日" in page.text.split("cmp-columns")[0]  # the note the change orphaned, at the top
    assert "每季度至少" not in re.sub(r"<del>.*?</del>", "", page.text.split("cmp-columns")[0])  # not the other's
    english = anonymous.get(f"/documents/{DOC_ID}/compare?from=1&to=2&lang=en").text
    assert "2 unchanged, 1 changed, 1 added, 1 removed passages" in english
    assert anonymous.get(f"/documents/{DOC_ID}/compare?from=x").status_code == 400
    assert anonymous.get(f"/documents/{DOC_ID}/compare?from=2&to=2").status_code == 400


def test_hostile_text_in_a_version_stays_text(site) -> None:
    _, _, _, clients = site
    admin = clients["admin"]
    _upload(admin, V1)
    hostile = V1.replace("制定本规定。", '制定本规定。<script>alert("x")</script><img src=x onerror=alert(1)>&amp;')
    assert _upload(admin, hostile).json()["outcome"] == "updated"
    page = clients["anonymous"].get(f"/documents/{DOC_ID}/compare?from=1&to=2").text
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page and "&amp;amp;" in page
    body = clients["anonymous"].get(f"/api/documents/{DOC_ID}/compare?from=1&to=2").json()
    assert '<script>alert("x")</script>' in body["rows"][0]["new"]["text"]  # the API gives the text as it is


def test_validity_at_upload_in_the_form_and_in_search(site) -> None:
    settings, store, _, clients = site
    admin, anonymous = clients["admin"], clients["anonymous"]
    page = admin.get("/documents")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    assert 'name="status"' in page.text and 'name="status_date"' in page.text
    response = admin.post("/documents/upload", data={"csrf_token": token, "status": "repealed",
                                                     "status_date": "2023-12-31"},
                          files={"file": (f"{DOC_ID}.txt", V1.encode("utf-8"))}, follow_redirects=False)
    assert response.status_code == 303, response.text
    assert (store.get_document(DOC_ID).status, store.get_document(DOC_ID).status_date) == ("repealed", "2023-12-31")
    bad = _upload(admin, V2, status="作废")
    assert bad.status_code == 400 and "is not one of" in bad.json()["message"]
    run_index_jobs(admin.app)

    default = anonymous.get("/api/search", params={"q": "议事会", "mode": "keyword"}).json()
    assert default["total"] == 0 and default["in_history"] > 0
    history = anonymous.get("/api/search", params={"q": "议事会", "mode": "keyword", "history": 1}).json()
    assert history["total"] > 0 and history["results"][0]["status"] == "repealed"
    assert history["facets"]["status"] == {"repealed": history["total"]}
    assert anonymous.get("/api/search", params={"q": "议事会", "mode": "keyword", "status": "已废止"}
                         ).json()["total"] == history["total"]
    assert anonymous.get("/api/search", params={"q": "议事会", "status": "nonsense"}).status_code == 400
    listing = anonymous.get("/api/documents", params={"status": "repealed"}).json()
    assert [d["doc_id"] for d in listing["documents"]] == [DOC_ID] and listing["facets"]["status"] == {"repealed": 1}
    assert anonymous.get("/api/documents", params={"status": "current"}).json()["total"] == 0

    search_page = anonymous.get("/search", params={"q": "议事会", "mode": "keyword"}).text
    assert 'name="history"' in search_page and "含已修订、已废止的文件" in search_page
    assert f"另有 {default['in_history']} 段在已修订、已废止的文件中" in search_page
    with_history = anonymous.get("/search", params={"q": "议事会", "mode": "keyword", "history": "1"}).text
    assert "已废止" in with_history and "2023-12-31起" in with_history and DOC_ID in with_history
    assert settings.indexes_dir.exists()


def test_administrators_change_the_validity_of_a_stored_document_from_the_reader_and_the_api(site) -> None:
    """The 2018 text is repealed after it was ingested: an administrator says so on its reader page (or through
    the API) and search leaves it out by default once the queued index job has run."""
    _, store, accounts, clients = site
    admin, member, anonymous = clients["admin"], clients["member"], clients["anonymous"]
    assert _upload(admin, V1).status_code == 201
    run_index_jobs(admin.app)
    assert anonymous.get("/api/search", params={"q": "议事会", "mode": "keyword"}).json()["total"] > 0

    reader = admin.get(f"/documents/{DOC_ID}")
    assert f'action="/documents/{DOC_ID}/status"' in reader.text
    assert 'action="/documents/' not in member.get(f"/documents/{DOC_ID}").text  # no admin forms for members
    token = re.search(r'name="csrf_token" value="([^"]+)"', reader.text).group(1)
    saved = admin.post(f"/documents/{DOC_ID}/status", data={"csrf_token": token, "status": "repealed",
                                                            "status_date": "2024-06-30"})
    assert saved.status_code == 200 and "效力已更新" in saved.text and "2024-06-30起" in saved.text
    bad = admin.post(f"/documents/{DOC_ID}/status", data={"csrf_token": token, "status": "current",
                                                          "status_date": "2024-13-45"})
    assert bad.status_code == 200 and "status_date" in bad.text and 'role="alert"' in bad.text
    assert store.get_document(DOC_ID).status == "repealed"  # the bad date changed nothing
    [job] = run_index_jobs(admin.app)
    assert job.state == "done", job.message
    default = anonymous.get("/api/search", params={"q": "议事会", "mode": "keyword"}).json()
    assert default["total"] == 0 and default["in_history"] > 0

    def put(client: TestClient, body: dict, csrf: bool = True):
        headers = {"X-CSRF-Token": csrf_of(client)} if csrf else {}
        return client.put(f"/api/documents/{DOC_ID}/status", json=body, headers=headers)

    assert put(member, {"status": "current"}).status_code == 403
    assert put(anonymous, {"status": "current"}, csrf=False).status_code == 401
    assert put(admin, {"status": "current"}, csrf=False).status_code == 403
    assert put(admin, {"status": "作废"}).status_code == 400
    empty = put(admin, {"status": " "})  # was a 500: NULL in a NOT NULL column
    assert empty.status_code == 400 and empty.json()["message"].startswith("say which status: one of current")
    assert store.get_document(DOC_ID).status == "repealed"
    assert admin.put("/api/documents/no-such-document/status", json={"status": "current"},
                     headers={"X-CSRF-Token": csrf_of(admin)}).status_code == 404
    with ThreadPoolExecutor(8) as pool:  # eight clicks at once: one change, one audit entry, one job
        answers = [r.json() for r in pool.map(lambda _: put(admin, {"status": "现行有效", "status_date": "2025-01-01"}),
                                              range(8))]
    assert [a["changed"] for a in answers].count(True) == 1 and {a["status"] for a in answers} == {"current"}
    assert len({a["job"] for a in answers if a["changed"]}) == 1
    assert [e.detail["status"] for e in accounts.audit_entries(action="document status set")] == [
        "current", "repealed"]
    run_index_jobs(admin.app)
    assert anonymous.get("/api/search", params={"q": "议事会", "mode": "keyword"}).json()["total"] > 0
    assert put(admin, {"status": "尚未生效", "status_date": "2027-01-01"}).json()["changed"]
    assert "尚未生效" in anonymous.get(f"/documents/{DOC_ID}").text and "2027-01-01施行" in \
        anonymous.get(f"/documents/{DOC_ID}").text  # the day it takes effect, not "since"


# --- the command line -------------------------------------------------------------------------------------------

def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from study_hub.cli import run; run()", *args],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "STUDY_HUB_HOME": str(home), "STUDY_HUB_SEMANTIC": "false",
                               **database_env(home)})


def test_status_and_versions_on_the_command_line(tmp_path: Path) -> None:
    home = tmp_path / "home"
    path = _write(tmp_path / "docs", V1)
    done = _cli(home, "ingest", str(path), "--status", "amended", "--status-date", "2021-01-01", "--no-index")
    assert done.returncode == 0, done.stderr
    assert home_rows(home, "SELECT status, status_date FROM documents") == [("amended", "2021-01-01")]
    assert _cli(home, "ingest", str(path), "--status-date", "2021-01-01").returncode == 2  # a date needs a status
    path.write_text(V2, encoding="utf-8")
    again = _cli(home, "ingest", str(path), "--no-index")
    assert again.returncode == 0 and "1 documents have a new version" in again.stdout
    assert home_rows(home, "SELECT status FROM documents") == [("amended",)]  # kept: nobody said otherwise

    listed = _cli(home, "docs", "versions", DOC_ID)
    assert listed.returncode == 0 and "2 versions" in listed.stdout and "(current)" in listed.stdout
    changed = _cli(home, "docs", "set-status", DOC_ID, "现行有效", "--date", "2024-01-01", "--no-index")
    assert changed.returncode == 0 and f"{DOC_ID}: current since 2024-01-01" in changed.stdout
    assert "(unchanged)" in _cli(home, "docs", "set-status", DOC_ID, "current", "--date", "2024-01-01",
                                 "--no-index").stdout
    shown = _cli(home, "docs", "show", DOC_ID)
    assert "validity: current since 2024-01-01" in shown.stdout
    wrong = _cli(home, "docs", "set-status", DOC_ID, "作废")
    assert wrong.returncode == 2 and "is not one of" in wrong.stderr and "Traceback" not in wrong.stderr
    missing = _cli(home, "docs", "set-status", "no-such-doc", "current")
    assert missing.returncode == 2 and "no document with id" in missing.stderr


def test_notes_made_on_the_older_text_follow_the_service_rules(backend_settings: Settings, store: DocumentStore,
                                                               tmp_path: Path) -> None:
    """Only notes written before the newer version came are placed; a note written since is the reader's."""
    from study_hub.study.versions import VersionService

    accounts = AccountService(store)
    who = accounts.principal(accounts.add_user("member", "党员甲", PASSWORD, "member"))
    docs = tmp_path / "docs"
    _write(docs, V1)
    assert ingest_paths([docs], store, backend_settings).ok
    _write(docs, V2)
    assert ingest_paths([docs], store, backend_settings).ok
    notes = NoteService(store, accounts)
    passage = store.get_document(DOC_ID).passages[0]
    notes.create(who, passage.id, 3, 6)  # written on version 2: not a note on the older text
    found = VersionService(store, notes).compare(who, DOC_ID, 1, 2)
    assert all(not row.notes for row in found.rows) and found.unplaced_notes == []


def test_a_backup_keeps_the_earlier_texts_and_the_validity_no_file_holds(backend_settings: Settings,
                                                                          store: DocumentStore,
                                                                          tmp_path: Path) -> None:
    from study_hub.store.backup import HISTORY, backup, restore

    docs = tmp_path / "docs"
    _write(docs, V1)
    assert ingest_paths([docs], store, backend_settings).ok
    _write(docs, V2)
    assert ingest_paths([docs], store, backend_settings).ok
    store.set_status(DOC_ID, "repealed", "2025-06-30")  # said on the command line: no catalog holds it
    file = tmp_path / "backup.json.gz"
    assert backup(store, file)[HISTORY] == 2

    for number, text in ((2, V2), (3, V2 + "第五条 本规定由社区党组织负责监督实施，每年评估一次执行情况并向居民通报。\n")):
        settings = Settings(home=tmp_path / f"restored-{number}", semantic=False)
        target = open_store(settings)
        _write(docs, text)  # the documents again, from their files (the newest text, or one changed since)
        assert ingest_paths([docs], target, settings).ok and len(target.versions(DOC_ID)) == 1
        assert restore(target, file)[HISTORY] == 2
        restored = target.versions(DOC_ID)
        assert [v.number for v in restored] == list(range(1, number + 1)) and restored[-1].current
        assert [target.version(DOC_ID, n).text for n in range(1, number + 1)] == [V1.strip(), V2.strip(),
                                                                                 text.strip()][:number]
        document = target.get_document(DOC_ID)
        assert (document.status, document.status_date) == ("repealed", "2025-06-30")
        target.engine.dispose()
