"""The discussion under shared notes, under /api/notes/{id}/replies, and the new-reply counts: the same
ReplyService (and rules) as the pages. Listed before the notes router, so /api/notes/unread is not read as a
note id."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from study_hub.webapp import schemas
from study_hub.webapp.deps import Ctx, CurrentUser
from study_hub.webapp.present.notes import reply_out, thread_out, unread_out

NoteId = schemas.PathId
ReplyId = schemas.PathId
router = APIRouter(prefix="/api/notes", tags=["discussion"], responses=schemas.problems({
    400: "An empty or too long reply, a reply under a private note, or a change to a deleted reply.",
    403: "Not allowed (another's reply, a hidden one, an edit after 24 hours, hiding without moderating the "
         "note), or the CSRF token is missing.",
    404: "No such note or reply under it (or not one you may see).",
}))


@router.get("/unread", response_model=schemas.UnreadOut, summary="New replies since your last visits")
def unread(ctx: Ctx, who: CurrentUser) -> schemas.UnreadOut:
    return unread_out(ctx.replies.unread(who))


@router.get("/{note_id}/replies", response_model=schemas.ThreadOut,
            summary="The discussion under a note, oldest first (marks it seen)")
def thread(ctx: Ctx, who: CurrentUser, note_id: NoteId) -> schemas.ThreadOut:
    return thread_out(ctx.replies.thread(who, note_id))


@router.post("/{note_id}/replies", response_model=schemas.ReplyOut, status_code=201, summary="Reply under a note",
             responses={200: {"model": schemas.ReplyOut,
                              "description": "You posted this text under this note before: that reply."}})
def post_reply(ctx: Ctx, who: CurrentUser, note_id: NoteId, reply: schemas.ReplyIn,
               response: Response) -> schemas.ReplyOut:
    view, created = ctx.replies.post(who, note_id, reply.body, reply.quote_reply_id)
    if not created:
        response.status_code = 200
    return reply_out(view)


@router.patch("/{note_id}/replies/{reply_id}", response_model=schemas.ReplyOut,
              summary="Change your reply (within 24 hours)")
def edit_reply(ctx: Ctx, who: CurrentUser, note_id: NoteId, reply_id: ReplyId,
               change: schemas.ReplyChange) -> schemas.ReplyOut:
    return reply_out(ctx.replies.edit(who, note_id, reply_id, change.body))


@router.delete("/{note_id}/replies/{reply_id}", status_code=204, summary="Delete your reply (a placeholder stays)")
def delete_reply(ctx: Ctx, who: CurrentUser, note_id: NoteId, reply_id: ReplyId) -> Response:
    ctx.replies.delete(who, note_id, reply_id)
    return Response(status_code=204)


@router.post("/{note_id}/replies/{reply_id}/hide", response_model=schemas.ReplyOut,
             summary="Hide or unhide a reply (the note's author, the organisers of its unit)")
def hide_reply(ctx: Ctx, who: CurrentUser, note_id: NoteId, reply_id: ReplyId,
               change: schemas.HideIn | None = None) -> schemas.ReplyOut:
    return reply_out(ctx.replies.hide(who, note_id, reply_id, hidden=change.hidden if change else True))
