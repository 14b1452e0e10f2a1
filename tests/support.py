"""Helpers for tests that need an organisation with members and signed-in browsers (imported by tests)."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from study_hub.accounts import AccountService

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
