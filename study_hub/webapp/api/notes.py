"""The notes API under /api/notes, and /api/me (who is signed in, their password): the same services (and rules)
as the pages."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from study_hub.webapp import schemas
from study_hub.webapp.deps import SESSION_COOKIE, Ctx, CurrentUser, client_ip, signed_in
from study_hub.webapp.present.notes import note_out

NoteId = schemas.PathId
router = APIRouter(prefix="/api", tags=["notes"], responses=schemas.problems({
    400: "A selection, tag or sharing choice that is not valid.",
    403: "Not allowed, or the CSRF token is missing.",
    404: "No such note (or not one you may see).",
}))


@router.get("/me", response_model=schemas.Me, summary="The signed-in user, their units and CSRF token")
def me(request: Request, ctx: Ctx, who: CurrentUser) -> schemas.Me:
    _, csrf = signed_in(request, ctx)
    return schemas.Me(login=who.login, display_name=who.display_name, role=who.role, csrf_token=csrf,
                      units=[schemas.UnitRef(id=i, name=n) for i, n, _ in who.units],
                      must_change_password=who.must_change_password)


@router.post("/me/password", status_code=204, summary="Replace your password (a one-time one first of all)",
             responses=schemas.problems({400: "The current password is wrong, or the new one too short or the same.",
                                         429: "Too many wrong passwords (sign-ins included): wait 15 minutes."}))
def change_password(request: Request, ctx: Ctx, who: CurrentUser, body: schemas.PasswordChange) -> Response:
    ctx.accounts.change_own_password(who, body.current_password, body.new_password,
                                     keep_session=request.cookies.get(SESSION_COOKIE), ip=client_ip(request))
    return Response(status_code=204)


def _filters(mine: bool, doc: str | None, tag: str | None, q: str | None, since: date | None,
             until: date | None) -> dict:
    return {"mine_only": mine, "document": doc or None, "tag": tag or None, "text": q or None, "since": since,
            "until": until}


@router.get("/notes", response_model=list[schemas.NoteOut], summary="Notes you may see, newest first")
def list_notes(
    ctx: Ctx, who: CurrentUser,
    mine: Annotated[bool, Query(description="Only your own notes.")] = False,
    doc: Annotated[str | None, Query(max_length=200)] = None,
    tag: Annotated[str | None, Query(max_length=50)] = None,
    q: Annotated[str | None, Query(max_length=200, description="Words in the note or its quote.")] = None,
    since: schemas.IsoDate | None = None, until: schemas.IsoDate | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100, offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> list[schemas.NoteOut]:
    views = ctx.notes.list(who, **_filters(mine, doc, tag, q, since, until), limit=limit, offset=offset)
    return [note_out(v) for v in views]


@router.post("/notes", response_model=schemas.NoteOut, status_code=201, summary="Note a selection of a passage")
def create_note(ctx: Ctx, who: CurrentUser, note: schemas.NoteCreate) -> schemas.NoteOut:
    return note_out(ctx.notes.create(who, note.passage_id, note.start, note.end, note.body, note.tags,
                                     note.visibility, note.unit_id))


@router.get("/notes/export", summary="Your notes as Markdown or DOCX, with quotes and citations",
            response_class=Response, responses={200: {"content": {"text/markdown": {}, schemas.DOCX: {}}}})
def export_notes(
    ctx: Ctx, who: CurrentUser, format: Literal["md", "docx"] = "md",
    doc: Annotated[str | None, Query(max_length=200)] = None,
    tag: Annotated[str | None, Query(max_length=50)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    since: schemas.IsoDate | None = None, until: schemas.IsoDate | None = None,
) -> Response:
    views = ctx.notes.list(who, **_filters(True, doc, tag, q, since, until), limit=10_000)
    data = ctx.notes.export(who, views, format)
    media = "text/markdown; charset=utf-8" if format == "md" else schemas.DOCX
    return Response(data, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="study-notes.{format}"'})


@router.get("/notes/{note_id}", response_model=schemas.NoteOut, summary="One note")
def get_note(ctx: Ctx, who: CurrentUser, note_id: NoteId) -> schemas.NoteOut:
    return note_out(ctx.notes.get(who, note_id))


@router.patch("/notes/{note_id}", response_model=schemas.NoteOut, summary="Change your note")
def update_note(ctx: Ctx, who: CurrentUser, note_id: NoteId, change: schemas.NoteUpdate) -> schemas.NoteOut:
    return note_out(ctx.notes.update(who, note_id, body=change.body, tags=change.tags,
                                     visibility=change.visibility, unit_id=change.unit_id))


@router.delete("/notes/{note_id}", status_code=204, summary="Delete your note")
def delete_note(ctx: Ctx, who: CurrentUser, note_id: NoteId) -> Response:
    ctx.notes.delete(who, note_id)
    return Response(status_code=204)
