"""Which keyword engine builds, updates and opens a generation's keyword index.

A generation's manifest records the engine that built it (``keyword_engine``), and it is served by that engine
whatever the setting says; the next update rebuilds with the configured one. The engines are imported when
first used, so serving with one never loads the other.
"""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path
from typing import Any

from study_hub.domain import IndexRecord
from study_hub.index.keyword import KeywordIndex, Records
from study_hub.segment.tokens import Analyzer, default_analyzer

ENGINES = ("tantivy", "whoosh")
DEFAULT_ENGINE = "tantivy"


def engine_label(engine: str) -> str:
    """What the manifest records: the engine and its package version."""
    package = {"tantivy": "tantivy", "whoosh": "whoosh-reloaded"}[engine]
    return f"{package} {version(package)}"


def engine_of(manifest: dict[str, Any]) -> str:
    """The engine a generation was built by (generations before the field was written: whoosh)."""
    label = str(manifest.get("keyword_engine") or "whoosh")
    return "tantivy" if label.startswith("tantivy") else "whoosh"


def _module(engine: str):
    if engine == "tantivy":
        from study_hub.index import keyword_tantivy as module
    elif engine == "whoosh":
        from study_hub.index import keyword_whoosh as module
    else:
        raise ValueError(f"unknown keyword engine {engine!r}: choose one of {', '.join(ENGINES)}")
    return module


def build_keyword(engine: str, folder: Path, records: Records, titles: dict[str, str], *, procs: int = 1,
                  analyzer: Analyzer | None = None) -> int:
    """Write a new keyword index of the passages ``records()`` gives (their documents' ``titles``: doc id ->
    title), tokenised by ``analyzer`` (default: the shipped one), into the generation ``folder``; return the
    passage count."""
    return _module(engine).build(folder, records, titles, procs=procs, analyzer=analyzer or default_analyzer())


def update_keyword(engine: str, folder: Path, remove_doc_ids: list[str], records: list[IndexRecord],
                   titles: dict[str, str], analyzer: Analyzer | None = None) -> int:
    """In a copy of a generation: drop the passages of ``remove_doc_ids``, add ``records`` (tokenised by
    ``analyzer``, the one the generation was built with); return the passage count after."""
    return _module(engine).update(folder, remove_doc_ids, records, titles, analyzer=analyzer or default_analyzer())


def open_keyword_index(folder: Path, manifest: dict[str, Any]) -> KeywordIndex:
    return _module(engine_of(manifest)).open_index(folder)
