"""The job worker as people run it: `study-hub serve` on a fresh home answers keyword searches while its worker
encodes, then hybrid ones without a restart; a worker killed mid-encoding leaves a job the next one finishes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from conftest import SEMANTIC_DOCS
from support import database_env, ingested_home

from study_hub.config import Settings
from study_hub.index.builder import vector_coverage
from study_hub.index.generations import current_generation, read_manifest
from study_hub.jobs.indexing import IndexService
from study_hub.jobs.ledger import JobLedger
from study_hub.store import open_store

CLI = [sys.executable, "-c", "from study_hub.cli import run; run()"]


def keyword_only_home(tmp_path: Path, names: list[str]) -> Settings:
    """A home after a keyword-only ingest: documents stored, keyword index built, no vectors."""
    settings, store = ingested_home(tmp_path, names)
    assert IndexService(settings, store).request_and_run("update", "test").state == "done"
    assert read_manifest(current_generation(settings.indexes_dir))["semantic"] is None
    store.engine.dispose()
    return settings


def environment(settings: Settings, models_dir: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "STUDY_HUB_HOME": str(settings.home), "STUDY_HUB_SEMANTIC": "true",
            "STUDY_HUB_MODELS_DIR": str(models_dir), **database_env(settings.home), **extra}


def wait_for(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"not within {seconds} s: {what}")


def test_serve_answers_by_keywords_at_once_and_by_meaning_when_the_worker_is_done(tmp_path, models_dir,
                                                                                   embedder) -> None:
    settings = keyword_only_home(tmp_path, SEMANTIC_DOCS[:3])
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([*CLI, "serve", "--port", str(port)], env=environment(settings, models_dir),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        def up():
            try:
                return httpx.get(f"{url}/api/health", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(up, 60, "the site answers")
        question = {"q": "小区没有物业公司怎么管"}
        first = httpx.get(f"{url}/api/search", params=question, timeout=30).json()
        assert first["mode"] == "keyword" and first["total"] > 0  # answered, never a 503 for the default mode
        assert first["meaning"]["ready"] is False and first["notice"].startswith("语义检索准备中")
        page = httpx.get(f"{url}/search", params=question, timeout=30).text
        assert "语义检索准备中" in page

        def hybrid():
            # The worker publishes what it has encoded every minute: on a slow machine hybrid may first rank
            # over part of the passages (complete false), which must answer too; wait for all of them.
            body = httpx.get(f"{url}/api/search", params=question, timeout=30).json()
            assert body["results"], body
            return body if body["mode"] == "hybrid" and body["meaning"]["complete"] else None

        answer = wait_for(hybrid, 400, "hybrid answers once the worker has encoded the passages")
        assert answer["notice"] is None
        health = httpx.get(f"{url}/api/health", timeout=10).json()
        assert health["search_by_meaning"] and health["meaning"]["complete"]
        jobs = JobLedger(open_store(settings)).recent(5)
        assert jobs[0].state == "done" and jobs[0].requested_by == "worker", jobs
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)


@pytest.mark.parametrize("queue", ["sqlite", "redis"])
def test_a_worker_killed_mid_encoding_leaves_a_job_the_next_worker_finishes(tmp_path, models_dir, embedder,
                                                                             queue) -> None:
    settings = keyword_only_home(tmp_path, SEMANTIC_DOCS[:3])
    extra = {}
    if queue == "redis":
        import redis

        url = "redis://127.0.0.1:6379/13"
        redis.Redis.from_url(url).flushdb()
        extra["STUDY_HUB_QUEUE_URL"] = url
    env = environment(settings, models_dir, **extra)
    queued = subprocess.run([*CLI, "index", "update", "--no-wait"], env=env, capture_output=True, text=True)
    assert queued.returncode == 0 and "queued" in queued.stdout, queued.stderr
    ledger = JobLedger(open_store(settings))
    [job] = ledger.active()

    first = subprocess.Popen([*CLI, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def encoding():
            seen = ledger.get(job.id)
            return seen if seen.phase == "embedding" and seen.done > 0 else None

        midway = wait_for(encoding, 300, "the worker encodes")
        assert midway.state == "running" and midway.done < midway.total
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(30)
    assert ledger.get(job.id).state == "running"  # as the killed worker left it

    second = subprocess.Popen([*CLI, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        finished = wait_for(lambda: ledger.get(job.id) if ledger.get(job.id).state in ("done", "failed") else None,
                            400, "the next worker finishes the job")
    finally:
        second.terminate()
        second.wait(60)
    assert finished.state == "done" and finished.attempts == 2, finished
    manifest = read_manifest(current_generation(settings.indexes_dir))
    with_vectors, passages = vector_coverage(manifest)
    assert with_vectors == passages
    # What the killed worker had encoded was kept (the vector cache), not encoded again.
    assert manifest["semantic"]["reused"] >= midway.done
