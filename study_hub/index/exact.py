"""Exact-wording index: which passages contain a given character sequence, whatever jieba made of it.

An SQLite FTS5 table with the ``trigram`` tokenizer over each passage's text folded by ``fold_exact``
(width, case and whitespace folding), in the generation folder beside the keyword index. A phrase of
three or more characters is a trigram phrase query; shorter ones fall back to a scan with ``instr``.
Both are exact: a passage matches if and only if its folded text contains the folded phrase.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path

from study_hub.domain import IndexRecord
from study_hub.segment.tokens import fold_exact

FILE_NAME = "exact.sqlite3"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS passages (rowid INTEGER PRIMARY KEY, passage_id TEXT UNIQUE NOT NULL,
                                     doc_id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS passages_doc ON passages (doc_id);
CREATE VIRTUAL TABLE IF NOT EXISTS exact USING fts5 (folded, tokenize = 'trigram');
"""


class ExactIndex:
    def __init__(self, folder: Path, *, writable: bool = False):
        path = folder / FILE_NAME
        if writable:
            self._db = sqlite3.connect(path)
            self._db.executescript("PRAGMA journal_mode=DELETE; PRAGMA synchronous=OFF;" + _SCHEMA)
        else:
            self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)

    def close(self) -> None:
        self._db.close()

    def add(self, records: Iterable[IndexRecord]) -> int:
        count = 0
        with self._db:
            for record in records:
                cursor = self._db.execute("INSERT INTO passages (passage_id, doc_id) VALUES (?, ?)",
                                          (record.passage_id, record.doc_id))
                self._db.execute("INSERT INTO exact (rowid, folded) VALUES (?, ?)",
                                 (cursor.lastrowid, fold_exact(record.text)))
                count += 1
        return count

    def delete_documents(self, doc_ids: Iterable[str]) -> None:
        with self._db:
            for doc_id in doc_ids:
                self._db.execute("DELETE FROM exact WHERE rowid IN (SELECT rowid FROM passages WHERE doc_id = ?)",
                                 (doc_id,))
                self._db.execute("DELETE FROM passages WHERE doc_id = ?", (doc_id,))

    def optimize(self) -> None:
        with self._db:
            self._db.execute("INSERT INTO exact (exact) VALUES ('optimize')")

    def passages_containing(self, phrase: str) -> set[str]:
        """Ids of the passages whose folded text contains the folded ``phrase``."""
        folded = fold_exact(phrase)
        if not folded:
            return set()
        if len(folded) >= 3:
            sql = ("SELECT p.passage_id FROM exact JOIN passages p ON p.rowid = exact.rowid "
                   "WHERE exact MATCH ?")
            argument = '"' + folded.replace('"', '""') + '"'
        else:  # the trigram index cannot answer one- and two-character phrases: scan
            sql = "SELECT p.passage_id FROM exact JOIN passages p ON p.rowid = exact.rowid WHERE instr(folded, ?) > 0"
            argument = folded
        return {row[0] for row in self._db.execute(sql, (argument,))}

    def count(self) -> int:
        return self._db.execute("SELECT count(*) FROM passages").fetchone()[0]
