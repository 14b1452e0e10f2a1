"""The index jobs' records: what is asked, who runs it, how far it got, how it ended.

Each promise holds in the database, not in a read-then-write: a request inserts a queued job unless one of
its kind is queued already (a unique partial index; the queued one takes the new work in); a worker claims a
job with one conditional UPDATE, and a second unique partial index lets only one job run at a time, across
processes and nodes. A running job's worker writes a heartbeat; ``recover`` queues again the jobs of workers
that died (SIGKILL, a lost node), so that a job killed mid-encoding runs again to completion.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from study_hub.store import DocumentStore
from study_hub.store.db import insert_new
from study_hub.store.models import IndexJob, aware, utcnow

KINDS = ("update", "rebuild")
STALE_AFTER = timedelta(seconds=90)  # a heartbeat this old: the worker (on another node) is gone


def process_started(pid: int) -> str | None:
    """The start time of a process (clock ticks since boot, from /proc): with the pid it names one process,
    where a pid alone may be reused (a restarted container numbers its processes the same way)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def this_worker() -> str:
    """host:pid:start time of this process."""
    return f"{socket.gethostname()}:{os.getpid()}:{process_started(os.getpid()) or 0}"


@dataclass(frozen=True)
class JobView:
    id: int
    kind: str
    state: str
    requested_by: str
    reason: str
    phase: str
    done: int
    total: int
    attempts: int
    worker: str
    message: str
    generation: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    phase_started_at: datetime | None

    @property
    def rate(self) -> float | None:
        """Items per second in the current phase (None before there is anything to measure)."""
        if self.state != "running" or not self.phase_started_at or self.done <= 0:
            return None
        seconds = (utcnow() - self.phase_started_at).total_seconds()
        return self.done / seconds if seconds > 0 else None

    @property
    def seconds_left(self) -> float | None:
        rate = self.rate
        return (self.total - self.done) / rate if rate and self.total >= self.done else None

    @property
    def percent(self) -> int | None:
        return int(100 * self.done / self.total) if self.total else None

    def as_dict(self) -> dict:
        rate, left = self.rate, self.seconds_left
        return {"id": self.id, "kind": self.kind, "state": self.state, "requested_by": self.requested_by,
                "reason": self.reason, "phase": self.phase, "done": self.done, "total": self.total,
                "percent": self.percent, "rate_per_second": round(rate, 1) if rate else None,
                "seconds_left": round(left) if left is not None else None, "attempts": self.attempts,
                "worker": self.worker, "message": self.message, "generation": self.generation,
                "created_at": self.created_at.isoformat(),
                "started_at": self.started_at.isoformat() if self.started_at else None,
                "finished_at": self.finished_at.isoformat() if self.finished_at else None}


def _view(row: IndexJob) -> JobView:
    return JobView(row.id, row.kind, row.state, row.requested_by, row.reason, row.phase, row.done, row.total,
                   row.attempts, row.worker, row.message, row.generation, aware(row.created_at),
                   aware(row.started_at), aware(row.finished_at), aware(row.phase_started_at))


