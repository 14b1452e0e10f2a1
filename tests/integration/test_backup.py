"""Backup of the user data from SQLite, restored into PostgreSQL: everything comes back, the app works on it."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from support import A1, DOC, PASSWORD, csrf_of, sign_in

from study_hub.config import Settings
from study_hub.pipeline import ingest_paths
from study_hub.store import open_store
from study_hub.store.backup import HISTORY, TABLES, BackupError, backup, restore
from study_hub.store.models import Base
from study_hub.study.notes import NoteService
from study_hub.study.reading_lists import ReadingListService
from study_hub.study.sessions import SessionService


def counts(store) -> dict[str, int]:
    with store.engine.connect() as connection:
        return {name: connection.execute(select(func.count()).select_from(Base.metadata.tables[name])).scalar()
                for name in TABLES}


@pytest.mark.postgres
def test_backup_from_sqlite_restores_into_postgresql(world, tmp_path, fresh_pg_url) -> None:
    store, accounts = world["store"], world["accounts"]
    a = accounts.principal(accounts.get_user("a"))
    organiser = accounts.principal(accounts.get_user("org_a"))
    passage = store.get_document(DOC).passages[4]
    NoteService(store, accounts).create(a, passage.id, 0, 5, body="备份前的笔记", tags=["备份"], visibility="unit",
                                        unit_id=accounts.unit_by_path(A1).id)
    lists = ReadingListService(store, accounts)
    reading = lists.create(organiser, "备份清单")
    lists.add_item(organiser, reading.id, "document", document_id=DOC, guide="通读")
    lists.assign(organiser, reading.id, [accounts.unit_by_path(A1).id])
    lists.mark(a, lists.get(organiser, reading.id).items[0].id)
    start = datetime(2026, 12, 1, 6, tzinfo=UTC)
    SessionService(store, accounts).create(organiser, title="备份测试会", kind="thematic", starts_at=start,
                                           ends_at=start + timedelta(hours=1), host_unit_id=organiser.units[0][0],
                                           unit_ids=[accounts.unit_by_path(A1).id])
    before = counts(store)
    file = tmp_path / "study_hub-backup.json.gz"
    versions = len(store.versions(DOC))
    assert backup(store, file) == {**before, HISTORY: store.counts()[0]}  # one version per document here
    assert json.loads(gzip.decompress(file.read_bytes()))["format"] == "study_hub-backup"

    target_settings = Settings(home=tmp_path / "pg-home", database_url=fresh_pg_url, semantic=False)
    target = open_store(target_settings)
    assert ingest_paths([world["settings"].home / "docs"], target, target_settings).ok  # the documents, again
    assert restore(target, file) == {**before, HISTORY: store.counts()[0]}
    assert counts(target) == before and len(target.versions(DOC)) == versions
    with pytest.raises(BackupError, match="already holds"):
        restore(target, file)

    restored = accounts.__class__(target)
    a_again = restored.principal(restored.authenticate("a", PASSWORD))
    note = NoteService(target, restored).list(a_again, mine_only=True)[0]
    assert note.body == "备份前的笔记" and note.tags == ["备份"] and not note.orphaned
    assert note.quote == passage.text[0:5]
    assert NoteService(target, restored).create(a_again, passage.id, 1, 3).id > note.id  # sequences moved on

    from fastapi.testclient import TestClient

    from study_hub.index.builder import update_indexes
    from study_hub.webapp import create_app

    update_indexes(target, target_settings.indexes_dir)
    client = TestClient(create_app(target_settings, encoder=None))
    sign_in(client, "org_a")
    progress = client.get(f"/api/reading-lists/{reading.id}/progress").json()
    assert {m["login"]: m["studied"] for m in progress["members"]}["a"] == 1
    assert client.get("/api/sessions").json()[0]["title"] == "备份测试会"
    assert client.post("/api/notes", json={"passage_id": passage.id, "start": 0, "end": 2},
                       headers={"X-CSRF-Token": csrf_of(client)}).status_code == 201
    target.engine.dispose()


def test_restore_refuses_what_is_not_a_backup(tmp_path) -> None:
    store = open_store(Settings(home=tmp_path / "home"))
    bad = tmp_path / "notes.json.gz"
    bad.write_bytes(gzip.compress(b'{"format": "something-else"}'))
    with pytest.raises(BackupError, match="not a study_hub backup"):
        restore(store, bad)
    (tmp_path / "plain.txt").write_text("hello", encoding="utf-8")
    with pytest.raises(BackupError, match="not a study_hub backup"):
        restore(store, tmp_path / "plain.txt")


def test_a_backup_is_readable_by_its_owner_only(world, tmp_path) -> None:
    """Fails before: the file holding password hashes and private notes was created 0644 (world-readable)."""
    import os
    import stat

    os.umask(0o022)
    path = tmp_path / "owner-only.json.gz"
    backup(world["store"], path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    backup(world["store"], path)  # a second backup over the first stays private too
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
