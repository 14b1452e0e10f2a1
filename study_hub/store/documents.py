"""DocumentStore: documents and their passages, saved and read as whole units.

``save`` decides between no-op, metadata-only update and a passage replacement; a replacement happens in
one transaction, keeps the rows (and ids) of passages whose text did not change, and deletes only the
passages that are gone, so anything anchored to an unchanged passage stays anchored. Every text a document has
had is kept as a numbered version (``document_versions``), written in the same transaction as the text: a
failed or killed save leaves the previous version serving and recorded.

A document's validity (``status``, ``status_date``) is sticky: a save whose metadata says nothing about it keeps
what is stored (``set_status`` or an earlier ingest said it), so re-ingesting a folder never forgets it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import ColumnElement, Engine, and_, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session, defer, selectinload, sessionmaker

from study_hub.domain import (
    HEADING_SEPARATOR,
    STATUSES,
    DocumentMeta,
    IndexRecord,
    Passage,
    RawDocument,
    split_issuer,
)
from study_hub.errors import MetadataError, NotFoundError
from study_hub.store import citations
from study_hub.store.citations import CitationStore
from study_hub.store.db import make_session_factory
from study_hub.store.models import Document, DocumentVersion, PassageRow, aware, utcnow


class SaveOutcome(StrEnum):
    ADDED = "added"
    UPDATED = "updated"  # text changed: passages replaced
    METADATA = "metadata"  # same text, metadata changed
    UNCHANGED = "unchanged"


_META_COLUMNS = ("title", "issuer", "speaker", "level", "kind", "date", "doc_number", "language", "dates", "extra")
_STATUS_COLUMNS = ("status", "status_date")
# What a version records of the metadata then (``extra`` is the catalog's bookkeeping: licences, sources)
VERSION_META = ("title", "issuer", "speaker", "level", "kind", "date", "doc_number", "language", "dates", "status",
                "status_date")


def issuer_matches(text: str) -> ColumnElement[bool]:
    """A document whose issuing body or speaker contains ``text`` (% and _ are text): issuer:国务院 and
    讲话人:李强 both find 2024年政府工作报告. A folded "国务院（总理李强）" asks for both at once."""
    body, speaker = split_issuer(text.strip())
    if speaker is not None and body:
        return and_(Document.issuer.contains(body, autoescape=True),
                    Document.speaker.contains(speaker, autoescape=True))
    return or_(Document.issuer.contains(text, autoescape=True), Document.speaker.contains(text, autoescape=True))


@dataclass(frozen=True)
class DocumentFilter:
    level: str | None = None
    kind: str | None = None
    issuer: str | None = None  # the issuing body or the speaker contains this text
    year: int | None = None
    language: str | None = None
    statuses: tuple[str, ...] = ()  # any of these validity statuses (empty: any)


@dataclass(frozen=True)
class VersionInfo:
    """One version of a document, without its text."""
    number: int
    ingested_at: object  # datetime (aware)
    source_hash: str
    source_format: str
    char_count: int
    meta: dict
    current: bool  # the document's text now


class DocumentStore:
    def __init__(self, engine: Engine, sessions: sessionmaker[Session] | None = None):
        self.engine = engine
        self.sessions = sessions or make_session_factory(engine)
        self.citations = CitationStore(self.sessions)

    # --- writing ---------------------------------------------------------------------------------

    def source_hash_of(self, doc_id: str) -> tuple[str, str] | None:
        """(source hash, source path) of a stored document, or None."""
        with self.sessions() as session:
            row = session.execute(
                select(Document.source_hash, Document.source_path).where(Document.id == doc_id)
            ).first()
            return (row[0], row[1]) if row else None

    def save(self, raw: RawDocument, meta: DocumentMeta, passages: list[Passage],
             on_text_change: Callable[[Session, str, dict[str, tuple[str, str]]], object] | None = None
             ) -> SaveOutcome:
        """Store a document and its passages. ``meta`` must be complete (id, title, language set).

        ``on_text_change(session, document_id, previous)`` runs in the same transaction when an existing
        document's text changed, with the previous passages (id -> (text, heading path)): what is anchored to
        the passages moves with them; if it fails, nothing is saved.

        The document's citations are found and resolved in the same transaction (``store.citations.refresh``),
        and so are the references elsewhere that it answers: a killed save leaves neither half done.
        """
        assert meta.id and meta.title and meta.language, "the pipeline completes metadata before saving"
        compared = _META_COLUMNS + (_STATUS_COLUMNS if meta.status is not None else ())  # unsaid: kept as stored
        values = {name: getattr(meta, name) for name in compared}
        values.update(
            source_path=raw.source_path, source_format=raw.source_format, encoding=raw.encoding,
            source_hash=raw.source_hash, text=raw.text, char_count=len(raw.text),
            passage_count=len(passages),
        )
        texts = [(p.id, p.text) for p in passages]
        with self.sessions.begin() as session:
            citations.serialise_writes(session)
            existing = session.get(Document, meta.id)
            if existing is None:
                values.setdefault("status", "unknown")
                session.execute(insert(Document).values(id=meta.id, created_at=utcnow(), updated_at=utcnow(),
                                                        **values))
                self._insert_passages(session, passages)
                citations.refresh(session, meta.id, texts)
                self._add_version(session, meta.id, raw, values)
                return SaveOutcome.ADDED
            text_changed = existing.text != raw.text
            meta_changed = any(getattr(existing, name) != values[name] for name in compared)
            source_changed = existing.source_hash != raw.source_hash or existing.source_path != raw.source_path
            if not (text_changed or meta_changed or source_changed):
                return SaveOutcome.UNCHANGED
            if text_changed and not self._has_versions(session, meta.id):
                self._add_version(session, meta.id, None, {}, existing)  # a text saved before versions were kept
            for name, value in values.items():
                setattr(existing, name, value)
            existing.updated_at = utcnow()
            if not text_changed:
                if meta_changed:  # a new title or 文号 answers other references
                    citations.refresh(session, meta.id, texts)
                return SaveOutcome.METADATA if meta_changed else SaveOutcome.UNCHANGED
            self._add_version(session, meta.id, raw, {name: getattr(existing, name) for name in VERSION_META})
            previous = {row.id: (row.text, row.heading_path) for row in session.execute(
                select(PassageRow.id, PassageRow.text, PassageRow.heading_path).where(
                    PassageRow.document_id == meta.id))}
            self._replace_passages(session, meta.id, passages)
            if on_text_change is not None:
                on_text_change(session, meta.id, previous)
            citations.refresh(session, meta.id, texts)
            return SaveOutcome.UPDATED

    @staticmethod
    def _has_versions(session: Session, doc_id: str) -> bool:
        return session.scalar(select(DocumentVersion.id).where(DocumentVersion.document_id == doc_id).limit(1)) \
            is not None

    @staticmethod
    def _add_version(session: Session, doc_id: str, raw: RawDocument | None, meta: dict,
                     stored: Document | None = None) -> None:
        """The next version of ``doc_id``: ``raw``'s text with ``meta``, or the ``stored`` document as it is.

        Numbered inside the save's transaction; two saves of one document at once cannot both take a number
        (the unique index refuses the second, and its whole save rolls back).
        """
        number = (session.scalar(select(func.max(DocumentVersion.number)).where(
            DocumentVersion.document_id == doc_id)) or 0) + 1
        if raw is not None:
            session.add(DocumentVersion(
                document_id=doc_id, number=number, text=raw.text,
                meta={name: meta.get(name) for name in VERSION_META},
                heading_levels={str(line): level for line, level in raw.heading_levels.items()},
                source_path=raw.source_path, source_format=raw.source_format, source_hash=raw.source_hash,
                char_count=len(raw.text), ingested_at=utcnow()))
        else:
            session.add(DocumentVersion(
                document_id=doc_id, number=number, text=stored.text,
                meta={name: getattr(stored, name) for name in VERSION_META}, heading_levels=None,
                source_path=stored.source_path, source_format=stored.source_format, source_hash=stored.source_hash,
                char_count=stored.char_count, ingested_at=stored.updated_at or utcnow()))
        session.flush()

    def set_status(self, doc_id: str, status: str, status_date: str | None = None) -> bool:
        """Set a document's validity; returns whether it changed. A change bumps ``updated_at``, so the next
        index update re-indexes the document with its new status (search filters by it in the index).
        One conditional UPDATE: of several people setting the same status at once exactly one changes it."""
        problems = DocumentMeta(status=status, status_date=status_date).problems()
        canonical = DocumentMeta(status=status).status
        if canonical is None:  # an empty status would be NULL in a column that must hold one
            problems.insert(0, f"say which status: one of {', '.join(STATUSES)} "
                               "(or 现行有效, 已修订, 已废止, 尚未生效)")
        if problems:
            raise MetadataError("; ".join(problems))
        with self.sessions.begin() as session:
            changed = session.execute(update(Document).where(
                Document.id == doc_id,
                or_(Document.status.is_distinct_from(canonical), Document.status_date.is_distinct_from(status_date)))
                .values(status=canonical, status_date=status_date, updated_at=utcnow())
                .execution_options(synchronize_session=False)).rowcount
            if not changed and session.get(Document, doc_id) is None:
                raise NotFoundError(f"no document with id {doc_id!r}; `study-hub docs list` shows the ids")
            return bool(changed)

    def take_effect(self, today: str) -> list[str]:
        """Documents not yet in force whose commencement date (``status_date``, 施行日期) is ``today`` or earlier
        become current from that date: their ids. One conditional UPDATE, so two workers doing it at once turn
        each document once. A date of a month or a year takes effect on its first day (``2027`` ≤ ``2027-01-01``
        as text). Like ``set_status`` it bumps ``updated_at``, so the next index update re-indexes them."""
        due = (Document.status == "not_yet_effective", Document.status_date.is_not(None),
               Document.status_date <= today)
        with self.sessions.begin() as session:
            return sorted(session.scalars(update(Document).where(*due)
                                          .values(status="current", updated_at=utcnow())
                                          .returning(Document.id).execution_options(synchronize_session=False)))

    @staticmethod
    def _rows(passages: list[Passage]) -> list[dict]:
        return [
            {"id": p.id, "document_id": p.doc_id, "ordinal": p.ordinal,
             "heading_path": HEADING_SEPARATOR.join(p.heading_path), "char_start": p.char_start,
             "char_end": p.char_end, "text": p.text}
            for p in passages
        ]

    def _insert_passages(self, session: Session, passages: list[Passage]) -> None:
        if passages:
            session.execute(insert(PassageRow), self._rows(passages))

    def _replace_passages(self, session: Session, doc_id: str, passages: list[Passage]) -> None:
        old_ids = set(session.scalars(select(PassageRow.id).where(PassageRow.document_id == doc_id)))
        new_ids = {p.id for p in passages}
        gone = old_ids - new_ids
        if gone:
            session.execute(delete(PassageRow).where(PassageRow.id.in_(gone)))
        rows = self._rows(passages)
        kept = [row for row in rows if row["id"] in old_ids]
        if kept:
            session.execute(update(PassageRow), kept)  # bulk UPDATE by primary key
        added = [row for row in rows if row["id"] not in old_ids]
        if added:
            session.execute(insert(PassageRow), added)

    def delete(self, doc_id: str, on_delete: Callable[[Session, str], object] | None = None) -> None:
        """Remove a document and its passages; ``on_delete(session, doc_id)`` runs in the same transaction
        (what is anchored to the passages is orphaned with them, or nothing is removed). Its citations go with
        it; the references to it are resolved again (another document may answer them, else unresolved)."""
        with self.sessions.begin() as session:
            citations.serialise_writes(session)
            if session.get(Document, doc_id) is None:
                raise NotFoundError(f"no document with id {doc_id!r}")
            citing = citations.pointing_at(session, doc_id)
            session.execute(delete(Document).where(Document.id == doc_id))
            citations.resolve_again(session, citing)
            if on_delete is not None:
                on_delete(session, doc_id)

    # --- reading ---------------------------------------------------------------------------------

    def list_documents(self, where: DocumentFilter | None = None) -> list[Document]:
        """Documents without their text or passages, newest first within level order."""
        where = where or DocumentFilter()
        query = select(Document)
        for column in ("level", "kind", "language"):
            if getattr(where, column):
                query = query.where(getattr(Document, column) == getattr(where, column))
        if where.issuer:
            query = query.where(issuer_matches(where.issuer))
        if where.year:
            query = query.where(Document.date.startswith(f"{where.year:04d}"))
        if where.statuses:
            query = query.where(Document.status.in_(where.statuses))
        query = query.options(defer(Document.text)).order_by(Document.date.desc().nulls_last(), Document.id)
        with self.sessions() as session:
            documents = list(session.scalars(query))
            for document in documents:
                session.expunge(document)
            return documents

    def get_document(self, doc_id: str) -> Document:
        """A document with its passages loaded (in reading order)."""
        with self.sessions() as session:
            document = session.scalars(
                select(Document).options(selectinload(Document.passages)).where(Document.id == doc_id)
            ).first()
            if document is None:
                raise NotFoundError(f"no document with id {doc_id!r}; `study-hub docs list` shows the ids")
            session.expunge_all()
            return document

    def versions(self, doc_id: str) -> list[VersionInfo]:
        """A document's versions, oldest first (``NotFoundError`` for an unknown document)."""
        with self.sessions() as session:
            exists = session.scalar(select(Document.id).where(Document.id == doc_id))
            rows = session.execute(
                select(DocumentVersion.number, DocumentVersion.ingested_at, DocumentVersion.source_hash,
                       DocumentVersion.source_format, DocumentVersion.char_count, DocumentVersion.meta)
                .where(DocumentVersion.document_id == doc_id).order_by(DocumentVersion.number)).all()
        if exists is None:
            raise NotFoundError(f"no document with id {doc_id!r}; `study-hub docs list` shows the ids")
        last = rows[-1].number if rows else None
        return [VersionInfo(r.number, aware(r.ingested_at), r.source_hash, r.source_format, r.char_count,
                            dict(r.meta or {}), r.number == last) for r in rows]

    def version(self, doc_id: str, number: int) -> DocumentVersion:
        """One version of a document, with its text."""
        with self.sessions() as session:
            row = session.scalar(select(DocumentVersion).where(DocumentVersion.document_id == doc_id,
                                                               DocumentVersion.number == number))
            if row is None:
                raise NotFoundError(f"document {doc_id!r} has no version {number}; "
                                    f"GET /api/documents/{doc_id}/versions lists them")
            session.expunge(row)
            row.ingested_at = aware(row.ingested_at)
            return row

    def counts(self) -> tuple[int, int]:
        with self.sessions() as session:
            documents = session.scalar(select(func.count()).select_from(Document)) or 0
            passages = session.scalar(select(func.count()).select_from(PassageRow)) or 0
            return documents, passages

    # --- for the indexes and search ----------------------------------------------------------------

    def document_fingerprints(self) -> dict[str, str]:
        """doc id -> a value that changes whenever the document's text or metadata change."""
        with self.sessions() as session:
            rows = session.execute(select(Document.id, Document.source_hash, Document.updated_at,
                                          Document.passage_count))
            return {doc_id: f"{source[:16]}:{updated.isoformat()}:{count}" for doc_id, source, updated, count in rows}

    def document_titles(self) -> dict[str, str]:
        with self.sessions() as session:
            return {doc_id: title for doc_id, title in session.execute(select(Document.id, Document.title))}

    @staticmethod
    def corpus_fingerprint(fingerprints: dict[str, str]) -> str:
        joined = "\n".join(f"{doc_id}={fp}" for doc_id, fp in sorted(fingerprints.items()))
        return hashlib.sha256(joined.encode("utf-8")).hexdigest()

    def iter_index_records(self, doc_ids: Iterable[str] | None = None, batch: int = 2000) -> Iterator[IndexRecord]:
        """Every passage (or those of ``doc_ids``) with its document's metadata, in document order."""
        query = (
            select(PassageRow.id, PassageRow.document_id, Document.title, PassageRow.heading_path, PassageRow.text,
                   Document.level, Document.kind, Document.issuer, Document.date, Document.doc_number,
                   Document.language, Document.status)
            .join(Document, Document.id == PassageRow.document_id)
            .order_by(PassageRow.document_id, PassageRow.ordinal)
        )
        if doc_ids is not None:
            wanted = list(doc_ids)
            if not wanted:
                return
            query = query.where(PassageRow.document_id.in_(wanted))
        with self.sessions() as session:
            for row in session.execute(query.execution_options(yield_per=batch)):
                yield IndexRecord(*row)

    def passages_by_id(self, passage_ids: Iterable[str]) -> dict[str, tuple[PassageRow, Document]]:
        """Passages with their documents (no document text loaded), for hydrating search hits."""
        ids = list(passage_ids)
        if not ids:
            return {}
        with self.sessions() as session:
            rows = session.execute(
                select(PassageRow, Document)
                .join(Document, Document.id == PassageRow.document_id)
                .options(defer(Document.text))
                .where(PassageRow.id.in_(ids))
            ).all()
            session.expunge_all()
            return {passage.id: (passage, document) for passage, document in rows}

    def passage_in_context(self, passage_id: str) -> tuple[PassageRow, Document, PassageRow | None,
                                                           PassageRow | None]:
        """A passage, its document (without the text) and the passages before and after it in reading order."""
        with self.sessions() as session:
            row = session.execute(
                select(PassageRow, Document).join(Document, Document.id == PassageRow.document_id)
                .options(defer(Document.text)).where(PassageRow.id == passage_id)
            ).first()
            if row is None:
                raise NotFoundError(f"no passage with id {passage_id!r}")
            passage, document = row
            neighbours = {p.ordinal: p for p in session.scalars(
                select(PassageRow).where(PassageRow.document_id == document.id,
                                         PassageRow.ordinal.in_((passage.ordinal - 1, passage.ordinal + 1))))}
            session.expunge_all()
            return passage, document, neighbours.get(passage.ordinal - 1), neighbours.get(passage.ordinal + 1)

    def document_ids_where(self, *, issuer: str | None = None, doc_number: str | None = None,
                           doc_id: str | None = None) -> set[str]:
        """Ids of documents whose issuer (issuing body or speaker) / 文号 contain the given text and (if given)
        whose id is doc_id."""
        query = select(Document.id)
        if issuer:
            query = query.where(issuer_matches(issuer))
        if doc_number:
            query = query.where(Document.doc_number.contains(doc_number, autoescape=True))
        if doc_id:
            query = query.where(Document.id == doc_id)
        with self.sessions() as session:
            return set(session.scalars(query))
