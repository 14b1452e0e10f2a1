"""PostgreSQL goes away while the app runs: requests fail cleanly (503 with a message), then work again
without restarting the app."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, make_url, text

from study_hub.config import Settings
from study_hub.index.builder import update_indexes
from study_hub.pipeline import ingest_paths
from study_hub.store import open_store
from study_hub.webapp import create_app

CORPUS = Path(__file__).resolve().parents[2] / "corpus" / "docs"


@pytest.mark.postgres
def test_requests_fail_cleanly_during_an_outage_and_recover(tmp_path, fresh_pg_url) -> None:
    settings = Settings(home=tmp_path / "home", database_url=fresh_pg_url, semantic=False)
    store = open_store(settings)
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(CORPUS / "central-reg-property-management-2018.txt", docs)
    assert ingest_paths([docs], store, settings).ok
    update_indexes(store, settings.indexes_dir)
    client = TestClient(create_app(settings, encoder=None))
    assert client.get("/api/documents").status_code == 200

    name = make_url(fresh_pg_url).database
    admin = create_engine(make_url(fresh_pg_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:  # the outage: no new connections, every open one cut
        connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
        connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name "
                                "AND pid <> pg_backend_pid()"), {"name": name})
    try:
        for path in ("/api/documents", "/api/search?q=业主大会&mode=keyword", "/documents"):
            response = client.get(path)
            assert response.status_code == 503, (path, response.status_code, response.text[:300])
            assert "database is not reachable" in response.text
        health = client.get("/api/health").json()
        assert health["status"] == "degraded" and health["database"].startswith("error")
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        admin.dispose()
    assert client.get("/api/documents").status_code == 200  # back, with no restart
    assert client.get("/api/search", params={"q": "业主大会", "mode": "keyword"}).json()["total"] > 0
    store.engine.dispose()
    client.app.state.context.store.engine.dispose()
