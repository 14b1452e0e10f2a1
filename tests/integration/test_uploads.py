"""Adding documents through the web: who may, what is kept, and hostile files and names refused whole."""

from __future__ import annotations

import io
import re
import shutil
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from support import CORPUS, DOC, PASSWORD, csrf_of, run_index_jobs, sign_in

from study_hub.accounts import AccountService
from study_hub.config import Settings
from study_hub.errors import IngestError
from study_hub.index.builder import update_indexes
from study_hub.pipeline import ingest_paths, ingest_upload
from study_hub.store import open_store
from study_hub.webapp import create_app

NOTICE = "关于开展社区议事协商试点工作的通知\n一、工作目标\n推动议事协商常态化，每季度至少召开一次居民议事会。\n"
LIMIT = 200_000


@pytest.fixture
def site(tmp_path: Path):
    settings = Settings(home=tmp_path / "home", semantic=False, max_file_bytes=LIMIT,
                        max_unpacked_bytes=2**20)
    store = open_store(settings)
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(CORPUS / f"{DOC}.txt", docs)
    assert ingest_paths([docs], store, settings).ok
    update_indexes(store, settings.indexes_dir)
    accounts = AccountService(store)
    accounts.add_user("admin", "管理员", PASSWORD, "admin")
    accounts.add_user("member", "党员", PASSWORD, "member")
    app = create_app(settings, encoder=None)
    clients = {}
    for login in ("admin", "member"):
        clients[login] = TestClient(app)
        sign_in(clients[login], login)
    clients["anonymous"] = TestClient(app)
    return settings, store, accounts, clients


def upload(client: TestClient, name: str, data: bytes, csrf: bool = True, **fields):
    headers = {"X-CSRF-Token": csrf_of(client)} if csrf else {}
    return client.post("/api/documents", files={"file": (name, data)}, data=fields, headers=headers)


def kept_files(settings: Settings) -> list[Path]:
    return sorted(p for p in settings.uploads_dir.rglob("*") if p.is_file()) if settings.uploads_dir.exists() else []


def test_an_administrator_adds_a_document_that_is_read_at_once_and_found_after_its_index_job(site) -> None:
    settings, _, accounts, clients = site
    admin = clients["admin"]
    response = upload(admin, "议事协商通知.txt", NOTICE.encode("gb18030"), level="district", kind="document",
                      date="2024-03-01", doc_number="迎组发〔2024〕3号", issuer="中共迎泽区委组织部")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["outcome"] == "added" and body["passages"] >= 1
    doc = admin.get(f"/api/documents/{body['id']}").json()
    assert doc["level"] == "district" and doc["doc_number"] == "迎组发〔2024〕3号"
    assert "居民议事会" in "".join(p["text"] for p in doc["passages"])  # GB18030 decoded
    # The index update is a job for the worker, not work done in the web process: queued, then run.
    job = admin.get(f"/api/jobs/{body['job']}").json()
    assert job["state"] == "queued" and job["kind"] == "update" and job["requested_by"] == "admin"
    before = admin.get("/api/search", params={"q": "居民议事会", "mode": "keyword"}).json()
    assert body["id"] not in {hit["doc_id"] for hit in before["results"]}
    [done] = run_index_jobs(admin.app)
    assert done.state == "done" and done.generation, done.message
    found = admin.get("/api/search", params={"q": "居民议事会", "mode": "keyword"}).json()
    assert body["id"] in {hit["doc_id"] for hit in found["results"]}
    [original] = kept_files(settings)
    assert original.read_bytes() == NOTICE.encode("gb18030") and original.parent.parent.name == body["id"]
    assert accounts.audit_entries(action="document uploaded")[0].subject == body["id"]

    # The same name again with new text: a new version of the same document; the first original stays.
    changed = NOTICE.replace("每季度", "每月")
    again = upload(admin, "议事协商通知.txt", changed.encode("utf-8"))
    assert again.json()["id"] == body["id"] and again.json()["outcome"] == "updated"
    assert len(kept_files(settings)) == 2
    run_index_jobs(admin.app)
    assert admin.get("/api/search", params={"q": "每月至少召开", "mode": "keyword"}).json()["total"] >= 1


@pytest.mark.parametrize("who, csrf, status", [("member", True, 403), ("anonymous", False, 401), ("admin", False, 403)])
def test_only_administrators_with_the_csrf_token_add_documents(site, who, csrf, status) -> None:
    settings, store, _, clients = site
    before = store.counts()
    headers = {"X-CSRF-Token": csrf_of(clients[who])} if csrf else {}
    response = clients[who].post("/api/documents", files={"file": ("a.txt", NOTICE.encode())}, headers=headers)
    assert response.status_code == status
    assert store.counts() == before and kept_files(settings) == []


@pytest.mark.parametrize("name", ["../escape.txt", "..\\escape.txt", "/etc/escape.txt", "sub/escape.txt",
                                  ".hidden.txt", "..", "escape.exe", ""])
def test_file_names_that_are_not_plain_names_are_refused(site, tmp_path: Path, name: str) -> None:
    settings, store, _, clients = site
    before = store.counts()
    response = upload(clients["admin"], name, NOTICE.encode())
    assert response.status_code in (400, 422), response.text
    assert store.counts() == before and kept_files(settings) == []
    assert not list(tmp_path.rglob("escape*")) and not Path("/etc/escape.txt").exists()


