"""The schema comes from Alembic on both backends, and the `study-hub` command works as a person uses it."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from support import database_env

import study_hub.store as store_module
from study_hub.config import Settings
from study_hub.store import DocumentFilter, DocumentStore, open_store
from study_hub.store.db import _alembic_config, current_revision, migrate
from study_hub.store.models import Base

REPO = Path(__file__).resolve().parents[2]


def test_migrations_create_exactly_the_models(store: DocumentStore) -> None:
    assert current_revision(store.engine) == "0009"
    with store.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_migration_0007_splits_folded_speakers_out_of_the_issuer_and_back(tmp_path: Path) -> None:
    # store_module.make_engine: a database of its own on PostgreSQL too (STUDY_HUB_TEST_BACKEND=postgres)
    engine = store_module.make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    migrate(engine, "0006")
    before = datetime(2026, 1, 1, tzinfo=UTC)
    issuers = {"gwr-2024": "国务院（总理李强）", "gwr-2013": "国务院(总理温家宝)", "cpc-19": "中共中央（习近平代表第18届中央委员会）",
               "outline": "全国人民代表大会（批准）", "plain": "国务院", "none": None}
    old = sa.table("documents", *(sa.column(name) for name in (
        "id", "title", "issuer", "language", "dates", "extra", "source_path", "source_format", "source_hash", "text",
        "char_count", "passage_count", "created_at", "updated_at")))
    with engine.begin() as connection:
        connection.execute(old.insert(), [
            {"id": doc_id, "title": doc_id, "issuer": issuer, "language": "zh", "dates": "{}", "extra": "{}",
             "source_path": f"{doc_id}.txt", "source_format": "txt", "source_hash": "0" * 64, "text": "正文。",
             "char_count": 3, "passage_count": 0, "created_at": before, "updated_at": before}
            for doc_id, issuer in issuers.items()])
        connection.execute(sa.text("INSERT INTO passages (id, document_id, ordinal, heading_path, char_start, char_end, "
                                   "text) VALUES ('gwr-2024.1', 'gwr-2024', 0, '', 0, 3, '正文。')"))

    migrate(engine)
    documents = Base.metadata.tables["documents"]

    def rows() -> dict[str, tuple]:
        with engine.connect() as connection:
            return {doc_id: tuple(rest) for doc_id, *rest in connection.execute(sa.select(
                documents.c.id, documents.c.issuer, documents.c.speaker, documents.c.updated_at))}

    split = rows()
    assert {doc_id: (issuer, speaker) for doc_id, (issuer, speaker, _) in split.items()} == {
        "gwr-2024": ("国务院", "总理李强"), "gwr-2013": ("国务院", "总理温家宝"),
        "cpc-19": ("中共中央", "习近平代表第18届中央委员会"), "outline": ("全国人民代表大会（批准）", None),
        "plain": ("国务院", None), "none": (None, None)}
    touched = {doc_id for doc_id, (_, _, updated) in split.items() if updated.replace(tzinfo=UTC) > before}
    assert touched == {"gwr-2024", "gwr-2013", "cpc-19"}  # the next index update re-indexes these
    store = DocumentStore(engine)
    assert store.document_ids_where(issuer="李强") == {"gwr-2024"}
    assert {d.id for d in store.list_documents(DocumentFilter(issuer="国务院"))} == {"gwr-2024", "gwr-2013", "plain"}

    command.downgrade(_alembic_config(engine), "0006")
    with engine.connect() as connection:
        assert "speaker" not in {c["name"] for c in sa.inspect(connection).get_columns("documents")}
        folded = dict(connection.execute(sa.select(old.c.id, old.c.issuer)).all())
    assert folded == {**issuers, "gwr-2013": "国务院（总理温家宝）"}  # brackets come back full-width
    assert store.counts() == (6, 1)  # no table copy: the passages stay
    migrate(engine)
    assert {doc_id: rest[:2] for doc_id, rest in rows().items()} == {
        doc_id: (issuer, speaker) for doc_id, (issuer, speaker, _) in split.items()}
    engine.dispose()


def _cli(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from study_hub.cli import run; run()", *args],
        capture_output=True, text=True, timeout=300,
        # Keyword-only: these tests are about the command line, not the (slow) embedding model. On the test run's
        # database backend: in the PostgreSQL run, the database standing in for the home's SQLite file.
        env={**os.environ, "STUDY_HUB_HOME": str(home), "STUDY_HUB_SEMANTIC": "false", **database_env(home), **env},
    )


def test_cli_ingest_list_show_and_failures(tmp_path: Path) -> None:
    home = tmp_path / "home"
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "empty.txt").write_bytes(b"")
    (folder / "意见.md").write_text(
        "---\nid: yz-opinion\nlevel: district\n---\n# 迎泽区关于党建引领基层治理的意见\n\n"
        "## 一、总体要求\n\n（一）指导思想。坚持党建引领，推进网格化管理，完善接诉即办机制，提升基层治理能力。\n",
        encoding="utf-8",
    )
    result = _cli(home, "ingest", str(folder), "--kind", "document")
    assert result.returncode == 1  # one file failed
    assert "1 documents (1 added)" in result.stdout
    assert "FAILED" in result.stderr and "empty.txt: file is empty" in result.stderr
    store = open_store(Settings(home=home))  # this run's backend (PostgreSQL in that run) holds what it wrote
    assert [d.id for d in store.list_documents()] == ["yz-opinion"]
    store.engine.dispose()

    listing = _cli(home, "docs", "list", "--level", "district")
    assert listing.returncode == 0 and "yz-opinion" in listing.stdout and "1 documents" in listing.stdout
    shown = _cli(home, "docs", "show", "yz-opinion")
    assert shown.returncode == 0
    assert "一、总体要求" in shown.stdout and "（一）指导思想" in shown.stdout and "level: district" in shown.stdout

    missing = _cli(home, "docs", "show", "no-such-doc")
    assert missing.returncode == 2 and "no document with id 'no-such-doc'" in missing.stderr
    assert "Traceback" not in missing.stderr

    bad = _cli(home, "ingest", str(folder), "--date", "yesterday")
    assert bad.returncode == 2 and "is not YYYY" in bad.stderr


def test_cli_issuer_and_speaker(tmp_path: Path) -> None:
    home = tmp_path / "home"
    doc = REPO / "corpus" / "docs" / "central-law-urban-residents-committee-2018.txt"
    assert _cli(home, "ingest", str(doc), "--issuer", "国务院（总理李强）", "--no-index").returncode == 0
    shown = _cli(home, "docs", "show", "central-law-urban-residents-committee-2018").stdout
    assert "    issuer: 国务院\n" in shown and "   speaker: 总理李强\n" in shown
    assert _cli(home, "ingest", str(doc), "--speaker", "总理李克强", "--no-index").returncode == 0
    assert "1 documents" in _cli(home, "docs", "list", "--issuer", "李克强").stdout


@pytest.mark.sqlite_only  # about SQLite itself: STUDY_HUB_HOME alone decides which database file a command uses
def test_two_homes_are_independent(tmp_path: Path) -> None:
    doc = REPO / "corpus" / "docs" / "central-law-urban-residents-committee-2018.txt"
    assert _cli(tmp_path / "one", "ingest", str(doc)).returncode == 0
    assert (tmp_path / "one" / "study_hub.sqlite3").is_file() and not (tmp_path / "two").exists()
    assert "0 documents" in _cli(tmp_path / "two", "docs", "list").stdout
    assert "1 documents" in _cli(tmp_path / "one", "docs", "list").stdout
    assert Settings(home=tmp_path / "two").database_url.endswith("two/study_hub.sqlite3")


def test_cli_units_users_and_import(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert _cli(home, "unit", "add", "迎泽区委", "--kind", "district_committee").returncode == 0
    assert _cli(home, "unit", "add", "第一党支部", "--parent", "迎泽区委", "--kind", "branch").returncode == 0
    bad_parent = _cli(home, "unit", "add", "某组", "--parent", "不存在")
    assert bad_parent.returncode == 2 and "no unit '不存在'" in bad_parent.stderr
    tree = _cli(home, "unit", "list")
    assert "迎泽区委/第一党支部" in tree.stdout
    added = _cli(home, "user", "add", "boss", "--name", "领导", "--role", "admin", "--password", "a-strong-password")
    assert added.returncode == 0 and "boss" in added.stdout
    short = _cli(home, "user", "add", "weak", "--name", "弱", "--password", "short")
    assert short.returncode == 2 and "10 characters" in short.stderr
    members = tmp_path / "members.csv"
    members.write_text("name,login,unit,role\n张三,zhangsan,迎泽区委/第一党支部,member\n李四,lisi,nowhere,member\n",
                       encoding="utf-8")
    imported = _cli(home, "user", "import", str(members))
    assert imported.returncode == 1 and "added zhangsan  one-time password: " in imported.stdout
    assert "row 3: rejected: no unit 'nowhere'" in imported.stderr and "1 added, 1 rejected" in imported.stdout
    assert _cli(home, "user", "set-role", "zhangsan", "organiser").returncode == 0
    assert _cli(home, "user", "set-password", "zhangsan", "--password", "another-long-one").returncode == 0
    check = subprocess.run(  # in a process of its own too, on the same home as the commands
        [sys.executable, "-c", "from study_hub.accounts import AccountService; from study_hub.config import Settings; "
         "from study_hub.store import open_store; a = AccountService(open_store(Settings())); "
         "print(a.authenticate('zhangsan', 'another-long-one').login, [e.action for e in a.audit_entries(limit=2)])"],
        capture_output=True, text=True, timeout=120, env={**os.environ, "STUDY_HUB_HOME": str(home), **database_env(home)})
    assert check.stdout.strip() == "zhangsan ['login', 'password_changed']", check.stderr[-2000:]
    listing = _cli(home, "user", "list").stdout
    assert "zhangsan" in listing and "organiser" in listing and "第一党支部" in listing


def test_cli_backup_and_restore(tmp_path: Path) -> None:
    home, other = tmp_path / "home", tmp_path / "other"
    assert _cli(home, "user", "add", "keeper", "--name", "保管员", "--password", "a-strong-password").returncode == 0
    saved = _cli(home, "backup", str(tmp_path / "b.json.gz"))
    assert saved.returncode == 0 and "1 users" in saved.stdout
    loaded = _cli(other, "restore", str(tmp_path / "b.json.gz"))
    assert loaded.returncode == 0 and "1 users" in loaded.stdout
    assert "keeper" in _cli(other, "user", "list").stdout
    again = _cli(other, "restore", str(tmp_path / "b.json.gz"))
    assert again.returncode == 2 and "already holds" in again.stderr
