"""Adding and removing documents through the API (administrators), and the index jobs that follow.

The upload body is bounded before anything parses it (``middleware.BodyLimit``); the rules are
``LibraryAdmin``'s, the same as the library page's forms.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Path, Query, UploadFile

from study_hub.domain import document_url
from study_hub.errors import NotFoundError
from study_hub.library_admin import typed_meta
from study_hub.webapp import schemas
from study_hub.webapp.deps import Ctx, CurrentUser
from study_hub.webapp.schemas import FormChoice, FormText

router = APIRouter(tags=["documents"])

@router.post("/api/documents", response_model=schemas.UploadOut, status_code=201,
             summary="Add a document (administrators): the original file and any metadata it lacks",
             responses=schemas.problems({400: "A file or metadata that cannot be used.",
                                         403: "Not an administrator, or no CSRF token.",
                                         413: "Larger than STUDY_HUB_MAX_FILE_BYTES."}))
def upload_document(ctx: Ctx, who: CurrentUser,
                    file: Annotated[UploadFile, File(description="txt, md, html, docx or pdf")],
                    title: FormText = "", issuer: FormText = "", level: FormChoice = "", kind: FormChoice = "",
                    date: FormChoice = "", doc_number: FormText = "", speaker: FormText = "",
                    doc_id: Annotated[str, Form(alias="id", max_length=120, description=(
                        "Keep this id (a new version of that document); default: from the file name"))] = "",
                    status: Annotated[str, Form(max_length=20, description=(
                        "Validity: current, amended, repealed, not_yet_effective, unknown (or 现行有效, 已修订, "
                        "已废止, 尚未生效); empty: as the file says, or as stored"))] = "",
                    status_date: Annotated[str, Form(max_length=20, description=(
                        "When it took that status: YYYY, YYYY-MM or YYYY-MM-DD"))] = "",
                    ) -> schemas.UploadOut:
    upload = ctx.library.upload(who, file.filename or "", file.file,
                                typed_meta(title, issuer, level, kind, date, doc_number, doc_id, speaker, status,
                                           status_date))
    result, job_id = upload.result, upload.job_id
    return schemas.UploadOut(id=result.doc_id, outcome=result.outcome.value, passages=result.passages,
                             url=document_url(result.doc_id), job=job_id,
                             searchable=f"after index job {job_id} (GET /api/jobs/{job_id})" if job_id else "now")


@router.delete("/api/documents/{doc_id}", response_model=schemas.RemovalOut,
               summary="Remove a document (administrators): its notes are kept, orphaned; the index drops it",
               responses=schemas.problems({403: "Not an administrator, or no CSRF token.",
                                           404: "No such document."}))
def remove_document(ctx: Ctx, who: CurrentUser, doc_id: Annotated[str, Path(max_length=200)]) -> schemas.RemovalOut:
    removed = ctx.library.remove(who, doc_id)
    return schemas.RemovalOut(id=doc_id, notes_orphaned=removed.notes_orphaned,
                              items_orphaned=removed.items_orphaned, job=removed.job_id)


@router.put("/api/documents/{doc_id}/status", response_model=schemas.StatusOut,
            summary="Set a document's validity, 时效性 (administrators); the index follows in a job",
            responses=schemas.problems({400: "A status or date that is not one.",
                                        403: "Not an administrator, or no CSRF token.", 404: "No such document."}))
def set_status(ctx: Ctx, who: CurrentUser, doc_id: Annotated[str, Path(max_length=200)],
               body: schemas.StatusIn) -> schemas.StatusOut:
    done = ctx.library.set_status(who, doc_id, body.status, body.status_date)
    return schemas.StatusOut(id=done.doc_id, status=done.status, status_date=done.status_date, changed=done.changed,
                             job=done.job_id)


_ADMIN_ONLY = {403: "Not an administrator."}


@router.get("/api/jobs", response_model=list[schemas.Job], summary="Index jobs, newest first (administrators)",
            responses=schemas.problems(_ADMIN_ONLY))
def jobs(ctx: Ctx, who: CurrentUser, limit: Annotated[int, Query(ge=1, le=200)] = 20) -> list[schemas.Job]:
    return [schemas.Job(**job.as_dict()) for job in ctx.library.jobs(who, limit)]


@router.get("/api/jobs/{job_id}", response_model=schemas.Job, summary="One index job (administrators)",
            responses=schemas.problems({**_ADMIN_ONLY, 404: "No such job."}))
def job(ctx: Ctx, who: CurrentUser, job_id: Annotated[int, Path(ge=1)]) -> schemas.Job:
    found = ctx.library.job(who, job_id)
    if found is None:
        raise NotFoundError(f"no index job {job_id}")
    return schemas.Job(**found.as_dict())
