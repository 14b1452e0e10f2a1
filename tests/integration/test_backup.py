"""Backup of the user data from SQLite, restored into PostgreSQL: everything comes back, the app works on it."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from support import A1, CORPUS, DOC, PASSWORD, csrf_of, sign_in

from study_hub.config import Settings
from study_hub.pipeline import ingest_paths
from study_hub.store import open_store
from study_hub.store.backup import HISTORY, TABLES, BackupError, backup, reflected, restore, table_rows
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


def _old_style_backup(home_store, revision: str, path) -> None:
    """What the study_hub of schema ``revision`` wrote: every user-data table it had, in the same format
    (version 1: no document history); read from a database downgraded to that revision."""
    from alembic import command

    from study_hub.store.db import _alembic_config

    command.downgrade(_alembic_config(home_store.engine), revision)
    with home_store.engine.connect() as connection:
        tables = table_rows(connection, reflected(home_store.engine).tables)
    path.write_bytes(gzip.compress(json.dumps({"format": "study_hub-backup", "version": 1,
                                               "schema_revision": revision, "tables": tables},
                                              ensure_ascii=False).encode("utf-8")))


def test_a_backup_taken_before_an_upgrade_restores_into_the_upgraded_schema(store, backend_settings,
                                                                            tmp_path) -> None:
    """Fails before: a backup of schema 0007 (before replies, one-time passwords, the record book's fields,
    citations and versions) was refused by a database at the head revision. Now the migrations carry it."""
    from study_hub.accounts import AccountService

    old_settings = Settings(home=tmp_path / "old", semantic=False)
    old = open_store(old_settings)
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / f"{DOC}.txt").write_bytes((CORPUS / f"{DOC}.txt").read_bytes())
    assert ingest_paths([docs], old, old_settings).ok
    accounts = AccountService(old)
    accounts.add_unit("迎泽区委", "district_committee")
    accounts.add_unit("一支部", "branch", "迎泽区委")
    accounts.add_user("organiser", "组织员", PASSWORD, "organiser", ["迎泽区委"])
    accounts.add_user("member", "党员", PASSWORD, "member", ["迎泽区委/一支部"])
    member, organiser = (accounts.principal(accounts.get_user(login)) for login in ("member", "organiser"))
    passage = old.get_document(DOC).passages[3]
    NoteService(old, accounts).create(member, passage.id, 0, 4, body="升级前的笔记", tags=["升级"])
    start = datetime(2026, 12, 1, 6, tzinfo=UTC)
    SessionService(old, accounts).create(organiser, title="升级前的学习会", kind="thematic", starts_at=start,
                                         ends_at=start + timedelta(hours=1), host_unit_id=organiser.units[0][0],
                                         unit_ids=[accounts.unit_by_path("迎泽区委/一支部").id])
    file = tmp_path / "before-upgrade.json.gz"
    _old_style_backup(old, "0007", file)
    old.engine.dispose()

    assert ingest_paths([docs], store, backend_settings).ok
    restored = restore(store, file)
    assert restored["users"] == 2 and restored["notes"] == 1 and restored["study_sessions"] == 1
    assert restored["note_replies"] == 0 and restored[HISTORY] == 0  # tables schema 0007 did not have
    again = AccountService(store)
    member_again = again.principal(again.authenticate("member", PASSWORD))
    assert not member_again.must_change_password  # the column 0009 added, at its default
    [note] = NoteService(store, again).list(member_again, mine_only=True)
    assert (note.body, note.tags, note.quote, note.orphaned) == ("升级前的笔记", ["升级"], passage.text[:4], False)
    organiser_again = again.principal(again.get_user("organiser"))
    [session] = SessionService(store, again).sessions_for(organiser_again)
    assert session.title == "升级前的学习会" and session.presider_id is None  # 0009's field, empty
    assert NoteService(store, again).create(member_again, passage.id, 1, 3).id > note.id  # ids move on


def test_a_backup_of_a_schema_this_version_does_not_know_is_refused(tmp_path) -> None:
    store = open_store(Settings(home=tmp_path / "home"))
    later = tmp_path / "later.json.gz"
    later.write_bytes(gzip.compress(json.dumps({"format": "study_hub-backup", "version": 2,
                                                "schema_revision": "0099", "tables": {}}).encode("utf-8")))
    with pytest.raises(BackupError, match="does not know"):
        restore(store, later)
