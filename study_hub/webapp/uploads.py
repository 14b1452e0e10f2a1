"""Adding documents through the web: administrators upload an original (txt, md, html, docx, pdf).

- ``BodyLimit`` (ASGI middleware) bounds every request body before anything parses it: a declared or
  streamed body over ``STUDY_HUB_MAX_BODY_BYTES`` (1 MiB), or on the upload routes over
  ``STUDY_HUB_MAX_FILE_BYTES`` plus room for the form fields, is answered 413 at once, so an oversized
  upload never lands on disk, not even in a temporary file; an upload without a signed-in session is
  answered 401 before its body is read.
- ``pipeline.ingest_upload`` checks the file name (a plain name: no folders, ``..`` or control characters),
  keeps the original per document and version, and ingests it with the same readers and limits as the CLI
  (zip bombs in docx, wrong encodings, corrupt pdf: refused with the reason, nothing kept).
- The new document can be read at once; the index update that makes it searchable is queued for the job
  worker (one queued update takes in every upload that comes while it waits), never run in a web worker.
- Administrators remove documents here too (``DELETE /api/documents/{id}``, the reader's button): the notes
  on it are kept, orphaned with their quotes, and the queued update drops its passages from the index.
"""

from __future__ import annotations

import logging
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from study_hub.accounts.policy import may_add_documents
from study_hub.domain import DocumentMeta, document_url
from study_hub.errors import IngestError, MetadataError, NotFoundError, PermissionDenied
from study_hub.pipeline import UploadResult, ingest_upload
from study_hub.webapp import schemas
from study_hub.webapp.auth import FORM_POST, SESSION_COOKIE, CurrentUser
from study_hub.webapp.context import AppContext, Ctx
from study_hub.webapp.messages import with_message

log = logging.getLogger(__name__)
UPLOAD_PATHS = ("/api/documents", "/documents/upload")
FORM_ROOM = 64 * 1024  # the multipart framing and the metadata fields around the file

router = APIRouter(tags=["documents"])


class _TooLarge(Exception):
    pass