@pytest.mark.parametrize("name", ["bad\x00name.txt", "line\nbreak.txt", "../../escape.txt", "x" * 300 + ".txt"])
def test_the_pipeline_refuses_names_a_client_could_send_raw(site, name: str) -> None:
    settings, store, _, _ = site
    with pytest.raises(IngestError, match="plain name"):
        ingest_upload(name, io.BytesIO(NOTICE.encode()), store, settings)
    assert kept_files(settings) == []


def _bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"0" * (3 * 2**20))  # 3 MiB unpacked from a few KB
    return buffer.getvalue()


@pytest.mark.parametrize("name, data, reason", [
    ("bomb.docx", _bomb(), "over the limit"),
    ("broken.pdf", b"%PDF-1.7\n this is not a pdf", "pdf"),
    ("empty.txt", b"", "empty"),
    ("binary.txt", bytes(range(256)) * 20, "text"),
])
def test_hostile_or_broken_files_are_refused_with_the_reason_and_leave_nothing(site, name, data, reason) -> None:
    settings, store, _, clients = site
    before = store.counts()
    response = upload(clients["admin"], name, data)
    assert response.status_code == 400, response.text
    assert reason in response.json()["message"].lower()
    assert store.counts() == before and kept_files(settings) == []


def test_bad_metadata_is_refused(site) -> None:
    settings, _, _, clients = site
    response = upload(clients["admin"], "a.txt", NOTICE.encode(), level="county", date="2024-13-45")
    assert response.status_code == 400 and "level" in response.json()["message"]
    assert kept_files(settings) == []


def test_oversized_uploads_are_refused_before_they_are_stored(site) -> None:
    settings, store, _, clients = site
    admin = clients["admin"]
    before = store.counts()
    response = upload(admin, "big.txt", "大".encode() * LIMIT)
    assert response.status_code == 413 and "limit" in response.json()["message"]

    # No declared length (chunked): the body is counted as it arrives.
    boundary = "study-hub-test"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.txt\"\r\n"
            "Content-Type: text/plain\r\n\r\n").encode()

    def chunks():
        yield head
        for _ in range(40):
            yield b"x" * 10_000
        yield f"\r\n--{boundary}--\r\n".encode()

    response = admin.post("/api/documents", content=chunks(), headers={
        "content-type": f"multipart/form-data; boundary={boundary}", "X-CSRF-Token": csrf_of(admin)})
    assert response.status_code == 413
    assert store.counts() == before and kept_files(settings) == []


def test_the_library_page_upload_form(site) -> None:
    clients = site[3]
    admin = clients["admin"]
    page = admin.get("/documents")
    assert 'action="/documents/upload"' in page.text
    assert 'action="/documents/upload"' not in clients["member"].get("/documents").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    done = admin.post("/documents/upload", files={"file": ("议事协商.md", ("# " + NOTICE).encode())},
                      data={"csrf_token": token, "level": "district"}, follow_redirects=False)
    assert done.status_code == 303 and "uploaded=added" in done.headers["location"]
    assert "文件已入库" in admin.get(done.headers["location"]).text

    refused = admin.post("/documents/upload", files={"file": ("../x.txt", NOTICE.encode())},
                         data={"csrf_token": token}, follow_redirects=True)
    assert "文件未能入库" in refused.text and "plain name" in refused.text


def _asgi(app, method: str, path: str, body_chunks: list[bytes], headers: list[tuple[bytes, bytes]]):
    """Send one request straight to the ASGI app; returns (status, how many body chunks the app read)."""
    import anyio

    read = 0
    sent: list[dict] = []

    async def receive():
        nonlocal read
        if read < len(body_chunks):
            read += 1
            return {"type": "http.request", "body": body_chunks[read - 1], "more_body": read < len(body_chunks)}
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "path": path,
             "raw_path": path.encode(), "query_string": b"", "headers": headers, "client": ("127.0.0.1", 1),
             "server": ("testserver", 80), "scheme": "http", "root_path": ""}
    anyio.run(app, scope, receive, send)
    return next(m["status"] for m in sent if m["type"] == "http.response.start"), read


def test_request_bodies_are_capped_as_they_arrive_and_anonymous_uploads_are_not_read(site) -> None:
    """Fails before: an anonymous client's 300 MiB went into POST /api/notes and POST /login (spooled to
    disk) before the 401/400, and an anonymous upload was read whole before being refused."""
    _, _, _, clients = site
    app = clients["anonymous"].app
    megabyte = b"x" * 2**20
    status, read = _asgi(app, "POST", "/api/notes", [megabyte] * 300,
                         [(b"content-type", b"application/json")])  # chunked: no declared length
    assert status == 413 and read <= 2
    status, read = _asgi(app, "POST", "/login", [megabyte] * 300,
                         [(b"content-type", b"application/x-www-form-urlencoded")])
    assert status == 413 and read <= 2
    status, read = _asgi(app, "POST", "/api/notes", [b"{}"],
                         [(b"content-type", b"application/json"), (b"content-length", str(300 * 2**20).encode())])
    assert status == 413 and read == 0  # a declared length over the cap: refused before a byte is read
    status, read = _asgi(app, "POST", "/api/documents", [megabyte] * 20,
                         [(b"content-type", b"multipart/form-data; boundary=x")])
    assert status == 401 and read == 0  # not signed in: the upload body is never read
    small = clients["admin"].post("/api/notes", json={"passage_id": "x", "start": 0, "end": 1},
                                  headers={"X-CSRF-Token": csrf_of(clients["admin"])})
    assert small.status_code != 413  # ordinary bodies pass
