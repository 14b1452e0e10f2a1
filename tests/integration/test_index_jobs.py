"""Index jobs: recorded in the store with promises the database keeps, run through the one orchestrator,
vectors never thrown away, documents removed end to end."""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import SEMANTIC_DOCS, SHIPPED_CORPUS
from fastapi.testclient import TestClient
from support import DOC, PASSWORD, csrf_of, ingested_home, run_index_jobs, sign_in

from study_hub.accounts import AccountService
from study_hub.index.builder import vector_coverage
from study_hub.index.generations import current_generation, read_manifest
from study_hub.jobs.indexing import IndexService, worker_alive
from study_hub.jobs.ledger import STALE_AFTER, JobLedger, this_worker
from study_hub.pipeline import ingest_paths
from study_hub.search.service import SearchRequest, SearchService
from study_hub.store.models import utcnow
from study_hub.webapp import create_app

NOTICE = "关于开展社区议事协商试点工作的通知\n一、工作目标\n推动议事协商常态化，每季度至少召开一次居民议事会。\n"


def test_eight_requests_at_once_queue_one_job_and_one_worker_claims_it(store) -> None:
    ledger = JobLedger(store)
    with ThreadPoolExecutor(8) as pool:
        asked = list(pool.map(lambda n: ledger.request("update", f"admin{n}", "upload"), range(8)))
    assert len({job_id for job_id, _ in asked}) == 1 and sum(new for _, new in asked) == 1
    [job_id] = {job_id for job_id, _ in asked}
    with ThreadPoolExecutor(8) as pool:
        claims = list(pool.map(lambda n: ledger.claim(job_id, f"host:{n}"), range(8)))
    assert claims.count(True) == 1 and claims.count(None) == 7
    # While it runs, the next request queues a new job (the running one may have read the store already),
    # and that one cannot start: one build at a time, held by a unique index, not by a read.
    second, new = ledger.request("update", "admin", "another upload")
    assert new and second != job_id
    assert ledger.claim(second, "host:99") is False
    ledger.finish(job_id, True, "ok")
    assert ledger.claim(second, "host:99") is True


def test_a_dead_workers_job_is_queued_again_and_a_waiting_one_merged_into_it(store) -> None:
    ledger = JobLedger(store)
    job_id, _ = ledger.request("update", "cli")
    import socket

    dead = f"{socket.gethostname()}:{2 ** 22 + 12345}"  # above pid_max's default: no such process
    assert ledger.claim(job_id, dead) is True
    assert worker_alive(dead) is False and worker_alive("another-host:1:5") is None
    assert worker_alive(this_worker()) is True
    assert ledger.recover(worker_alive) == [job_id]
    assert ledger.get(job_id).state == "queued" and "stopped" in ledger.get(job_id).message
    assert ledger.claim(job_id, "host:1") is True and ledger.get(job_id).attempts == 2
    # Another node's worker: alive while its heartbeat is fresh; gone once it is older than STALE_AFTER.
    assert ledger.recover(lambda worker: None) == []
    later = utcnow() + STALE_AFTER + timedelta(seconds=1)
    assert ledger.recover(lambda worker: None, now=later) == [job_id]
    # A dead worker's job while one of its kind waits: the waiting one (its id is what someone waits on) takes
    # its work in, and the dead one is closed as superseded.
    assert ledger.claim(job_id, dead) is True
    waiting, _ = ledger.request("update", "upload")
    assert ledger.recover(worker_alive) == []
    assert ledger.get(job_id).state == "failed" and f"job {waiting}" in ledger.get(job_id).message
    assert ledger.get(waiting).state == "queued"
    # A pid reused by another process (a restarted container): the start time tells them apart.
    host, pid, started = this_worker().split(":")
    assert worker_alive(f"{host}:{pid}:{int(started) + 1}") is False


