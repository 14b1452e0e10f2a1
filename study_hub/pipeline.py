"""Wiring of the stages: files -> RawDocument -> metadata -> passages -> store.

``ingest_paths`` is what `study-hub ingest` runs. Each file is read, described and segmented on its own;
a failing file is reported and skipped, the others go on; each document is saved in one transaction, together
with its citations of other documents and the references elsewhere that it answers (``DocumentStore.save`` runs
``store.citations.refresh`` inside it, so every way a document is saved keeps them true).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import tempfile
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import BinaryIO

from study_hub.config import Settings
from study_hub.domain import DocumentMeta
from study_hub.errors import IngestError, MetadataError
from study_hub.ingest.catalog import CATALOG_NAMES, Catalogs
from study_hub.ingest.metadata import parse_metadata
from study_hub.ingest.readers import SUPPORTED_SUFFIXES, read_file
from study_hub.segment import SegmentBounds, segment_text
from study_hub.store import DocumentStore, SaveOutcome
from study_hub.study.notes import reanchor_in
from study_hub.study.reading_lists import reanchor_items_in

log = logging.getLogger(__name__)
Progress = Callable[[int, int, Path], None]  # (files done, files in all, file just done)


@dataclass
class IngestReport:
    outcomes: dict[str, int] = field(default_factory=lambda: {o.value: 0 for o in SaveOutcome})
    failures: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    documents: int = 0
    passages: int = 0
    characters: int = 0
    bytes_read: int = 0
    seconds: float = 0.0
    notes_moved: int = 0  # study notes re-anchored in changed documents
    notes_orphaned: int = 0  # notes whose quote is gone from their changed document

    @property
    def ok(self) -> bool:
        return not self.failures


def collect_files(paths: Iterable[Path]) -> list[Path]:
    """Files named directly, plus supported files found under named folders (hidden ones skipped)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                sorted(
                    p for p in path.rglob("*")
                    if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES and p.name not in CATALOG_NAMES
                    and not any(part.startswith(".") for part in p.relative_to(path).parts)
                )
            )
        else:
            files.append(path)
    return files


def slug_for(path: Path) -> str:
    """A readable id from a file name: 关于X的意见 (2021).docx -> 关于x的意见-2021."""
    stem = unicodedata.normalize("NFKC", path.stem).lower()
    return re.sub(r"[^\w]+", "-", stem).strip("-_")[:120] or "document"


def describe(path: Path, raw_meta: DocumentMeta, text: str, catalogs: Catalogs,
             overrides: DocumentMeta) -> DocumentMeta:
    """Layered metadata: parsed from the text < declared by the file < catalog < command line."""
    catalog = catalogs.lookup(path) or DocumentMeta()
    declared = raw_meta.merged(catalog)
    meta = parse_metadata(text, title=overrides.title or declared.title).merged(declared).merged(overrides)
    if not meta.title:  # no title line, catalog or option: the opening words stand in, as a reader would cite it
        first = text.split("\n", 1)[0].strip()
        meta = meta.merged(DocumentMeta(title=(first[:30] + "…") if len(first) > 30 else first or path.stem))
    problems = meta.problems()
    if problems:
        raise MetadataError("; ".join(problems))
    return meta


def _unique_id(store: DocumentStore, meta: DocumentMeta, path: Path) -> str:
    """The declared id, or a slug of the file name that does not collide with another file's document."""
    if meta.id:
        return meta.id
    slug = slug_for(path)
    stored = store.source_hash_of(slug)
    if stored is None or Path(stored[1]) == path:
        return slug
    return f"{slug}-{hashlib.blake2b(str(path).encode(), digest_size=3).hexdigest()}"


def _reanchor_into(reports: list, session, document_id: str, previous: dict[str, tuple[str, str]]) -> None:
    """What is anchored to a changed document's passages follows them: notes, then reading-list items."""
    reports.append(reanchor_in(session, document_id))
    reanchor_items_in(session, document_id, previous)


# Test hook (fault tests only; never set in a deployment): "<document id>:<signal file>". The save of that
# document stops inside its transaction, after its document and passage rows are written and before the commit,
# writes the number of passage rows written so far to the signal file, and blocks until the process is killed.
# Read once per ``ingest_paths`` call; unset, it costs one environment lookup per call.
PAUSE_IN_WRITE = "STUDY_HUB_TEST_PAUSE_IN_WRITE"


def _pause_in_write() -> tuple[str, Path] | None:
    spec = os.environ.get(PAUSE_IN_WRITE)
    if not spec:
        return None
    doc_id, _, signal_file = spec.partition(":")
    if not doc_id or not signal_file:
        raise ValueError(f"{PAUSE_IN_WRITE} is '<document id>:<signal file>', not {spec!r}")
    return doc_id, Path(signal_file)


@contextmanager
def _paused_before_commit(store: DocumentStore, doc_id: str, signal_file: Path) -> Iterator[None]:
    """While in this block, a transaction of ``store`` about to commit signals and blocks (``PAUSE_IN_WRITE``)."""
    from sqlalchemy import event, func, select

    from study_hub.store.models import PassageRow

    def pause(session) -> None:
        written = session.scalar(select(func.count()).select_from(PassageRow).where(PassageRow.document_id == doc_id))
        ready = signal_file.with_name(signal_file.name + ".tmp")
        ready.write_text(f"{written}\n", encoding="utf-8")
        ready.replace(signal_file)  # whole when it appears
        while True:  # until killed: the test's SIGKILL lands inside the open transaction
            time.sleep(3600)

    event.listen(store.sessions, "before_commit", pause)
    try:
        yield
    finally:
        event.remove(store.sessions, "before_commit", pause)


