"""The store: SQLAlchemy tables, migrations and the DocumentStore service."""

from __future__ import annotations

from study_hub.config import Settings
from study_hub.store.db import make_engine, migrate
from study_hub.store.documents import DocumentFilter, DocumentStore, SaveOutcome, VersionInfo


def open_store(settings: Settings) -> DocumentStore:
    """Connect to the configured database and bring its schema up to date."""
    engine = make_engine(settings.database_url)
    migrate(engine)
    return DocumentStore(engine)


__all__ = ["DocumentFilter", "DocumentStore", "SaveOutcome", "VersionInfo", "open_store"]
