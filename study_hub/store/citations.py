"""Citations between documents: found in passages (``segment.citations``), resolved against the library, stored.

The table stays true to the library in the very transaction that changes it:

- a document saved (added, new text, new metadata; ``refresh``): its own citations are replaced, and the
  references elsewhere that its keys answer (unresolved ones, or ones another version answered) or that point at
  it are resolved again, so a newly ingested document resolves what was waiting for it;
- a document removed (``pointing_at`` before, ``resolve_again`` after): the references to it, whose targets the
  database has set to NULL, are resolved again: another document may answer them, else they are unresolved.

Resolution is set-based: a batch of references costs one query for the documents under their keys
(``citation_keys``) and one for the heading paths of the documents cited by article, whatever its size.
On PostgreSQL every save and removal takes one advisory lock first, so two documents saved at once each see the
other's references (under READ COMMITTED a transaction cannot see what another has not committed).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, insert, or_, select, text, update
from sqlalchemy.orm import Session, aliased, sessionmaker

from study_hub.domain import heading_parts
from study_hub.errors import NotFoundError
from study_hub.segment.citations import (
    KINDS,
    RESOLUTIONS,
    Candidate,
    article_index,
    choose,
    document_keys,
    find_references,
)
from study_hub.store.models import Citation, CitationKey, Document, PassageRow

_LOCK_ID = 0x5354_4448_4349  # "STDHCI": one advisory lock for the writers of documents and citations
_CHUNK = 500  # keys or ids per IN (...): well under every driver's parameter limit


def serialise_writes(session: Session) -> None:
    """Wait for any other transaction that saves or removes a document (PostgreSQL; SQLite has one writer)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})


@dataclass(frozen=True)
class _Pending:
    """A reference to resolve: a new one, or a stored one being resolved again."""
    citing: str  # the citing document
    citing_date: str | None
    kind: str
    target: str
    key: str | None
    article: str | None
    written: str  # the title as the text writes it (a short name is not its full title's exact match)


def _chunks(values: Sequence) -> Iterator[Sequence]:
    for start in range(0, len(values), _CHUNK):
        yield values[start:start + _CHUNK]


def _written(kind: str, surface: str, target: str) -> str:
    return surface[1:-1] if kind == "title" else target


def _resolve(session: Session, items: Sequence[_Pending]) -> list[tuple[str | None, str | None, str] | None]:
    """(cited document, cited passage, how) for each item; None for an article of the citing document itself that
    it does not have (第十条 in a decision that amends another law: not this document's, and no other named)."""
    candidates: dict[str, list[Candidate]] = defaultdict(list)
    keys = sorted({item.key for item in items if item.key})
    for chunk in _chunks(keys):
        for key, *document in session.execute(
                select(CitationKey.key, Document.id, Document.title, Document.issuer, Document.level, Document.date,
                       Document.doc_number)
                .join(Document, Document.id == CitationKey.document_id).where(CitationKey.key.in_(chunk))):
            candidates[key].append(Candidate(*document))

    documents: list[tuple[str, str] | None] = []  # (document, how) per item
    for item in items:
        if item.key is None:
            documents.append((item.citing, "article_in_same"))
            continue
        kind = "doc_number" if item.key.startswith("n:") else "title"
        chosen = choose(kind, item.target, candidates.get(item.key, ()), item.citing_date, written=item.written,
                        citing=item.citing)
        documents.append((chosen[0].doc_id, chosen[1]) if chosen else None)

    cited = sorted({found[0] for item, found in zip(items, documents, strict=True) if item.article and found})
    articles: dict[str, dict[str, str]] = {}
    for chunk in _chunks(cited):
        rows: dict[str, list[tuple[str, list[str]]]] = defaultdict(list)
        for passage_id, document_id, heading_path in session.execute(
                select(PassageRow.id, PassageRow.document_id, PassageRow.heading_path)
                .where(PassageRow.document_id.in_(chunk)).order_by(PassageRow.document_id, PassageRow.ordinal)):
            rows[document_id].append((passage_id, heading_parts(heading_path)))
        articles.update({document_id: article_index(passages) for document_id, passages in rows.items()})

    results: list[tuple[str | None, str | None, str] | None] = []
    for item, found in zip(items, documents, strict=True):
        if found is None:
            results.append((None, None, "unresolved"))
            continue
        document_id, how = found
        if item.article is None:
            results.append((document_id, None, how))
            continue
        passage_id = articles.get(document_id, {}).get(item.article)
        if item.key is None:
            results.append((document_id, passage_id, how) if passage_id else None)
        elif passage_id:
            results.append((document_id, passage_id, "article_in_cited"))
        else:  # the cited document is here, the article is not (another version): the link goes to the document
            results.append((document_id, None, how))
    return results


