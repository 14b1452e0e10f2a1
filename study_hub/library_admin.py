"""Adding, removing and rating library documents from the web (administrators), over the pipeline and the index
jobs.

An upload is kept and ingested like a file on the command line (``pipeline.ingest_upload``); the index update
that makes it searchable is queued for the job worker (one queued update takes in every upload that comes
while it waits), never run in a web worker. A removal keeps the notes on the document, orphaned with their
quotes, and queues the update that drops its passages. A new validity status (时效性) queues the update that
re-indexes the document under it (search filters by status in the index). All are audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

from study_hub.accounts import AccountService, Principal
from study_hub.accounts.policy import may_add_documents
from study_hub.config import Settings
from study_hub.domain import DocumentMeta
from study_hub.errors import PermissionDenied
from study_hub.jobs.indexing import IndexService, RemovalReport
from study_hub.pipeline import UploadResult, ingest_upload
from study_hub.store import DocumentStore


@dataclass(frozen=True)
class StatusChange:
    doc_id: str
    status: str
    status_date: str | None
    changed: bool  # False: it already had this status and date (nothing audited, nothing queued)
    job_id: int | None  # the queued index update that makes search filter by the new status


@dataclass(frozen=True)
class Upload:
    result: UploadResult
    job_id: int | None  # the queued index update (None: the same file came again, nothing to index)


def typed_meta(title: str = "", issuer: str = "", level: str = "", kind: str = "", date: str = "",
               doc_number: str = "", doc_id: str = "", speaker: str = "", status: str = "",
               status_date: str = "") -> DocumentMeta:
    """The metadata typed beside an upload (a form or the API); empty fields are read from the file (a status
    left empty keeps the one stored, when the upload is a new version)."""
    return DocumentMeta(id=doc_id.strip() or None, title=title.strip() or None, issuer=issuer.strip() or None,
                        speaker=speaker.strip() or None, level=level or None, kind=kind or None,
                        date=date.strip() or None, doc_number=doc_number.strip() or None,
                        status=status.strip() or None, status_date=status_date.strip() or None)


class LibraryAdmin:
    def __init__(self, settings: Settings, store: DocumentStore, accounts: AccountService, index: IndexService):
        self.settings = settings
        self.store = store
        self.accounts = accounts
        self.index = index

    def upload(self, who: Principal, name: str, source: BinaryIO, meta: DocumentMeta) -> Upload:
        """Keep and ingest an uploaded original; raises ``IngestError`` / ``MetadataError`` with the reason."""
        if not may_add_documents(who):
            raise PermissionDenied("only administrators add documents to the library")
        result = ingest_upload(name, source, self.store, self.settings, meta)
        self.accounts.audit("document uploaded", who.id, result.doc_id,
                            {"file": name, "outcome": result.outcome.value, "passages": result.passages})
        job_id = None if result.outcome.value == "unchanged" else \
            self.index.request("update", who.login, f"upload of {result.doc_id}")
        return Upload(result, job_id)

    def remove(self, who: Principal, doc_id: str) -> RemovalReport:
        if not may_add_documents(who):
            raise PermissionDenied("only administrators remove documents from the library")
        removed = self.index.remove_document(doc_id, who.login)
        self.accounts.audit("document removed", who.id, doc_id, {"notes_orphaned": removed.notes_orphaned,
                                                                 "items_orphaned": removed.items_orphaned,
                                                                 "job": removed.job_id})
        return removed

    def set_status(self, who: Principal, doc_id: str, status: str, status_date: str | None) -> StatusChange:
        """Record a document's validity; raises ``MetadataError`` for a status or date that is not one."""
        if not may_add_documents(who):
            raise PermissionDenied("only administrators change a document's validity")
        status_date = status_date or None
        changed = self.store.set_status(doc_id, status, status_date)
        status = DocumentMeta(status=status).status  # 已废止 → repealed, as stored
        job_id = None
        if changed:
            job_id = self.index.request("update", who.login, f"status of {doc_id}")
            self.accounts.audit("document status set", who.id, doc_id,
                                {"status": status, "status_date": status_date, "job": job_id})
        return StatusChange(doc_id, status, status_date, changed, job_id)

    def jobs(self, who: Principal, limit: int = 20):
        """The index jobs, newest first (administrators)."""
        if not may_add_documents(who):
            raise PermissionDenied("only administrators see the index jobs")
        return self.index.ledger.recent(limit)

    def job(self, who: Principal, job_id: int):
        if not may_add_documents(who):
            raise PermissionDenied("only administrators see the index jobs")
        return self.index.ledger.get(job_id)
