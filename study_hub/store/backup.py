"""Backup and restore of the user data: accounts, units, notes, reading lists, sessions, attendance, audit.

The file is portable JSON (gzip-compressed): one list of rows per table, dates in ISO 8601, so a backup
taken from SQLite restores into PostgreSQL and back. Documents and passages are not in it: they are
re-ingested from their source files, and their ids (document id + a hash of the passage text) come out the
same, so notes and reading items point at them again. What no file holds is in it: each document's earlier
texts (``document_versions``) and its validity (a status may have been set by ``docs set-status``); a restore
puts them back on the documents ingested again (``_restore_history``). Sign-in sessions and check-in tokens are
not in it either: they are short-lived secrets.

A backup of an earlier schema (taken before an upgrade) is carried forward by the migrations themselves: its rows
are loaded into a scratch SQLite database at the backup's revision, which is then upgraded to this one, and the
rows restored are read from there (``_carried_forward``). A backup of a later schema than this code knows is
refused: restore it with that study_hub version or a newer one.
"""

from __future__ import annotations

import gzip
import json
import os
import tempfile
import warnings
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Boolean, DateTime, MetaData, Table, func, insert, inspect, select, text
from sqlalchemy.exc import SAWarning

from study_hub.errors import StudyHubError
from study_hub.store import DocumentStore
from study_hub.store.db import _alembic_config, current_revision, make_engine, migrate
from study_hub.store.models import Base, Document, DocumentVersion, utcnow

FORMAT = "study_hub-backup"
VERSION = 2  # 2: each document's versions and validity
HISTORY = "document_versions"  # the count a backup and a restore report for the versions
# Parents before children, so foreign keys hold while restoring.
TABLES = ("units", "users", "memberships", "audit_log", "notes", "note_tags", "note_replies", "note_reads",
          "reading_lists", "reading_items", "reading_assignments", "item_progress", "study_sessions",
          "session_invitees", "attendance")


class BackupError(StudyHubError):
    pass


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, (datetime, date)) else value


def table_rows(connection, schema: Mapping[str, Table] = Base.metadata.tables) -> dict[str, list[dict[str, Any]]]:
    """Every user-data table of ``schema`` (this version's, or one reflected from an older database) as rows of
    plain values, in an order that restores: by key, units parents first."""
    tables = {}
    for name in (name for name in TABLES if name in schema):
        table = schema[name]
        order = [c for c in table.primary_key.columns]
        if name == "units":
            order = [func.length(table.c.path), table.c.id]  # parents first
        rows = connection.execute(select(table).order_by(*order)).mappings()
        tables[name] = [{k: _plain(v) for k, v in row.items()} for row in rows]
    return tables


def backup(store: DocumentStore, path: Path) -> dict[str, int]:
    """Write every user-data table to ``path``; returns the row count per table."""
    # One consistent snapshot of all the tables: on PostgreSQL a read-only REPEATABLE READ transaction (under
    # READ COMMITTED each SELECT sees its own moment, and a note written meanwhile could lose its tags); SQLite
    # reads inside one transaction anyway.
    options = {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True} \
        if store.engine.dialect.name == "postgresql" else {}
    with store.engine.connect().execution_options(**options) as connection, connection.begin():
        tables = table_rows(connection)
        history = _history(connection)
    document = {"format": FORMAT, "version": VERSION, "schema_revision": current_revision(store.engine),
                "created_at": utcnow().isoformat(), "tables": tables, "documents": history}
    temporary = path.with_name(path.name + ".partial")
    temporary.unlink(missing_ok=True)
    # Password hashes and private notes: readable by the owner only, from the first byte (not chmod after).
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as raw, gzip.open(raw, "wt", encoding="utf-8") as handle:
        json.dump(document, handle, ensure_ascii=False)
    temporary.replace(path)  # a crash never leaves a half-written backup under the real name
    return {**{name: len(rows) for name, rows in tables.items()},
            HISTORY: sum(len(saved["versions"]) for saved in history.values())}


_VERSION_FIELDS = ("number", "text", "meta", "heading_levels", "source_path", "source_format", "source_hash",
                   "char_count", "ingested_at")


def _history(connection) -> dict[str, dict[str, Any]]:
    """document id -> its validity and its versions, oldest first."""
    found = {doc_id: {"status": status, "status_date": status_date, "versions": []}
             for doc_id, status, status_date in connection.execute(
                 select(Document.id, Document.status, Document.status_date).order_by(Document.id))}
    columns = [getattr(DocumentVersion, name) for name in ("document_id", *_VERSION_FIELDS)]
    for row in connection.execute(select(*columns).order_by(DocumentVersion.document_id, DocumentVersion.number)
                                  ).mappings():
        found[row["document_id"]]["versions"].append({name: _plain(row[name]) for name in _VERSION_FIELDS})
    return found