def _write_keys(session: Session, rows: Iterable[tuple[str, str, str | None]]) -> None:
    values = [{"document_id": doc_id, "key": key} for doc_id, title, number in rows
              for key in sorted(document_keys(title, number))]
    if values:
        session.execute(insert(CitationKey), values)


def _insert_references(session: Session, documents: Sequence[tuple[str, str | None, Sequence[tuple[str, str]]]]
                       ) -> int:
    """Find, resolve and insert the references of ``documents``: (id, date, [(passage id, text)] in order)."""
    found = []
    for doc_id, date, passages in documents:
        for reference in find_references([passage_text for _, passage_text in passages]):
            found.append((passages[reference.passage][0], reference, _Pending(
                doc_id, date, reference.kind, reference.target, reference.key, reference.article,
                _written(reference.kind, reference.surface, reference.target))))
    rows = []
    for (passage_id, reference, pending), resolved in zip(found, _resolve(session, [f[2] for f in found]),
                                                          strict=True):
        if resolved is None:
            continue
        to_document, to_passage, how = resolved
        rows.append({"document_id": pending.citing, "passage_id": passage_id, "start": reference.start,
                     "end": reference.end, "surface": reference.surface, "kind": reference.kind,
                     "target": reference.target, "target_key": reference.key, "article": reference.article,
                     "to_document_id": to_document, "to_passage_id": to_passage, "resolution": how})
    if rows:  # one executemany (Core: the ORM's bulk insert would split it wherever a row's NULLs differ)
        session.execute(insert(Citation.__table__), rows)
    return len(rows)


def _resolve_rows(session: Session, rows: Sequence) -> None:
    """Resolve stored citations again and write back those whose answer changed (rows as ``_STORED`` selects)."""
    pending = [_Pending(row.document_id, row.date, row.kind, row.target, row.target_key, row.article,
                        _written(row.kind, row.surface, row.target)) for row in rows]
    changes, gone = [], []
    for row, resolved in zip(rows, _resolve(session, pending), strict=True):
        if resolved is None:
            gone.append(row.id)
        elif resolved != (row.to_document_id, row.to_passage_id, row.resolution):
            changes.append({"id": row.id, "to_document_id": resolved[0], "to_passage_id": resolved[1],
                            "resolution": resolved[2]})
    if changes:
        session.execute(update(Citation), changes)
    for chunk in _chunks(gone):
        session.execute(delete(Citation).where(Citation.id.in_(chunk)))


_STORED = (Citation.id, Citation.document_id, Document.date, Citation.kind, Citation.target, Citation.target_key,
           Citation.article, Citation.surface, Citation.to_document_id, Citation.to_passage_id, Citation.resolution)


def refresh(session: Session, doc_id: str, passages: Sequence[tuple[str, str]]) -> None:
    """After a document was saved in ``session``'s transaction: its keys and its own citations anew (``passages``:
    (id, text) in reading order), and the references elsewhere that it may answer or answered, resolved again."""
    document = session.execute(select(Document.title, Document.doc_number, Document.date)
                               .where(Document.id == doc_id)).one()
    keys = document_keys(document.title, document.doc_number)
    session.execute(delete(CitationKey).where(CitationKey.document_id == doc_id))
    _write_keys(session, [(doc_id, document.title, document.doc_number)])
    session.execute(delete(Citation).where(Citation.document_id == doc_id))
    _insert_references(session, [(doc_id, document.date, passages)])
    answered = or_(Citation.to_document_id == doc_id, Citation.target_key.in_(sorted(keys))) if keys \
        else Citation.to_document_id == doc_id
    _resolve_rows(session, session.execute(
        select(*_STORED).join(Document, Document.id == Citation.document_id)
        .where(answered, Citation.document_id != doc_id)).all())


