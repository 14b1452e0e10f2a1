"""The task queue that carries index jobs to the job worker: huey.

huey is small, maintained, and the one queue library with both an embedded backend that needs no server
(``SqliteHuey``: a file beside the database, the default) and a server backend for several nodes
(``RedisHuey``, ``STUDY_HUB_QUEUE_URL=redis://…``), behind one API and one consumer. Celery's SQLite transport
is experimental and RQ, Dramatiq and arq need a server.

The queue carries only job ids. What a job is, its state and progress live in the store (``ledger``), so a
message lost with a killed worker loses nothing: huey removes a message when a worker takes it, and a worker
that starts (and every minute after) queues again the jobs whose worker died (``JobLedger.recover``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from huey import Huey, RedisHuey, SqliteHuey, crontab

from study_hub.config import Settings

log = logging.getLogger(__name__)
QUEUE_NAME = "study_hub-index"


def make_huey(settings: Settings) -> Huey:
    url = settings.queue_url
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey(QUEUE_NAME, url=url, results=False)
    if url:
        raise ValueError(f"STUDY_HUB_QUEUE_URL {url!r}: leave it empty (a SQLite file in the home folder) or give "
                         "a redis:// URL")
    settings.home.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(QUEUE_NAME, filename=str(settings.home / "jobs.sqlite3"), results=False)


class JobQueue:
    """Sends job ids to the worker; in the worker process, ``work`` runs them as they come."""

    def __init__(self, settings: Settings):
        self.huey = make_huey(settings)
        self._run: Callable[[int], object] | None = None
        self._recover: Callable[[], object] | None = None

        @self.huey.task(name="index_job")
        def index_job(job_id: int) -> None:
            if self._run is None:  # pragma: no cover (only a worker's consumer executes tasks)
                raise RuntimeError("index jobs run in `study-hub worker`")
            self._run(job_id)

        @self.huey.periodic_task(crontab(minute="*"), name="recover_jobs")
        def recover_jobs() -> None:
            if self._recover is not None:
                self._recover()

        self._index_job = index_job

    def send(self, job_id: int) -> None:
        self._index_job(job_id)

    def work(self, run: Callable[[int], object], recover: Callable[[], object]) -> None:
        """Be the worker: run jobs one at a time until SIGINT or SIGTERM (huey's consumer, its signal handling).

        Polls the SQLite queue every second at most when idle (Redis blocks on it instead).
        """
        self._run, self._recover = run, recover
        consumer = self.huey.create_consumer(workers=1, periodic=True, initial_delay=0.1, backoff=1.3,
                                             max_delay=1.0, check_worker_health=True)
        consumer.run()