def _restore_history(connection, saved: dict[str, dict[str, Any]]) -> int:
    """Put each document's earlier texts and validity back on the documents ingested again; returns the versions
    restored. A document not ingested again has nothing to hang them on and is left out. If the text ingested
    again is not the backup's newest, it stays the newest version, after the backup's. A status the ingest set
    (a catalog's) wins over the backup's; an unknown one takes the backup's."""
    versions = Base.metadata.tables[HISTORY]
    restored = 0
    for doc_id, history in saved.items():
        current = connection.execute(select(Document.text, Document.status).where(Document.id == doc_id)).first()
        if current is None:
            continue
        ingested = connection.execute(select(versions).where(versions.c.document_id == doc_id)
                                      .order_by(versions.c.number.desc())).mappings().first()
        rows = [_typed(versions, {**row, "document_id": doc_id}) for row in history["versions"]]
        if rows and ingested is not None:
            connection.execute(versions.delete().where(versions.c.document_id == doc_id))
            if rows[-1]["text"] != current.text:  # the file changed since the backup: its text comes after
                rows.append({**{k: ingested[k] for k in _VERSION_FIELDS}, "document_id": doc_id,
                             "number": rows[-1]["number"] + 1})
            connection.execute(insert(versions), rows)
            restored += len(history["versions"])
        if current.status == "unknown" and history["status"] not in (None, "unknown"):
            connection.execute(Document.__table__.update().where(Document.id == doc_id).values(
                status=history["status"], status_date=history["status_date"], updated_at=utcnow()))
    return restored


def _typed(table, row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in row.items():
        column = table.c[key]
        if value is not None and isinstance(column.type, DateTime):
            value = datetime.fromisoformat(value)
        elif value is not None and isinstance(column.type, Boolean):
            value = bool(value)
        out[key] = value
    return out


def reflected(engine) -> MetaData:
    """The tables as they are in ``engine``'s database (an older schema's, say)."""
    schema = MetaData()
    with warnings.catch_warnings():  # expression indexes are not reflected; they stay in the database
        warnings.simplefilter("ignore", SAWarning)
        schema.reflect(engine)
    return schema


def _carried_forward(document: dict[str, Any], revision: str | None) -> dict[str, Any]:
    """The backup's tables as they are at ``revision``: loaded at the backup's own revision into a scratch
    database, then upgraded by the migrations (a new column gets its default, a changed one its conversion)."""
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    older = document.get("schema_revision")
    scripts = ScriptDirectory.from_config(_alembic_config(None))
    known = {script.revision for script in scripts.walk_revisions()}
    if older not in known or revision not in known:
        raise BackupError(f"the backup is of schema {older}, which this study_hub does not know (it knows up to "
                          f"{scripts.get_current_head()}): restore it with the study_hub that made it, or a newer one")
    if older not in {script.revision for script in scripts.walk_revisions(base="base", head=revision)}:
        raise BackupError(f"the backup is of schema {older}, newer than this database's {revision}: upgrade "
                          "study_hub first")
    with tempfile.TemporaryDirectory(prefix="study_hub-restore-") as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'carried.sqlite3'}")
        try:
            migrate(engine, older)
            then = reflected(engine)
            with engine.begin() as connection:
                for name in TABLES:
                    rows = document["tables"].get(name) or []
                    if rows and name not in then.tables:
                        raise BackupError(f"the backup holds {name}, which schema {older} does not have")
                    if rows:
                        connection.execute(insert(then.tables[name]), [_typed(then.tables[name], row) for row in rows])
            try:
                migrate(engine, revision)
            except CommandError as exc:
                raise BackupError(f"the backup of schema {older} could not be brought to {revision}: {exc}") from exc
            with engine.connect() as connection:
                tables = table_rows(connection)
        finally:
            engine.dispose()
    return {**document, "tables": tables, "schema_revision": revision}


def restore(store: DocumentStore, path: Path) -> dict[str, int]:
    """Load a backup into a database that holds no user data yet (in one transaction)."""
    try:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            document = json.load(handle)
    except (OSError, EOFError, json.JSONDecodeError) as exc:
        raise BackupError(f"{path} is not a study_hub backup ({exc})") from exc
    if document.get("format") != FORMAT or document.get("version") not in (1, VERSION):
        raise BackupError(f"{path} is not a study_hub backup of version {VERSION}")
    if document.get("schema_revision") != current_revision(store.engine):
        document = _carried_forward(document, current_revision(store.engine))
    counts = {}
    with store.engine.begin() as connection:
        for name in TABLES:
            if connection.execute(select(func.count()).select_from(Base.metadata.tables[name])).scalar():
                raise BackupError(f"this database already holds {name}: restore into an empty one")
        for name in TABLES:
            table = Base.metadata.tables[name]
            rows = [_typed(table, row) for row in document["tables"].get(name, [])]
            if rows:
                connection.execute(insert(table), rows)
            counts[name] = len(rows)
        counts[HISTORY] = _restore_history(connection, document.get("documents") or {})
        if connection.dialect.name == "postgresql":  # ids were given explicitly: move the sequences past them
            for name in TABLES:
                table = Base.metadata.tables[name]
                keys = list(table.primary_key.columns)
                if len(keys) == 1 and inspect(connection).get_columns(name) and keys[0].autoincrement is not False \
                        and keys[0].type.python_type is int:
                    connection.execute(text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', '{keys[0].name}'), "
                        f"COALESCE((SELECT MAX({keys[0].name}) FROM {name}), 0) + 1, false)"))
    return counts