def ingest_paths(
    paths: Iterable[Path],
    store: DocumentStore,
    settings: Settings,
    overrides: DocumentMeta | None = None,
    progress: Progress | None = None,
) -> IngestReport:
    overrides = overrides or DocumentMeta()
    catalogs = Catalogs()
    report = IngestReport()
    started = time.perf_counter()
    files = collect_files(paths)
    pause_at = _pause_in_write()
    for done, path in enumerate(files, 1):
        path = path.resolve() if path.exists() else path
        try:
            raw = read_file(path, max_bytes=settings.max_file_bytes,
                            max_unpacked_bytes=settings.max_unpacked_bytes)
            meta = describe(path, raw.meta, raw.text, catalogs, overrides)
            doc_id = _unique_id(store, meta, path)
            meta = meta.merged(DocumentMeta(id=doc_id))
            passages = segment_text(doc_id, raw.text, title=meta.title, heading_levels=raw.heading_levels,
                                    bounds=SegmentBounds.for_language(meta.language))
            if not passages:
                raise IngestError(path, "no passages: the file holds only a title")
            anchored: list = []  # the text changed: every note's quote is found again, in the save's transaction
            with (_paused_before_commit(store, *pause_at) if pause_at and pause_at[0] == doc_id else nullcontext()):
                outcome = store.save(raw, meta, passages, on_text_change=partial(_reanchor_into, anchored))
            for anchoring in anchored:
                report.notes_moved += anchoring.moved
                report.notes_orphaned += anchoring.orphaned
        except (IngestError, MetadataError) as exc:
            reason = exc.reason if isinstance(exc, IngestError) else f"bad metadata: {exc}"
            report.failures.append((str(path), reason))
        except Exception as exc:  # a bug must not stop the other files; it is reported, with a traceback
            log.exception("ingest of %s failed", path)
            report.failures.append((str(path), f"unexpected error ({type(exc).__name__}: {exc})"))
        else:
            report.outcomes[outcome.value] += 1
            report.documents += 1
            report.passages += len(passages)
            report.characters += len(raw.text)
            report.bytes_read += path.stat().st_size
        if progress:
            progress(done, len(files), path)
    report.seconds = time.perf_counter() - started
    return report


# A plain file name: no folders, no parent references, no control characters, not hidden.
_PLAIN_NAME = re.compile(r"^(?!\.)[^/\\\x00-\x1f\x7f]{1,200}$")
_DOCUMENT_ID = re.compile(r"^[\w][\w.-]{0,119}$")


@dataclass
class UploadResult:
    doc_id: str
    outcome: SaveOutcome
    passages: int


def ingest_upload(name: str, source: BinaryIO, store: DocumentStore, settings: Settings,
                  overrides: DocumentMeta | None = None) -> UploadResult:
    """Keep an uploaded file's original and ingest it as one document; refuse it whole or not at all.

    The original goes to ``uploads/<document id>/<first 12 hex of its sha256>/<name>``: a new version never
    overwrites an earlier one, and a refused file leaves nothing behind. The document id is the one given,
    or a slug of the file name, so uploading a file of the same name again updates that document.
    Raises ``IngestError`` (bad name, too large, unreadable...) or ``MetadataError``.
    """
    overrides = overrides or DocumentMeta()
    if not _PLAIN_NAME.match(name):
        raise IngestError(name, "the file name must be a plain name, without folders or special characters")
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise IngestError(name, f"unsupported file type {suffix or '(none)'}; upload one of "
                                f"{', '.join(sorted(SUPPORTED_SUFFIXES))}")
    doc_id = overrides.id or slug_for(Path(name))
    if not _DOCUMENT_ID.match(doc_id):
        raise MetadataError(f"document id {doc_id!r} must be letters, digits, '.', '-' or '_' (at most 120)")
    problems = overrides.problems()
    if problems:
        raise MetadataError("; ".join(problems))

    settings.uploads_dir.mkdir(parents=True, exist_ok=True)
    incoming = Path(tempfile.mkdtemp(prefix=".incoming-", dir=settings.uploads_dir))
    try:
        digest = hashlib.sha256()
        size = 0
        with open(incoming / name, "wb") as out:
            while chunk := source.read(1 << 20):
                size += len(chunk)
                if size > settings.max_file_bytes:
                    raise IngestError(name, f"the file is larger than the limit of {settings.max_file_bytes:,} bytes")
                digest.update(chunk)
                out.write(chunk)
        version = settings.uploads_dir / doc_id / digest.hexdigest()[:12]
        if not version.exists():  # else the same bytes came before: that copy serves
            version.parent.mkdir(parents=True, exist_ok=True)
            incoming.rename(version)
    finally:
        shutil.rmtree(incoming, ignore_errors=True)
    path = next(version.iterdir()).resolve()

    report = ingest_paths([path], store, settings, overrides.merged(DocumentMeta(id=doc_id)))
    if report.failures:
        stored = store.source_hash_of(doc_id)
        if stored is None or Path(stored[1]).parent != path.parent:  # nothing stored refers to this copy
            shutil.rmtree(version, ignore_errors=True)
        raise IngestError(name, report.failures[0][1])
    outcome = next(SaveOutcome(o) for o, count in report.outcomes.items() if count)
    return UploadResult(doc_id, outcome, report.passages)
