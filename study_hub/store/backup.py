"""Backup and restore of the user data: accounts, units, notes, reading lists, sessions, attendance, audit.

The file is portable JSON (gzip-compressed): one list of rows per table, dates in ISO 8601, so a backup
taken from SQLite restores into PostgreSQL and back. Documents and passages are not in it: they are
re-ingested from their source files, and their ids (document id + a hash of the passage text) come out the
same, so notes and reading items point at them again. Sign-in sessions and check-in tokens are not in it
either: they are short-lived secrets.
"""

from __future__ import annotations

import gzip
import json
import os
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Boolean, DateTime, func, insert, inspect, select, text

from study_hub.errors import StudyHubError
from study_hub.store import DocumentStore
from study_hub.store.db import current_revision
from study_hub.store.models import Base, utcnow

FORMAT = "study_hub-backup"
VERSION = 1
# Parents before children, so foreign keys hold while restoring.
TABLES = ("units", "users", "memberships", "audit_log", "notes", "note_tags", "note_replies", "note_reads",
          "reading_lists", "reading_items", "reading_assignments", "item_progress", "study_sessions",
          "session_invitees", "attendance")


class BackupError(StudyHubError):
    pass


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, (datetime, date)) else value


def backup(store: DocumentStore, path: Path) -> dict[str, int]:
    """Write every user-data table to ``path``; returns the row count per table."""
    tables: dict[str, list[dict[str, Any]]] = {}
    # One consistent snapshot of all the tables: on PostgreSQL a read-only REPEATABLE READ transaction (under
    # READ COMMITTED each SELECT sees its own moment, and a note written meanwhile could lose its tags); SQLite
    # reads inside one transaction anyway.
    options = {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True} \
        if store.engine.dialect.name == "postgresql" else {}
    with store.engine.connect().execution_options(**options) as connection, connection.begin():
        for name in TABLES:
            table = Base.metadata.tables[name]
            order = [c for c in table.primary_key.columns]
            if name == "units":
                order = [func.length(table.c.path), table.c.id]  # parents first
            rows = connection.execute(select(table).order_by(*order)).mappings()
            tables[name] = [{k: _plain(v) for k, v in row.items()} for row in rows]
    document = {"format": FORMAT, "version": VERSION, "schema_revision": current_revision(store.engine),
                "created_at": utcnow().isoformat(), "tables": tables}
    temporary = path.with_name(path.name + ".partial")
    temporary.unlink(missing_ok=True)
    # Password hashes and private notes: readable by the owner only, from the first byte (not chmod after).
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as raw, gzip.open(raw, "wt", encoding="utf-8") as handle:
        json.dump(document, handle, ensure_ascii=False)
    temporary.replace(path)  # a crash never leaves a half-written backup under the real name
    return {name: len(rows) for name, rows in tables.items()}


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


def restore(store: DocumentStore, path: Path) -> dict[str, int]:
    """Load a backup into a database that holds no user data yet (in one transaction)."""
    try:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            document = json.load(handle)
    except (OSError, EOFError, json.JSONDecodeError) as exc:
        raise BackupError(f"{path} is not a study_hub backup ({exc})") from exc
    if document.get("format") != FORMAT or document.get("version") != VERSION:
        raise BackupError(f"{path} is not a study_hub backup of version {VERSION}")
    if document.get("schema_revision") != current_revision(store.engine):
        raise BackupError(f"the backup is of schema {document.get('schema_revision')}, this database is at "
                          f"{current_revision(store.engine)}: restore with the matching study_hub version")
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