def pointing_at(session: Session, doc_id: str) -> list[int]:
    """Ids of the other documents' citations that point at ``doc_id`` (to resolve again once it is gone)."""
    return list(session.scalars(select(Citation.id).where(Citation.to_document_id == doc_id,
                                                          Citation.document_id != doc_id)))


def resolve_again(session: Session, citation_ids: Sequence[int]) -> None:
    for chunk in _chunks(list(citation_ids)):
        _resolve_rows(session, session.execute(
            select(*_STORED).join(Document, Document.id == Citation.document_id).where(Citation.id.in_(chunk))).all())


def rebuild(session: Session, batch: int = 200) -> int:
    """Every document's keys and citations anew (after an upgrade, or a change to the matcher); returns the count."""
    session.execute(delete(Citation))
    session.execute(delete(CitationKey))
    documents = session.execute(select(Document.id, Document.title, Document.doc_number, Document.date)
                                .order_by(Document.id)).all()
    _write_keys(session, [(d.id, d.title, d.doc_number) for d in documents])
    total = 0
    for first in range(0, len(documents), batch):
        chunk = documents[first:first + batch]
        passages: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for passage_id, document_id, passage_text in session.execute(
                select(PassageRow.id, PassageRow.document_id, PassageRow.text)
                .where(PassageRow.document_id.in_([d.id for d in chunk]))
                .order_by(PassageRow.document_id, PassageRow.ordinal)):
            passages[document_id].append((passage_id, passage_text))
        total += _insert_references(session, [(d.id, d.date, passages.get(d.id, [])) for d in chunk])
    return total


# --- reading ------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CitationRecord:
    """A stored citation with both ends described: the citing passage and document, and what it cites."""
    id: int
    document_id: str
    passage_id: str
    start: int
    end: int
    surface: str
    kind: str
    target: str
    article: str | None
    resolution: str
    to_document_id: str | None
    to_passage_id: str | None
    from_title: str
    from_level: str | None
    from_date: str | None
    from_heading_path: str
    to_title: str | None
    to_level: str | None
    to_heading_path: str | None

    @property
    def resolved(self) -> bool:
        return self.to_document_id is not None


@dataclass(frozen=True)
class CitationCounts:
    by_kind: dict[str, int]
    by_resolution: dict[str, int]
    by_kind_and_resolution: dict[tuple[str, str], int]
    unresolved: list[tuple[str, str, int]]  # (kind, surface, count), most frequent first

    @property
    def total(self) -> int:
        return sum(self.by_kind.values())

    @property
    def resolved(self) -> int:
        return self.total - self.by_resolution.get("unresolved", 0)

    def lines(self, unresolved: bool = True) -> list[str]:
        """The counts as `study-hub citations` and benchmarks/citations.py print them."""
        out = [f"references found: {self.total:,}, resolved {self.resolved:,}"
               + (f" ({self.resolved / self.total:.0%})" if self.total else "")]
        out.append(f"{'kind':<12}" + "".join(f"{how:>18}" for how in RESOLUTIONS) + f"{'all':>8}")
        for kind in KINDS:
            out.append(f"{kind:<12}" + "".join(f"{self.by_kind_and_resolution.get((kind, how), 0):>18,}"
                                               for how in RESOLUTIONS) + f"{self.by_kind[kind]:>8,}")
        out.append(f"{'all':<12}" + "".join(f"{self.by_resolution[how]:>18,}" for how in RESOLUTIONS)
                   + f"{self.total:>8,}")
        if unresolved and self.unresolved:
            out.append("")
            out.append(f"most frequent unresolved references (the library lacks them; {len(self.unresolved)} shown):")
            out.extend(f"{count:>5}  {kind:<10} {surface}" for kind, surface, count in self.unresolved)
        return out


