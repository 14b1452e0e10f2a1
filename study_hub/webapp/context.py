"""What every request handler needs, built once per app by ``create_app`` and reached through ``Ctx``."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import text

from study_hub.accounts import AccountService
from study_hub.config import Settings
from study_hub.errors import StudyHubError
from study_hub.index.generations import current_generation, read_manifest
from study_hub.search.service import SearchService
from study_hub.store import DocumentStore
from study_hub.study.notes import NoteService
from study_hub.study.reading_lists import ReadingListService
from study_hub.study.sessions import SessionService

log = logging.getLogger(__name__)


@dataclass
class AppContext:
    settings: Settings
    store: DocumentStore
    search: SearchService
    encoder: Any | None  # the Embedder, when search by meaning is available
    accounts: AccountService
    notes: NoteService
    reading_lists: ReadingListService
    study_sessions: SessionService

    def health_of_semantic(self) -> bool:
        """Whether search by meaning (and cross-level tracing) can answer now."""
        if self.encoder is None:
            return False
        try:
            return self.search.generation().semantic is not None
        except StudyHubError:
            return False

    def health(self) -> dict[str, Any]:
        """Database reachability, store counts and the index being served (for /api/health)."""
        report: dict[str, Any] = {"database": "ok", "documents": None, "passages": None, "index_generation": None,
                                  "index_passages": None, "semantic_model": None, "search_by_meaning": False}
        try:
            with self.store.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            report["documents"], report["passages"] = self.store.counts()
        except Exception as exc:  # health reports any database failure instead of raising
            log.warning("health: database unreachable: %s", exc)
            report["database"] = f"error: {type(exc).__name__}"
        folder = current_generation(self.settings.indexes_dir)
        if folder is not None:
            manifest = read_manifest(folder)
            report["index_generation"] = folder.name
            report["index_passages"] = (manifest.get("counts") or {}).get("passages")
            semantic = manifest.get("semantic") or {}
            report["semantic_model"] = semantic.get("model")
            report["search_by_meaning"] = bool(semantic) and self.encoder is not None
        report["status"] = "ok" if report["database"] == "ok" and folder is not None else "degraded"
        return report


def get_context(request: Request) -> AppContext:
    return request.app.state.context


Ctx = Annotated[AppContext, Depends(get_context)]
