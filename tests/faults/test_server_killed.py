"""kill -9 the server while members write: every acknowledged note survives whole, nothing half-written."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from support import ON_POSTGRES, csrf_of, database_env, home_rows, sign_in

from study_hub.accounts import AccountService
from study_hub.config import Settings
from study_hub.index.builder import update_indexes
from study_hub.pipeline import ingest_paths
from study_hub.store import open_store

CORPUS = Path(__file__).resolve().parents[2] / "corpus" / "docs"
DOC = "central-reg-property-management-2018"


def start(home: Path, workers: int = 1) -> tuple[subprocess.Popen, str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-c", "from study_hub.cli import run; run()", "serve", "--port",
                               str(port), "--workers", str(workers)],
                              env={**os.environ, "STUDY_HUB_HOME": str(home), "STUDY_HUB_SEMANTIC": "false",
                                   **database_env(home)},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                return server, url
        except httpx.HTTPError:
            time.sleep(0.1)
    server.kill()
    raise AssertionError("the server did not start")


def signed_in(url: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=url, timeout=10)
    sign_in(client, "writer", "a-long-password")
    return client, csrf_of(client)


def write(url: str, passages: list[str], stop: threading.Event, acknowledged: list[int], label: str) -> None:
    """A member writing notes as fast as the server answers, until it is gone."""
    client, csrf = signed_in(url)
    number = 0
    while not stop.is_set():
        number += 1
        try:
            response = client.post("/api/notes", headers={"X-CSRF-Token": csrf}, json={
                "passage_id": passages[number % len(passages)], "start": 0, "end": 3,
                "body": f"writer {label} note {number}", "tags": ["甲", "乙", "丙"]})
        except httpx.HTTPError:
            return  # the server is gone
        if response.status_code == 201:
            acknowledged.append(response.json()["id"])


def until(condition, seconds: float, what: str) -> None:
    """Wait for the writers (real threads against a real server) to get somewhere: a condition, not a duration."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        time.sleep(0.02)


def writer_home(tmp_path: Path) -> tuple[Path, list[str]]:
    """A home with one document and the member "writer"; the passage ids to write notes on."""
    home = tmp_path / "home"
    settings = Settings(home=home, semantic=False)
    store = open_store(settings)
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(CORPUS / f"{DOC}.txt", docs)
    assert ingest_paths([docs], store, settings).ok
    AccountService(store).add_user("writer", "写作者", "a-long-password")
    passages = [p.id for p in store.get_document(DOC).passages]
    store.engine.dispose()
    return home, passages


def test_two_worker_processes_serve_one_home(tmp_path) -> None:
    home, passages = writer_home(tmp_path)
    settings = Settings(home=home, semantic=False)
    update_indexes(open_store(settings), settings.indexes_dir)
    server, url = start(home, workers=2)
    try:
        stop = threading.Event()
        written: list[list[int]] = [[] for _ in range(4)]
        writers = [threading.Thread(target=write, args=(url, passages, stop, written[w], f"w{w}"))
                   for w in range(4)]
        for writer in writers:
            writer.start()
        until(lambda: all(len(notes) >= 10 for notes in written), 60, "every writer has 10 notes acknowledged")
        stop.set()
        for writer in writers:
            writer.join(15)
        # each writer signed in once and wrote on, whichever process answered each request
        assert all(written), [len(notes) for notes in written]
        search = httpx.get(f"{url}/api/search", params={"q": "物业服务企业", "mode": "keyword"}, timeout=10)
        assert search.status_code == 200 and search.json()["total"] > 0
    finally:
        server.terminate()
        server.wait(30)
    stored = {note for (note,) in home_rows(home, "SELECT id FROM notes")}
    assert {note for notes in written for note in notes} == stored


def test_acknowledged_notes_survive_a_kill(tmp_path) -> None:
    home, passages = writer_home(tmp_path)

    for attempt in range(3):  # kill at a different point each time: after 10, 30, 50 acknowledged notes
        server, url = start(home)
        acknowledged: list[int] = []
        stop = threading.Event()

        writers = [threading.Thread(target=write, args=(url, passages, stop, acknowledged, f"{attempt}/{w}"))
                   for w in range(4)]
        for writer in writers:
            writer.start()
        wanted = 10 + 20 * attempt
        until(lambda got=acknowledged, wanted=wanted: len(got) >= wanted, 60, f"{wanted} notes acknowledged")
        server.send_signal(signal.SIGKILL)
        server.wait(10)
        stop.set()
        for writer in writers:
            writer.join(15)
        assert acknowledged, "no note was written before the kill"

        if not ON_POSTGRES:
            assert home_rows(home, "PRAGMA integrity_check") == [("ok",)]
        stored = dict(home_rows(
            home, "SELECT notes.id, COUNT(note_tags.tag) FROM notes LEFT JOIN note_tags ON note_tags.note_id = notes.id "
            "GROUP BY notes.id"))
        assert set(acknowledged) <= set(stored)  # every acknowledged note is there
        assert set(stored.values()) == {3}  # and none is half-written: each has all its tags

        server, url = start(home)  # it comes back and serves
        client, _ = signed_in(url)
        assert client.get("/api/notes", params={"mine": "true", "limit": 500}).status_code == 200
        server.terminate()
        server.wait(10)