class CitationStore:
    """Reading the citations (the reader, the API, the command line), and rebuilding them."""

    def __init__(self, sessions: sessionmaker[Session]):
        self.sessions = sessions

    def _query(self):
        source_doc, source_passage = aliased(Document), aliased(PassageRow)
        cited_doc, cited_passage = aliased(Document), aliased(PassageRow)
        return (select(Citation, source_doc.title, source_doc.level, source_doc.date, source_passage.heading_path,
                       cited_doc.title, cited_doc.level, cited_passage.heading_path)
                .join(source_doc, source_doc.id == Citation.document_id)
                .join(source_passage, source_passage.id == Citation.passage_id)
                .outerjoin(cited_doc, cited_doc.id == Citation.to_document_id)
                .outerjoin(cited_passage, cited_passage.id == Citation.to_passage_id)
                .order_by(source_doc.id, source_passage.ordinal, Citation.start, Citation.end.desc()))

    @staticmethod
    def _record(row) -> CitationRecord:
        c = row[0]
        return CitationRecord(c.id, c.document_id, c.passage_id, c.start, c.end, c.surface, c.kind, c.target,
                              c.article, c.resolution, c.to_document_id, c.to_passage_id, *row[1:])

    def _exists(self, session: Session, model, key: str, what: str) -> None:
        if session.get(model, key) is None:
            raise NotFoundError(f"no {what} with id {key!r}")

    def from_document(self, doc_id: str) -> list[CitationRecord]:
        """What a document cites, in reading order."""
        with self.sessions() as session:
            self._exists(session, Document, doc_id, "document")
            return [self._record(r) for r in session.execute(self._query().where(Citation.document_id == doc_id))]

    def from_passage(self, passage_id: str) -> list[CitationRecord]:
        with self.sessions() as session:
            self._exists(session, PassageRow, passage_id, "passage")
            return [self._record(r) for r in session.execute(self._query().where(Citation.passage_id == passage_id))]

    def to_document(self, doc_id: str, same_document: bool = False) -> list[CitationRecord]:
        """What cites a document (from other documents; with ``same_document`` its own article references too)."""
        with self.sessions() as session:
            self._exists(session, Document, doc_id, "document")
            query = self._query().where(Citation.to_document_id == doc_id)
            if not same_document:
                query = query.where(Citation.document_id != doc_id)
            return [self._record(r) for r in session.execute(query)]

    def to_passage(self, passage_id: str) -> list[CitationRecord]:
        """What cites one passage (an article), its own document's references included."""
        with self.sessions() as session:
            self._exists(session, PassageRow, passage_id, "passage")
            return [self._record(r) for r in session.execute(self._query().where(Citation.to_passage_id == passage_id))]

    def counts(self, unresolved_limit: int = 20) -> CitationCounts:
        with self.sessions() as session:
            pairs = {(kind, how): n for kind, how, n in session.execute(
                select(Citation.kind, Citation.resolution, func.count()).group_by(Citation.kind, Citation.resolution))}
            unresolved = [tuple(row) for row in session.execute(
                select(Citation.kind, Citation.surface, func.count().label("n"))
                .where(Citation.resolution == "unresolved").group_by(Citation.kind, Citation.surface)
                .order_by(func.count().desc(), Citation.surface).limit(unresolved_limit))]
        by_kind, by_how = Counter(), Counter()
        for (kind, how), n in pairs.items():
            by_kind[kind] += n
            by_how[how] += n
        return CitationCounts({k: by_kind[k] for k in KINDS}, {h: by_how[h] for h in RESOLUTIONS}, pairs, unresolved)

    def rebuild(self) -> int:
        with self.sessions.begin() as session:
            serialise_writes(session)
            return rebuild(session)
