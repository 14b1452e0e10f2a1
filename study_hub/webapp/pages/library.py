"""The library: every document with facets, and the administrators' forms to add, remove and rate (时效性)
documents (``LibraryAdmin``'s rules, as for the API)."""

from __future__ import annotations

import math
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, File, Path, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from study_hub.accounts.policy import may_add_documents
from study_hub.domain import KINDS, LEVELS, STATUSES, document_url
from study_hub.errors import IngestError, MetadataError
from study_hub.library_admin import typed_meta
from study_hub.store import DocumentFilter
from study_hub.webapp.deps import FORM_POST, Ctx, CurrentUser, OptionalUser, PageDep
from study_hub.webapp.pages.common import page_number
from study_hub.webapp.present import library
from study_hub.webapp.schemas import FormChoice, FormText

router = APIRouter(include_in_schema=False)


@router.get("/documents", response_class=HTMLResponse)
def library_page(page: PageDep, ctx: Ctx, who: OptionalUser) -> Response:
    params = page.request.query_params
    level = params.get("level") if params.get("level") in LEVELS else None
    kind = params.get("kind") if params.get("kind") in KINDS else None
    issuer = (params.get("issuer") or "").strip()[:200] or None
    year_text = params.get("year") or ""
    year = int(year_text) if year_text.isdigit() and 1900 <= int(year_text) <= 2100 else None
    status = params.get("status") if params.get("status") in STATUSES else None
    number = page_number(params.get("page"))
    listing = library.documents(ctx, DocumentFilter(level=level, kind=kind, issuer=issuer, year=year,
                                                    statuses=(status,) if status else ()), number, 50)
    chosen = {"level": level or "", "kind": kind or "", "issuer": issuer or "", "year": str(year or ""),
              "status": status or ""}

    def link(**changes) -> str:
        merged = {**chosen, "page": "", **changes}
        return "/documents?" + urlencode({k: v for k, v in merged.items() if v})

    jobs = ctx.index.ledger.recent(8) if who and may_add_documents(who) else []
    return page.render("library.html", listing=listing, chosen=chosen, link=link,
                       pages=math.ceil(listing.total / listing.limit), page=number, jobs=jobs,
                       upload_error=page.message("upload_error"), removed=page.message("removed"))


@router.post("/documents/upload", dependencies=FORM_POST)
def upload(page: PageDep, ctx: Ctx, who: CurrentUser, file: Annotated[UploadFile, File()], title: FormText = "",
           issuer: FormText = "", level: FormChoice = "", kind: FormChoice = "", date: FormChoice = "",
           doc_number: FormText = "", speaker: FormText = "", status: FormChoice = "",
           status_date: FormChoice = "") -> Response:
    try:
        done = ctx.library.upload(who, file.filename or "", file.file,
                                  typed_meta(title, issuer, level, kind, date, doc_number, speaker=speaker,
                                             status=status, status_date=status_date))
    except (IngestError, MetadataError) as exc:
        reason = exc.reason if isinstance(exc, IngestError) else str(exc)
        return page.redirect("/documents", reason, name="upload_error")
    return RedirectResponse(document_url(done.result.doc_id) + "?" + urlencode(
        {"uploaded": done.result.outcome.value}), status_code=303)


@router.post("/documents/{doc_id}/remove", dependencies=FORM_POST)
def remove(page: PageDep, ctx: Ctx, who: CurrentUser, doc_id: Annotated[str, Path(max_length=200)]) -> Response:
    ctx.library.remove(who, doc_id)
    return page.redirect("/documents", doc_id, name="removed")


@router.post("/documents/{doc_id}/status", dependencies=FORM_POST)
def set_status(page: PageDep, ctx: Ctx, who: CurrentUser, doc_id: Annotated[str, Path(max_length=200)],
               status: FormChoice = "", status_date: FormChoice = "") -> Response:
    try:
        done = ctx.library.set_status(who, doc_id, status, status_date)
    except MetadataError as exc:
        return page.redirect(document_url(doc_id), str(exc), name="status_error")
    return page.redirect(document_url(doc_id), "changed" if done.changed else "unchanged", name="status_set")

