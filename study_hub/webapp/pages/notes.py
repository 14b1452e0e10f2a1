"""My notes, and the notes others shared with my units: filter by document, tag and date, search their text,
export them; the discussion under a shared note (its page, and the form posts that reply, edit, delete and hide:
plain forms with the CSRF token, no JavaScript needed)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from study_hub.errors import StudyHubError
from study_hub.study.form_values import local_date
from study_hub.study.replies import ReplyError
from study_hub.webapp import schemas
from study_hub.webapp.deps import FORM_POST, Ctx, CurrentUser, PageDep
from study_hub.webapp.i18n import MESSAGES, translator
from study_hub.webapp.messages import safe_next

router = APIRouter(include_in_schema=False)

# A reply's text as a form sends it: far above the reply limit, so the service's message (and the page with the
# draft kept) answers a reply that is too long, not a bare validation error; the body limit caps the request.
ReplyText = Annotated[str, Form(max_length=200_000)]
Next = Annotated[str, Form(max_length=2000)]


@router.get("/notes", response_class=HTMLResponse)
def notes_page(page: PageDep, ctx: Ctx, who: CurrentUser) -> Response:
    params = page.request.query_params
    chosen = {name: (params.get(name) or "").strip()[:200] for name in ("doc", "tag", "q", "since", "until")}
    dates, error = {}, None
    for name in ("since", "until"):
        try:
            dates[name] = local_date(chosen[name])
        except StudyHubError as exc:
            error, dates[name] = str(exc), None
    shared = params.get("scope") == "shared"  # notes others shared with my units (organisers: units below too)
    notes = ctx.notes.list(who, mine_only=not shared, others_only=shared, document=chosen["doc"] or None,
                           tag=chosen["tag"] or None, text=chosen["q"] or None, **dates, limit=500)
    documents, tags = ctx.notes.my_documents_and_tags(who)  # for the filters: two queries, not every note
    export = urlencode({k: v for k, v in chosen.items() if v})
    return page.render("notes.html", notes=notes, chosen=chosen, documents=documents, tags=tags,
                       export_query=export, error=error, shared=shared, threads=ctx.replies.summaries(who, notes),
                       unread=page.new_replies(), status=400 if error else 200)


@router.get("/notes/{note_id}", response_class=HTMLResponse)
def thread_page(page: PageDep, ctx: Ctx, who: CurrentUser, note_id: schemas.PathId) -> Response:
    """A shared note and its whole discussion, with the reply form; visiting it marks the replies seen."""
    quote = page.request.query_params.get("quote", "")
    return _thread(page, ctx, who, note_id, quote_id=_reply_id(quote))


def _thread(page, ctx, who, note_id: int, *, quote_id: int | None = None, draft: str = "",
            error: ReplyError | None = None, editing: dict | None = None) -> Response:
    note = ctx.notes.get(who, note_id)
    thread = ctx.replies.thread(who, note_id)
    quoted = next((r for r in thread.replies if r.id == quote_id and r.body is not None and not r.hidden), None)
    message = _said(page, error) if error and editing is None else ""
    if editing is not None and error is not None:
        editing = {**editing, "error": _said(page, error)}
    return page.render("thread.html", note=note, thread=thread, quoted=quoted, draft=draft, error=message,
                       editing=editing, status=400 if error else 200)


def _said(page, error: ReplyError) -> str:
    """The service's refusal in the page's language, where the words exist for it."""
    key = f"reply_error_{error.code}"
    return translator(page.language)(key, **error.values) if key in MESSAGES else str(error)


def _reply_id(text: str) -> int | None:
    return int(text) if text.isdigit() and 0 < int(text) <= schemas.MAX_ID else None


def _back(next_: str, note_id: int, reply_id: int) -> RedirectResponse:
    return RedirectResponse(safe_next(next_, f"/notes/{note_id}") + f"#reply-{reply_id}", status_code=303)


@router.post("/notes/{note_id}/replies", dependencies=FORM_POST)
def post_reply(page: PageDep, ctx: Ctx, who: CurrentUser, note_id: schemas.PathId, body: ReplyText = "",
               quote_reply_id: Annotated[str, Form(max_length=20)] = "", next: Next = "") -> Response:
    quote = _reply_id(quote_reply_id)
    try:
        view, _ = ctx.replies.post(who, note_id, body, quote)
    except ReplyError as exc:  # the discussion again, with the reason and the draft kept
        return _thread(page, ctx, who, note_id, quote_id=quote, draft=body, error=exc)
    return _back(next, note_id, view.id)


@router.post("/notes/{note_id}/replies/{reply_id}/edit", dependencies=FORM_POST)
def edit_reply(page: PageDep, ctx: Ctx, who: CurrentUser, note_id: schemas.PathId, reply_id: schemas.PathId,
               body: ReplyText = "") -> Response:
    try:
        ctx.replies.edit(who, note_id, reply_id, body)
    except ReplyError as exc:
        return _thread(page, ctx, who, note_id, error=exc, editing={"id": reply_id, "body": body})
    return _back("", note_id, reply_id)


@router.post("/notes/{note_id}/replies/{reply_id}/delete", dependencies=FORM_POST)
def delete_reply(page: PageDep, ctx: Ctx, who: CurrentUser, note_id: schemas.PathId, reply_id: schemas.PathId,
                 next: Next = "") -> Response:
    try:
        ctx.replies.delete(who, note_id, reply_id)
    except ReplyError as exc:
        return _thread(page, ctx, who, note_id, error=exc)
    return _back(next, note_id, reply_id)


@router.post("/notes/{note_id}/replies/{reply_id}/hide", dependencies=FORM_POST)
def hide_reply(page: PageDep, ctx: Ctx, who: CurrentUser, note_id: schemas.PathId, reply_id: schemas.PathId,
               hidden: Annotated[str, Form(max_length=1)] = "1", next: Next = "") -> Response:
    try:
        ctx.replies.hide(who, note_id, reply_id, hidden=hidden != "0")
    except ReplyError as exc:
        return _thread(page, ctx, who, note_id, error=exc)
    return _back(next, note_id, reply_id)