class BodyLimit:
    """Refuse request bodies over their limit (413) as they arrive, before anything parses or stores them.

    Every request body is counted, declared (Content-Length) or chunked: ``max_body_bytes`` in general,
    ``max_file_bytes`` (plus the form around the file) on the upload routes. An upload from a browser that is
    not signed in is refused (401) before its body is read at all: anonymous clients cannot make the server
    receive 50 MiB to answer "sign in first".
    """

    def __init__(self, app, max_body_bytes: int, max_file_bytes: int, signed_in=None):
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_file_bytes = max_file_bytes
        self.signed_in = signed_in  # (cookie token) -> bool, checked in a worker thread

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        upload = scope["method"] == "POST" and scope["path"] in UPLOAD_PATHS
        limit = self.max_file_bytes + FORM_ROOM if upload else self.max_body_bytes
        if upload and self.signed_in is not None and not await _signed_in(scope, self.signed_in):
            response = schemas.problem_response(401, "not_signed_in", "sign in first (/login)",
                                                headers={"connection": "close"})
            return await response(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            return await self._refuse(scope, receive, send, upload)
        received = 0
        overflowed = refused = False

        async def counted_receive():
            nonlocal received, overflowed
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    overflowed = True
                    raise _TooLarge
            return message

        async def guarded_send(message):
            nonlocal refused
            if not overflowed:
                await send(message)
            elif message["type"] == "http.response.start" and not refused:  # the parser's own 400 becomes 413
                refused = True
                await self._refuse(scope, receive, send, upload)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except _TooLarge:
            if not refused:
                await self._refuse(scope, receive, send, upload)

    async def _refuse(self, scope, receive, send, upload: bool) -> None:
        message = f"the upload is larger than the limit of {self.max_file_bytes:,} bytes (STUDY_HUB_MAX_FILE_BYTES)" \
            if upload else f"the request body is larger than the limit of {self.max_body_bytes:,} bytes"
        response = schemas.problem_response(413, "too_large", message, headers={"connection": "close"})
        await response(scope, receive, send)


async def _signed_in(scope, check) -> bool:
    from http.cookies import SimpleCookie

    from starlette.concurrency import run_in_threadpool

    cookies = SimpleCookie()
    for name, value in scope["headers"]:
        if name == b"cookie":
            cookies.load(value.decode("latin-1"))
    token = cookies.get(SESSION_COOKIE)
    if token is None:
        return False
    try:
        return await run_in_threadpool(check, token.value)
    except Exception:  # the database is unreachable: the route answers that itself (503), not this check
        return True


def _accept(ctx: AppContext, who, upload: UploadFile, meta: DocumentMeta) -> UploadResult:
    if not may_add_documents(who):
        raise PermissionDenied("only administrators add documents to the library")
    result = ingest_upload(upload.filename or "", upload.file, ctx.store, ctx.settings, meta)
    ctx.accounts.audit("document uploaded", who.id, result.doc_id,
                       {"file": upload.filename, "outcome": result.outcome.value, "passages": result.passages})
    return result


def _meta(title: str, issuer: str, level: str, kind: str, date: str, doc_number: str, doc_id: str) -> DocumentMeta:
    return DocumentMeta(id=doc_id.strip() or None, title=title.strip() or None, issuer=issuer.strip() or None,
                        level=level or None, kind=kind or None, date=date.strip() or None,
                        doc_number=doc_number.strip() or None)


Text = Annotated[str, Form(max_length=500)]
Choice = Annotated[str, Form(max_length=20)]


@router.post("/api/documents", response_model=schemas.UploadOut, status_code=201,
             summary="Add a document (administrators): the original file and any metadata it lacks",
             responses={400: {"model": schemas.Problem, "description": "A file or metadata that cannot be used."},
                        401: {"model": schemas.Problem, "description": "Not signed in."},
                        403: {"model": schemas.Problem, "description": "Not an administrator, or no CSRF token."},
                        413: {"model": schemas.Problem, "description": "Larger than STUDY_HUB_MAX_FILE_BYTES."}})
def upload_document(ctx: Ctx, who: CurrentUser,
                    file: Annotated[UploadFile, File(description="txt, md, html, docx or pdf")],
                    title: Text = "", issuer: Text = "", level: Choice = "", kind: Choice = "", date: Choice = "",
                    doc_number: Text = "",
                    doc_id: Annotated[str, Form(alias="id", max_length=120, description=(
                        "Keep this id (a new version of that document); default: from the file name"))] = "",
                    ) -> schemas.UploadOut:
    result = _accept(ctx, who, file, _meta(title, issuer, level, kind, date, doc_number, doc_id))
    job_id = _index_after(ctx, who, result)
    return schemas.UploadOut(id=result.doc_id, outcome=result.outcome.value, passages=result.passages,
                             url=document_url(result.doc_id), job=job_id,
                             searchable=f"after index job {job_id} (GET /api/jobs/{job_id})" if job_id else "now")


@router.post("/documents/upload", include_in_schema=False, dependencies=FORM_POST)
def upload_page(request: Request, ctx: Ctx, who: CurrentUser,
                file: Annotated[UploadFile, File()], title: Text = "", issuer: Text = "", level: Choice = "",
                kind: Choice = "", date: Choice = "", doc_number: Text = "") -> Response:
    try:
        result = _accept(ctx, who, file, _meta(title, issuer, level, kind, date, doc_number, ""))
    except (IngestError, MetadataError) as exc:
        reason = exc.reason if isinstance(exc, IngestError) else str(exc)
        return RedirectResponse(with_message(request, "/documents", "upload_error", reason), status_code=303)
    _index_after(ctx, who, result)
    return RedirectResponse(document_url(result.doc_id) + "?" + urlencode({"uploaded": result.outcome.value}),
                            status_code=303)


def _index_after(ctx: AppContext, who, result: UploadResult) -> int | None:
    """Queue the index update an upload needs (none when the same file came again)."""
    if result.outcome.value == "unchanged":
        return None
    return ctx.index.request("update", who.login, f"upload of {result.doc_id}")


def _remove(ctx: AppContext, who, doc_id: str):
    if not may_add_documents(who):
        raise PermissionDenied("only administrators remove documents from the library")
    removed = ctx.index.remove_document(doc_id, who.login)
    ctx.accounts.audit("document removed", who.id, doc_id, {"notes_orphaned": removed.notes_orphaned,
                                                             "items_orphaned": removed.items_orphaned,
                                                             "job": removed.job_id})
    return removed


@router.delete("/api/documents/{doc_id}", response_model=schemas.RemovalOut,
               summary="Remove a document (administrators): its notes are kept, orphaned; the index drops it",
               responses={401: {"model": schemas.Problem, "description": "Not signed in."},
                          403: {"model": schemas.Problem, "description": "Not an administrator, or no CSRF token."},
                          404: {"model": schemas.Problem, "description": "No such document."}})
def remove_document(ctx: Ctx, who: CurrentUser, doc_id: Annotated[str, Path(max_length=200)]) -> schemas.RemovalOut:
    removed = _remove(ctx, who, doc_id)
    return schemas.RemovalOut(id=doc_id, notes_orphaned=removed.notes_orphaned,
                              items_orphaned=removed.items_orphaned, job=removed.job_id)


@router.post("/documents/{doc_id}/remove", include_in_schema=False, dependencies=FORM_POST)
def remove_page(request: Request, ctx: Ctx, who: CurrentUser, doc_id: Annotated[str, Path(max_length=200)]
                ) -> Response:
    _remove(ctx, who, doc_id)
    return RedirectResponse(with_message(request, "/documents", "removed", doc_id), status_code=303)


_ADMIN_ONLY = {401: {"model": schemas.Problem, "description": "Not signed in."},
               403: {"model": schemas.Problem, "description": "Not an administrator."}}


@router.get("/api/jobs", response_model=list[schemas.Job], summary="Index jobs, newest first (administrators)",
            responses=_ADMIN_ONLY)
def jobs(ctx: Ctx, who: CurrentUser, limit: Annotated[int, Query(ge=1, le=200)] = 20) -> list[schemas.Job]:
    if not may_add_documents(who):
        raise PermissionDenied("only administrators see the index jobs")
    return [schemas.Job(**job.as_dict()) for job in ctx.index.ledger.recent(limit)]


@router.get("/api/jobs/{job_id}", response_model=schemas.Job, summary="One index job (administrators)",
            responses={**_ADMIN_ONLY, 404: {"model": schemas.Problem, "description": "No such job."}})
def job(ctx: Ctx, who: CurrentUser, job_id: Annotated[int, Path(ge=1)]) -> schemas.Job:
    if not may_add_documents(who):
        raise PermissionDenied("only administrators see the index jobs")
    found = ctx.index.ledger.get(job_id)
    if found is None:
        raise NotFoundError(f"no index job {job_id}")
    return schemas.Job(**found.as_dict())