def test_an_update_without_a_model_keeps_the_vectors_and_the_worker_completes_them(tmp_path, embedder) -> None:
    """A process with no model (a web worker, ``--no-wait``) publishes the new documents for keyword search
    and carries every existing vector forward; search by meaning goes on over them and says how complete it
    is; the worker's embedding phase fills in the rest."""
    settings, store = ingested_home(tmp_path, SEMANTIC_DOCS[:3], semantic=True)
    with_model = IndexService(settings, store, encoder=lambda: embedder)
    assert with_model.request_and_run("update", "test").state == "done"
    complete = read_manifest(current_generation(settings.indexes_dir))
    assert vector_coverage(complete) == (complete["counts"]["passages"],) * 2

    new = tmp_path / "new"
    new.mkdir()
    shutil.copy(SHIPPED_CORPUS / "docs" / f"{SEMANTIC_DOCS[3]}.txt", new)
    assert ingest_paths([new], store, settings).ok
    without_model = IndexService(settings, store, encoder=None)
    job = without_model.request_and_run("update", "upload")
    assert job.state == "done"
    partial = read_manifest(current_generation(settings.indexes_dir))
    with_vectors, passages = vector_coverage(partial)
    added = passages - complete["counts"]["passages"]
    assert added > 0 and with_vectors == complete["counts"]["passages"]  # nothing thrown away
    assert partial["semantic"]["pending"] == added

    search = SearchService(store, settings.indexes_dir, encoder=embedder)
    answer = search.search(SearchRequest("小区没有物业公司怎么管", mode="hybrid"))
    assert answer.mode == "hybrid" and answer.results  # meaning still ranks, over what it has
    assert answer.meaning.ready and not answer.meaning.complete and answer.meaning.coverage == (with_vectors, passages)
    keyword_found = search.search(SearchRequest("scheduling meeting special action", mode="hybrid", limit=50))
    assert any(hit.doc_id == SEMANTIC_DOCS[3] for hit in keyword_found.results)  # the new one, by its words

    assert with_model.request_and_run("update", "worker").state == "done"
    final = read_manifest(current_generation(settings.indexes_dir))
    assert vector_coverage(final) == (passages, passages) and final["semantic"]["encoded"] > 0
    assert search.search(SearchRequest("小区没有物业公司怎么管")).meaning.complete


def test_a_long_encoding_publishes_as_it_goes(tmp_path, embedder, monkeypatch) -> None:
    """Search by meaning starts over the passages encoded so far instead of waiting for them all."""
    import study_hub.jobs.indexing as indexing

    monkeypatch.setattr(indexing, "EMBED_ROUND_SECONDS", 0.0)  # one chunk of texts per publication
    settings, store = ingested_home(tmp_path, SEMANTIC_DOCS[:2], semantic=True)
    seen: list[tuple[int, int]] = []

    def progress(phase: str, done: int, total: int) -> None:
        folder = current_generation(settings.indexes_dir)
        if phase == "embedding" and folder is not None:
            seen.append(vector_coverage(read_manifest(folder)))

    job = IndexService(settings, store, encoder=lambda: embedder).request_and_run("update", "test", progress=progress)
    assert job.state == "done" and "publication" in job.message, job.message
    partial = {covered for covered in seen if 0 < covered[0] < covered[1]}
    assert len(partial) >= 2, seen  # several generations with some of the vectors, served in turn
    final = read_manifest(current_generation(settings.indexes_dir))
    assert vector_coverage(final)[0] == vector_coverage(final)[1]
    assert JobLedger(store).get(job.id).done == JobLedger(store).get(job.id).total > 0


def test_a_failing_job_is_kept_with_its_message(tmp_path) -> None:
    settings, store = ingested_home(tmp_path, [DOC])

    def broken_model():
        raise RuntimeError("no such model folder")

    service = IndexService(settings.model_copy(update={"semantic": True}), store, encoder=broken_model)
    job = service.request_and_run("update", "cli")
    assert job.state == "failed" and "no such model folder" in job.message
    assert current_generation(settings.indexes_dir) is not None  # the keyword phase had published


@pytest.fixture
def admin_site(tmp_path: Path):
    settings, store = ingested_home(tmp_path, [DOC, "municipal-reg-qingdao-property-2021"])
    IndexService(settings, store).request_and_run("update", "test")
    accounts = AccountService(store)
    accounts.add_user("admin", "管理员", PASSWORD, "admin")
    accounts.add_user("member", "党员", PASSWORD, "member")
    app = create_app(settings, encoder=None)
    clients = {login: TestClient(app) for login in ("admin", "member")}
    for login, client in clients.items():
        sign_in(client, login)
    return settings, store, app, clients


