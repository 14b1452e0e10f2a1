"""What every request handler needs, built once per app by ``create_app`` and reached through ``deps.Ctx``:
the services, the settings, the templates, and what the pages say about the index being prepared."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from fastapi.templating import Jinja2Templates
from sqlalchemy import text

from study_hub.accounts import AccountService
from study_hub.config import Settings
from study_hub.errors import StudyHubError
from study_hub.index.generations import current_generation, read_manifest
from study_hub.jobs.indexing import IndexService
from study_hub.library_admin import LibraryAdmin
from study_hub.search.service import MeaningState, SearchService
from study_hub.store import DocumentStore
from study_hub.study.notes import NoteService
from study_hub.study.reading_lists import ReadingListService
from study_hub.study.records import RecordService
from study_hub.study.replies import ReplyService
from study_hub.study.sessions import SessionService
from study_hub.study.versions import VersionService

log = logging.getLogger(__name__)


@dataclass
class AppContext:
    settings: Settings
    store: DocumentStore
    search: SearchService
    accounts: AccountService
    index: IndexService  # queues index work for the job worker and reports on it
    notes: NoteService
    replies: ReplyService  # the discussion under shared notes
    reading_lists: ReadingListService
    study_sessions: SessionService
    records: RecordService  # the record book: a session's record, a unit's ledger
    library: LibraryAdmin  # adds and removes documents (administrators)
    templates: Jinja2Templates
    versions: VersionService  # a document's earlier texts, compared

    def meaning(self) -> MeaningState | None:
        """Whether search by meaning can answer now (None: no index to tell)."""
        try:
            with self.search.using() as current:
                return self.search.meaning(current)
        except StudyHubError:
            return None

    def health_of_semantic(self) -> bool:
        """Whether search by meaning (and cross-level tracing) can answer now."""
        meaning = self.meaning()
        return meaning is not None and meaning.ready

    def meaning_notice(self, meaning: MeaningState | None, language: str = "zh", answered: bool = True) -> str | None:
        """What a person is told while search by meaning is not (fully) there: how far the worker got.

        ``answered``: about a search by meaning just answered (else about the search page as it opens).
        """
        if meaning is None or meaning.complete:
            return None
        if meaning.reason == "off":
            if not answered:
                return None
            return ("本站未开启语义检索，以下为关键词检索结果" if language == "zh" else
                    "Search by meaning is switched off on this site; keyword results below")
        job = next((j for j in self.index.ledger.active() if j.state == "running"), None)
        with_vectors, passages = meaning.coverage
        percent = job.percent if job is not None and job.phase == "embedding" and job.percent is not None \
            else int(100 * with_vectors / passages) if passages else 0
        left = job.seconds_left if job is not None and job.phase == "embedding" else None
        minutes = max(1, round(left / 60)) if left is not None else None
        if meaning.reason == "model_failed":
            return ("语义检索暂不可用（嵌入模型未能加载），以下为关键词检索结果" if language == "zh" else
                    "Search by meaning is unavailable (the embedding model did not load); keyword results below")
        if language == "zh":
            text = f"语义检索准备中：已完成 {percent}%" + (f"，约 {minutes} 分钟" if minutes else "")
            return text + ("；以下为关键词检索结果" if not meaning.ready else "；尚未编码的段落暂按关键词排序")
        text = f"Search by meaning is being prepared: {percent}% done" + (
            f", about {minutes} min left" if minutes else "")
        return text + ("; keyword results below" if not meaning.ready else
                       "; passages not yet encoded are ranked by keywords")

    def building_note(self) -> str | None:
        """While no index is served yet: what the job worker is doing about it (None when nothing is queued)."""
        try:
            active = self.index.ledger.active()
        except Exception:  # the database is down: the caller's own message stands
            return None
        if not active:
            return None
        job = active[0]
        if job.state == "queued":
            return f"the index is queued for the job worker (job {job.id}); search works once it is built"
        share = f" {job.percent}%" if job.percent is not None else ""
        return f"the job worker is building the index (job {job.id}: {job.phase or 'starting'}{share}); " \
               "keyword search works in a few seconds"

    def health(self) -> dict[str, Any]:
        """Database reachability, store counts, the index being served and the index jobs (/api/health)."""
        report: dict[str, Any] = {"database": "ok", "documents": None, "passages": None, "index_generation": None,
                                  "index_passages": None, "semantic_model": None, "search_by_meaning": False,
                                  "meaning": None, "jobs": []}
        try:
            with self.store.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            report["documents"], report["passages"] = self.store.counts()
            report["jobs"] = self.index.ledger.summary()  # who asked, where and why: /api/jobs (administrators)
        except Exception as exc:  # health reports any database failure instead of raising
            log.warning("health: database unreachable: %s", exc)
            report["database"] = f"error: {type(exc).__name__}"
        folder = current_generation(self.settings.indexes_dir)
        if folder is not None:
            manifest = read_manifest(folder)
            report["index_generation"] = folder.name
            report["index_passages"] = (manifest.get("counts") or {}).get("passages")
            report["semantic_model"] = (manifest.get("semantic") or {}).get("model")
            meaning = self.meaning()
            if meaning is not None:
                with_vectors, passages = meaning.coverage
                report["search_by_meaning"] = meaning.ready
                report["meaning"] = {"ready": meaning.ready, "complete": meaning.complete, "reason": meaning.reason,
                                     "passages_with_vectors": with_vectors, "passages": passages}
        report["status"] = "ok" if report["database"] == "ok" and folder is not None else "degraded"
        return report

