"""Helpers for tests that need an organisation with members and signed-in browsers, or a subprocess on the test
run's database backend (imported by tests and by conftest)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from fastapi.testclient import TestClient

from study_hub.accounts import AccountService

PG_URL = os.environ.get("STUDY_HUB_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
ON_POSTGRES = os.environ.get("STUDY_HUB_TEST_BACKEND") == "postgres"
POSTGRES_FOR_SQLITE: dict[str, str] = {}  # SQLite file a test would use -> the PostgreSQL database standing in


def postgres_database_for(sqlite_url: str) -> str:
    """The PostgreSQL URL that stands in for this SQLite URL in the PostgreSQL run (created empty on first use;
    conftest drops them all at the end of the run)."""
    import hashlib

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    path = sqlite_url.split("///", 1)[-1]
    name = POSTGRES_FOR_SQLITE.get(path)
    if name is None:
        name = f"study_hub_t_{hashlib.sha1(path.encode()).hexdigest()[:16]}"
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        POSTGRES_FOR_SQLITE[path] = name
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


def database_env(home: Path) -> dict[str, str]:
    """What a subprocess on ``home`` needs in its environment to use the test run's backend: nothing on SQLite
    (the home's file), and in the PostgreSQL run ``STUDY_HUB_DATABASE_URL`` of the very database that stands in
    for the home's SQLite file in the test's own process (so the test and the subprocess share one store):
    ``env = {**os.environ, "STUDY_HUB_HOME": str(home), **database_env(home)}``."""
    if not ON_POSTGRES:
        return {}
    from study_hub.config import Settings

    return {"STUDY_HUB_DATABASE_URL": postgres_database_for(Settings(home=home, database_url="").database_url)}

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "docs"
DOC = "central-reg-property-management-2018"
PASSWORD = "correct-horse-battery"
A1 = "迎泽区委/桥东街道党工委/五一社区党委/第一党支部"
A2 = "迎泽区委/桥东街道党工委/五一社区党委/第二党支部"
B1 = "迎泽区委/桥东街道党工委/双塔社区党委/第一党支部"


def build_units(accounts: AccountService) -> None:
    accounts.add_unit("迎泽区委", "district_committee")
    accounts.add_unit("桥东街道党工委", "street_committee", "迎泽区委")
    for community in ("五一社区党委", "双塔社区党委"):
        accounts.add_unit(community, "community", "迎泽区委/桥东街道党工委")
    accounts.add_unit("第一党支部", "branch", "迎泽区委/桥东街道党工委/五一社区党委")
    accounts.add_unit("第二党支部", "branch", "迎泽区委/桥东街道党工委/五一社区党委")
    accounts.add_unit("第一党支部", "branch", "迎泽区委/桥东街道党工委/双塔社区党委")


def sign_in(client: TestClient, login: str, password: str = PASSWORD):
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    response = client.post("/login", data={"login": login, "password": password, "csrf_token": token,
                                           "next": "/notes"}, follow_redirects=False)
    assert response.status_code == 303
    return response


def csrf_of(client: TestClient) -> str:
    return client.get("/api/me").json()["csrf_token"]


def run_index_jobs(app) -> list:
    """What the job worker does with the queued index jobs, done here (in-process tests run no worker)."""
    index = app.state.context.index
    return [index.run(job_id) for job_id in index.ledger.queued()]


def ingested_home(folder: Path, names: list[str], semantic: bool = False):
    """(settings, store) of a home in ``folder`` with these shipped documents ingested (catalog included)."""
    import shutil

    from study_hub.config import Settings
    from study_hub.pipeline import ingest_paths
    from study_hub.store import open_store

    settings = Settings(home=folder / "home", semantic=semantic)
    store = open_store(settings)
    docs = folder / "docs"
    docs.mkdir()
    for name in names:
        shutil.copy(CORPUS / f"{name}.txt", docs)
    shutil.copy(CORPUS.parent / "catalog.jsonl", folder / "catalog.jsonl")
    assert ingest_paths([docs], store, settings).ok
    return settings, store


def home_rows(home: Path, sql: str, **params) -> list[tuple]:
    """The rows of one SQL query (named ``:params``) on the store of ``home``, on the test run's backend (the same
    database a subprocess given ``database_env(home)`` uses)."""
    from sqlalchemy import text

    from study_hub.config import Settings
    from study_hub.store import open_store

    store = open_store(Settings(home=home))
    try:
        with store.engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql), params)]
    finally:
        store.engine.dispose()


def add_members_fast(accounts: AccountService, store, unit_id: int, prefix: str, count: int) -> list:
    """``count`` members of one unit (logins ``{prefix}000``…), added straight to the store with one shared password
    hash (PASSWORD): hashing 300 passwords one by one would take the test a minute. Returns the users."""
    from study_hub.store.models import Membership, User

    digest = accounts.hasher.hash(PASSWORD)
    with store.sessions.begin() as session:
        users = [User(login=f"{prefix}{n:03d}", display_name=f"党员{n}", password_hash=digest, role="member")
                 for n in range(count)]
        session.add_all(users)
        session.flush()
        session.add_all([Membership(user_id=u.id, unit_id=unit_id) for u in users])
        session.flush()
        session.expunge_all()  # the users keep their loaded fields after the commit
    return users
