"""Catalog files: one JSON object per line describing the documents in a folder.

A folder's catalog is ``catalog.jsonl`` (the shipped corpus) or ``metadata.jsonl`` (the shared corpus),
found in the file's folder or the folder above it. A record matches a file by its ``file`` field (a
path relative to the catalog) or, failing that, by ``id`` == the file name without its suffix.

``issuer`` is the issuing body and ``speaker`` the person who spoke; an older catalog's folded
"国务院（总理李强）" is split into the two (``DocumentMeta`` does it). ``status`` (current, amended, repealed,
not_yet_effective, unknown, or 现行有效 / 已修订 / 已废止 / 尚未生效) and ``status_date`` say the document's validity
and since when.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from study_hub.domain import DocumentMeta
from study_hub.errors import MetadataError

CATALOG_NAMES = ("catalog.jsonl", "metadata.jsonl")
_META_FIELDS = ("id", "title", "issuer", "speaker", "level", "kind", "date", "doc_number", "language", "status",
                "status_date")


def record_to_meta(record: dict[str, Any]) -> DocumentMeta:
    fields = {name: (str(record[name]) if record.get(name) is not None else None) for name in _META_FIELDS}
    dates = record.get("dates") or {}
    extra = {k: v for k, v in record.items() if k not in (*_META_FIELDS, "dates", "file")}
    return DocumentMeta(**fields, dates={str(k): str(v) for k, v in dates.items()}, extra=extra)


class Catalogs:
    """Loads each catalog once and answers 'what does the catalog say about this file?'."""

    def __init__(self) -> None:
        self._loaded: dict[Path, dict[str, dict[str, Any]]] = {}

    def _load(self, catalog: Path) -> dict[str, dict[str, Any]]:
        if catalog not in self._loaded:
            by_key: dict[str, dict[str, Any]] = {}
            for number, line in enumerate(catalog.read_text(encoding="utf-8").splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise MetadataError(f"{catalog}:{number}: not valid JSON ({exc.msg})") from exc
                if not isinstance(record, dict) or not (record.get("id") or record.get("file")):
                    raise MetadataError(f"{catalog}:{number}: a record needs an 'id' or a 'file'")
                if record.get("file"):
                    by_key["file:" + str((catalog.parent / record["file"]).resolve())] = record
                if record.get("id"):
                    by_key["id:" + str(record["id"])] = record
            self._loaded[catalog] = by_key
        return self._loaded[catalog]

    def lookup(self, path: Path) -> DocumentMeta | None:
        path = path.resolve()
        for folder in (path.parent, path.parent.parent):
            for name in CATALOG_NAMES:
                catalog = folder / name
                if catalog.is_file():
                    records = self._load(catalog)
                    record = records.get(f"file:{path}") or records.get(f"id:{path.stem}")
                    if record is not None:
                        return record_to_meta(record)
        return None