def test_an_administrator_removes_a_document_its_notes_stay_orphaned_and_the_index_drops_it(admin_site) -> None:
    _, store, app, clients = admin_site
    member, admin = clients["member"], clients["admin"]
    passage = store.get_document(DOC).passages[3]
    note = member.post("/api/notes", headers={"X-CSRF-Token": csrf_of(member)},
                       json={"passage_id": passage.id, "start": 0, "end": 6, "body": "学习体会"})
    assert note.status_code == 201, note.text
    assert admin.get("/api/search", params={"q": "业主大会", "mode": "keyword"}).json()["total"] > 0

    refused = member.delete(f"/api/documents/{DOC}", headers={"X-CSRF-Token": csrf_of(member)})
    assert refused.status_code == 403
    assert admin.delete(f"/api/documents/{DOC}").status_code == 403  # no CSRF token
    removed = admin.delete(f"/api/documents/{DOC}", headers={"X-CSRF-Token": csrf_of(admin)})
    assert removed.status_code == 200, removed.text
    assert removed.json()["notes_orphaned"] == 1
    assert admin.get(f"/api/documents/{DOC}").status_code == 404
    [kept] = member.get("/api/notes").json()
    assert kept["orphaned"] and kept["quote"] == passage.text[:6]
    jobs = admin.get("/api/jobs").json()
    assert jobs[0]["state"] == "queued" and DOC in jobs[0]["reason"]
    assert member.get("/api/jobs").status_code == 403

    [done] = run_index_jobs(app)
    assert done.state == "done"
    found = admin.get("/api/search", params={"q": "业主大会", "mode": "keyword", "limit": 100}).json()
    assert all(hit["doc_id"] != DOC for hit in found["results"])
    again = admin.delete(f"/api/documents/{DOC}", headers={"X-CSRF-Token": csrf_of(admin)})
    assert again.status_code == 404


def test_health_and_the_search_page_tell_how_far_the_worker_got(admin_site) -> None:
    _, store, _, clients = admin_site
    ledger = JobLedger(store)
    job_id, _ = ledger.request("update", "upload")
    ledger.claim(job_id, "host:1")
    ledger.progress(job_id, "embedding", 0, 1000, new_phase=True)
    ledger.progress(job_id, "embedding", 370, 1000)
    health = clients["member"].get("/api/health").json()
    assert health["jobs"][0]["state"] == "running" and health["jobs"][0]["percent"] == 37
    admin_page = clients["admin"].get("/documents").text
    assert "37%" in admin_page
    assert "37%" not in clients["member"].get("/documents").text  # jobs are for administrators


def test_cli_removes_a_document_and_queues_or_runs_the_update(tmp_path) -> None:
    from click.testing import CliRunner

    from study_hub.cli import main

    settings, _ = ingested_home(tmp_path, [DOC, "municipal-reg-qingdao-property-2021"])
    runner = CliRunner()
    home = ["--home", str(settings.home)]
    built = runner.invoke(main, [*home, "index", "update"], env={"STUDY_HUB_SEMANTIC": "false"})
    assert built.exit_code == 0, built.output
    removed = runner.invoke(main, [*home, "docs", "remove", DOC], env={"STUDY_HUB_SEMANTIC": "false"})
    assert removed.exit_code == 0 and "done" in removed.output, removed.output
    status = runner.invoke(main, [*home, "index", "status"], env={"STUDY_HUB_SEMANTIC": "false"})
    assert "documents: 1" in status.output and "done" in status.output, status.output
    assert runner.invoke(main, [*home, "docs", "remove", DOC]).exit_code != 0


def test_the_worker_asks_for_embedding_when_the_index_lacks_this_runtimes_vectors(semantic_home) -> None:
    from study_hub.jobs.worker import meaning_incomplete

    settings, _ = semantic_home  # vectors from torch (sentence-transformers), complete
    assert meaning_incomplete(settings) is None  # auto: torch for passages on the CPU
    assert meaning_incomplete(settings.model_copy(update={"embedding_runtime": "torch"})) is None
    assert meaning_incomplete(settings.model_copy(update={"embedding_runtime": "onnx"})) is None  # same vectors
    assert meaning_incomplete(settings.model_copy(update={"embedding_runtime": "onnx-int8"})) == \
        "vectors of another runtime"
    assert meaning_incomplete(settings.model_copy(update={"semantic": False})) is None
