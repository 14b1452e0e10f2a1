"""The one index orchestrator: the command line, web uploads and the job worker all go through ``IndexService``.

A job runs in two phases, each publishing a generation:
1. **keyword**: the keyword and exact-wording indexes follow the store (incremental, or a full rebuild); the
   vectors of unchanged passages are carried forward from the vector cache, the new ones recorded as pending.
   Keyword search over the new documents works from here, and search by meaning over what has vectors.
2. **embedding**: the model (converted first on a fresh machine) encodes the pending passages; the generation
   published then is complete, and hybrid search ranks every passage by meaning again.

Jobs are recorded in the store (``ledger``) and carried to the worker by the task queue (``queue``); with
``run`` a caller (``study-hub ingest --wait``) does the work itself, through the same code, with its own
progress bars.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from study_hub.config import Settings
from study_hub.index.builder import BuildReport, build_indexes, update_indexes
from study_hub.index.generations import BuildLockedError, read_manifest
from study_hub.jobs.ledger import JobLedger, JobView, process_started, this_worker
from study_hub.store import DocumentStore

log = logging.getLogger(__name__)
JobProgress = Callable[[str, int, int], None]  # (phase, done, total)
HEARTBEAT_SECONDS = 5.0
PROGRESS_EVERY = 1.0  # seconds between progress writes to the store
EMBED_ROUND_SECONDS = 60.0  # a long encoding publishes what it has this often
LOCK_WAIT_SECONDS = 3600  # an index build by a command outside the jobs holds the lock: wait this long at most


def worker_alive(worker: str) -> bool | None:
    """Whether the process ``host:pid:start`` runs (None for another host's: its heartbeat tells)."""
    host, pid, started = [*worker.split(":"), "", "", ""][:3]
    if host != socket.gethostname() or not pid.isdigit():
        return None
    return process_started(int(pid)) == started  # the same pid with another start time: another process


@dataclass
class RemovalReport:
    doc_id: str
    notes_orphaned: int
    items_orphaned: int
    job_id: int


class IndexService:
    """Index work over one store and one indexes folder.

    ``encoder``: a callable that loads the embedding model (called once, when a job first needs it), or None
    when search by meaning is off. ``send``: hands a job id to the task queue (the job worker runs it); None
    in a process without a queue (then ``request`` only records the job).
    """

    def __init__(self, settings: Settings, store: DocumentStore, encoder: Callable[[], Any] | None = None,
                 send: Callable[[int], None] | None = None):
        self.settings = settings
        self.store = store
        self.ledger = JobLedger(store)
        self._load_encoder = encoder
        self._encoder: Any | None = None
        self._encoder_lock = threading.Lock()
        self.send = send

    # --- asking for work -----------------------------------------------------------------------------

    def request(self, kind: str, requested_by: str, reason: str = "") -> int:
        """Queue index work (or join the same kind already waiting) and hand it to the worker."""
        job_id, _ = self.ledger.request(kind, requested_by, reason)
        if self.send is not None:
            self.send(job_id)
        return job_id

    def remove_document(self, doc_id: str, requested_by: str) -> RemovalReport:
        """Remove a document from the store (its notes and reading items kept, orphaned with their quotes) and
        queue the index update that drops its passages."""
        from study_hub.study.notes import reanchor_in
        from study_hub.study.reading_lists import orphan_items_in

        counts: dict[str, int] = {}

        def orphan(session, removed: str) -> None:
            counts["notes"] = reanchor_in(session, removed).orphaned
            counts["items"] = orphan_items_in(session, removed)

        self.store.delete(doc_id, on_delete=orphan)
        job_id = self.request("update", requested_by, f"document {doc_id} removed")
        return RemovalReport(doc_id, counts.get("notes", 0), counts.get("items", 0), job_id)

    # --- doing it ------------------------------------------------------------------------------------

    def run(self, job_id: int, worker: str | None = None, progress: JobProgress | None = None,
            wait: bool = True) -> JobView | None:
        """Claim the job and do it here. While another job runs, or this one runs in another worker, wait for it
        (``progress`` follows the other worker's). Returns the job as it ended (as it is, with ``wait`` false)."""
        worker = worker or this_worker()
        while True:
            claimed = self.ledger.claim(job_id, worker)
            if claimed:
                break
            job = self.ledger.get(job_id)
            if job is None or not wait or job.state in ("done", "failed"):
                return job
            if job.state == "running" and progress:
                progress(job.phase, job.done, job.total)
            self.recover()  # the one running may belong to a dead worker
            time.sleep(1.0)
        job = self.ledger.get(job_id)
        assert job is not None
        beating = threading.Event()
        heart = threading.Thread(target=self._heartbeat, args=(job_id, beating), daemon=True,
                                 name=f"job-{job_id}-heartbeat")
        heart.start()
        try:
            message = self._work(job, self._reporter(job_id, progress))
        except Exception as exc:  # kept with the job, shown to administrators; the worker goes on
            log.exception("index job %d (%s) failed", job_id, job.kind)
            self._finish(job_id, False, f"{type(exc).__name__}: {exc}")
        except BaseException as exc:  # Ctrl-C, the worker stopping: the next worker does it
            self.ledger.requeue(job_id, f"interrupted ({type(exc).__name__}); queued again")
            if self.send is not None:
                self.send(job_id)
            raise
        else:
            self._finish(job_id, True, message)
        finally:
            beating.set()
            heart.join()
        return self.ledger.get(job_id)

    def recover(self) -> list[int]:
        """Queue again the jobs of dead workers (and send them to the queue when there is one)."""
        recovered = self.ledger.recover(worker_alive)
        for job_id in recovered:
            log.warning("index job %d: its worker stopped; queued again", job_id)
            if self.send is not None:
                self.send(job_id)
        return recovered

    def _finish(self, job_id: int, ok: bool, message: str) -> None:
        """Record the outcome; a database blip must not leave the job 'running' under a live worker."""
        for attempt in range(5):
            try:
                self.ledger.finish(job_id, ok, message)
                return
            except Exception as exc:
                log.warning("job %d: recording its end failed (%s); trying again", job_id, exc)
                time.sleep(2 ** attempt)
        log.error("job %d: its end could not be recorded; its heartbeat stops, so the next recovery re-runs it",
                  job_id)

    def request_and_run(self, kind: str, requested_by: str, reason: str = "",
                        progress: JobProgress | None = None) -> JobView | None:
        """Do index work in the foreground (the command line's ``--wait``), recorded as a job like any other."""
        job_id, _ = self.ledger.request(kind, requested_by, reason)
        return self.run(job_id, progress=progress)

    def _heartbeat(self, job_id: int, stop: threading.Event) -> None:
        while not stop.wait(HEARTBEAT_SECONDS):
            try:
                self.ledger.beat(job_id)
            except Exception as exc:  # the database restarting: the next beat tries again
                log.warning("job %d heartbeat: %s", job_id, exc)

    def _reporter(self, job_id: int, progress: JobProgress | None) -> JobProgress:
        last = {"phase": None, "at": 0.0}

        def report(phase: str, done: int, total: int) -> None:
            now = time.monotonic()
            new_phase = phase != last["phase"]
            if new_phase or done >= total or now - last["at"] >= PROGRESS_EVERY:
                self.ledger.progress(job_id, phase, done, total, new_phase=new_phase)
                last.update(phase=phase, at=now)
            if progress:
                progress(phase, done, total)

        return report

    def _work(self, job: JobView, report: JobProgress) -> str:
        root, cache = self.settings.indexes_dir, self.settings.vector_cache_dir
        full = job.kind == "rebuild"
        report("keyword", 0, 0)

        def keyword_progress(done: int, total: int) -> None:
            report("keyword", done, total)

        build = build_indexes if full else update_indexes
        first = self._under_lock(lambda: build(self.store, root, keyword_progress, encoder=None, cache_dir=cache,
                                               engine=self.settings.keyword_engine))
        self.ledger.published(job.id, first.generation)
        outcome = [_describe(first)]
        if self._load_encoder is not None:
            report("model", 0, 1)
            encoder = self.encoder()
            report("model", 1, 1)

            outcome.append(self._embed(job.id, encoder, report))
        return "; ".join(outcome)

    def _embed(self, job_id: int, encoder, report: JobProgress) -> str:
        """Encode the pending passages, publishing a generation after each ``EMBED_ROUND_SECONDS`` of encoding:
        on a fresh machine search by meaning starts over the first minute's passages instead of waiting for
        them all, and says how complete it is."""
        root, cache = self.settings.indexes_dir, self.settings.vector_cache_dir
        totals = {"texts": None, "before": 0}  # texts to encode in all; encoded in earlier rounds
        report("embedding", 0, 0)

        def embed_progress(done: int, missing: int) -> None:
            if totals["texts"] is None:
                totals["texts"] = missing
            report("embedding", totals["before"] + done, totals["texts"])

        rounds = []
        while True:
            built = self._under_lock(lambda: update_indexes(
                self.store, root, encoder=encoder, cache_dir=cache, embed_progress=embed_progress,
                embed_until=time.monotonic() + EMBED_ROUND_SECONDS, engine=self.settings.keyword_engine))
            rounds.append(built)
            if built.mode == "unchanged":
                break
            self.ledger.published(job_id, built.generation)
            semantic = read_manifest(root / built.generation).get("semantic") or {}
            totals["before"] += int(semantic.get("encoded", 0))
            if not semantic.get("pending"):
                break
            if not semantic.get("encoded"):  # nothing encoded in a whole round: a stuck model; say so
                raise RuntimeError(f"{semantic.get('pending')} passages could not be encoded")
        published = [r for r in rounds if r.mode != "unchanged"]
        if not published:
            return _describe(rounds[-1])
        return f"{_describe(published[-1])}; {totals['before']} texts encoded in {len(published)} publication(s)"

    def encoder(self):
        """The embedding model, loaded (and on a fresh machine converted) once per process."""
        with self._encoder_lock:
            if self._encoder is None:
                self._encoder = self._load_encoder()
            return self._encoder

    @staticmethod
    def _under_lock(build: Callable[[], BuildReport]) -> BuildReport:
        """Run a build, waiting while a build outside the jobs (a command, a test) holds the folder's lock."""
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while True:
            try:
                return build()
            except BuildLockedError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1.0)


def _describe(report: BuildReport) -> str:
    return f"{report.generation}: {report.mode}, {report.changed_documents} documents re-indexed, " \
           f"{report.passages} passages, {report.seconds:.1f} s"