class JobLedger:
    def __init__(self, store: DocumentStore):
        self.sessions = store.sessions

    def request(self, kind: str, requested_by: str, reason: str = "") -> tuple[int, bool]:
        """(job id, whether it is new): a new queued job, or the one of this kind already waiting."""
        if kind not in KINDS:
            raise ValueError(f"unknown job kind {kind!r}")
        for _ in range(5):
            with self.sessions.begin() as session:
                inserted = session.execute(insert_new(session, IndexJob).values(
                    kind=kind, state="queued", requested_by=requested_by[:200], reason=reason, phase="", done=0,
                    total=0, attempts=0, worker="", message="", generation="", created_at=utcnow())
                    .returning(IndexJob.id)).scalar()
                if inserted is not None:
                    return inserted, True
                waiting = session.scalar(select(IndexJob.id).where(IndexJob.kind == kind,
                                                                    IndexJob.state == "queued"))
                if waiting is not None:
                    return waiting, False
            # the waiting one was claimed between the two statements: try again
        raise RuntimeError("could not queue an index job")  # pragma: no cover (five claims in a row)

    def claim(self, job_id: int, worker: str) -> bool | None:
        """Take a queued job: True when claimed, False while another job runs, None when it is not queued
        (done, failed, or taken by another worker)."""
        now = utcnow()
        try:
            with self.sessions.begin() as session:
                claimed = session.execute(
                    update(IndexJob).where(IndexJob.id == job_id, IndexJob.state == "queued")
                    .values(state="running", worker=worker, started_at=now, heartbeat_at=now, phase="", done=0,
                            total=0, message="", attempts=IndexJob.attempts + 1)).rowcount
        except IntegrityError:  # another job is running (one at a time)
            return False
        return True if claimed else None

    def progress(self, job_id: int, phase: str, done: int, total: int, new_phase: bool = False) -> None:
        now = utcnow()
        values = {"phase": phase, "done": done, "total": total, "heartbeat_at": now}
        if new_phase:
            values["phase_started_at"] = now
        with self.sessions.begin() as session:
            session.execute(update(IndexJob).where(IndexJob.id == job_id, IndexJob.state == "running")
                            .values(**values))

    def beat(self, job_id: int) -> None:
        with self.sessions.begin() as session:
            session.execute(update(IndexJob).where(IndexJob.id == job_id, IndexJob.state == "running")
                            .values(heartbeat_at=utcnow()))

    def published(self, job_id: int, generation: str) -> None:
        with self.sessions.begin() as session:
            session.execute(update(IndexJob).where(IndexJob.id == job_id).values(generation=generation))

    def finish(self, job_id: int, ok: bool, message: str) -> None:
        with self.sessions.begin() as session:
            session.execute(update(IndexJob).where(IndexJob.id == job_id, IndexJob.state == "running")
                            .values(state="done" if ok else "failed", message=message[:4000],
                                    finished_at=utcnow()))

    def summary(self) -> list[dict]:
        """The running and queued jobs without who asked, where they run or what failed (for anyone)."""
        keys = ("id", "kind", "state", "phase", "done", "total", "percent", "seconds_left")
        return [{key: value for key, value in job.as_dict().items() if key in keys} for job in self.active()]

    def recover(self, alive, now: datetime | None = None) -> list[int]:
        """Deal with the running jobs whose worker is gone; the ids of those queued again, to send to the queue.

        Gone: ``alive(worker)`` says False (a process of this host that has ended), or the job's heartbeat is
        older than ``STALE_AFTER`` (another node's worker, or a worker whose job ended without a word). Such a
        job is queued again; when a job of its kind is already waiting, that one takes its work in and the
        dead one is closed as superseded (the waiting one keeps its id: whoever waits on it still can).
        """
        now = now or utcnow()
        recovered = []
        with self.sessions() as session:
            running = list(session.scalars(select(IndexJob).where(IndexJob.state == "running")))
        for job in running:
            beat = aware(job.heartbeat_at)
            if alive(job.worker) is not False and beat is not None and now - beat < STALE_AFTER:
                continue
            try:
                with self.sessions.begin() as session:
                    waiting = session.scalar(select(IndexJob.id).where(IndexJob.kind == job.kind,
                                                                       IndexJob.state == "queued"))
                    still = (IndexJob.id == job.id, IndexJob.state == "running", IndexJob.worker == job.worker)
                    if waiting is not None:
                        session.execute(update(IndexJob).where(*still).values(
                            state="failed", finished_at=now,
                            message=f"its worker {job.worker} stopped; job {waiting}, queued, takes its work in"))
                        continue
                    moved = session.execute(update(IndexJob).where(*still).values(
                        state="queued", worker="", message=f"its worker {job.worker} stopped; queued again"))
                    if moved.rowcount:
                        recovered.append(job.id)
            except IntegrityError:  # a job of its kind was queued meanwhile: the next round supersedes this one
                continue
        return recovered

    def requeue(self, job_id: int, message: str) -> None:
        """Put a running job back in the queue (its worker is stopping); closed as superseded when one of its
        kind already waits."""
        try:
            with self.sessions.begin() as session:
                session.execute(update(IndexJob).where(IndexJob.id == job_id, IndexJob.state == "running")
                                .values(state="queued", worker="", message=message))
        except IntegrityError:
            self.finish(job_id, False, f"{message}; a queued job of its kind takes its work in")

    def queued(self, older_than: timedelta | None = None) -> list[int]:
        """Queued job ids, oldest first (``older_than``: only those waiting at least that long)."""
        query = select(IndexJob.id).where(IndexJob.state == "queued").order_by(IndexJob.id)
        if older_than is not None:
            query = query.where(IndexJob.created_at <= utcnow() - older_than)
        with self.sessions() as session:
            return list(session.scalars(query))

    def get(self, job_id: int) -> JobView | None:
        with self.sessions() as session:
            row = session.get(IndexJob, job_id)
            return _view(row) if row is not None else None

    def recent(self, limit: int = 20) -> list[JobView]:
        with self.sessions() as session:
            rows = session.scalars(select(IndexJob).order_by(IndexJob.id.desc()).limit(limit))
            return [_view(row) for row in rows]

    def active(self) -> list[JobView]:
        """The running job, then the queued ones, oldest first."""
        with self.sessions() as session:
            rows = session.scalars(select(IndexJob).where(IndexJob.state.in_(("running", "queued")))
                                   .order_by(IndexJob.state.desc(), IndexJob.id))
            return [_view(row) for row in rows]
