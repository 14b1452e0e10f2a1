"""A note, and the discussion under it, as the API and the pages show them."""

from __future__ import annotations

from study_hub.domain import passage_url
from study_hub.study.notes import NoteView
from study_hub.study.replies import ReplyView, Thread, Unread
from study_hub.webapp import schemas


def note_out(view: NoteView) -> schemas.NoteOut:
    return schemas.NoteOut(
        id=view.id, owner_name=view.owner_name, mine=view.editable, document_id=view.document_id,
        document_title=view.document_title, passage_id=view.passage_id, heading_path=view.heading_path,
        start=view.start, end=view.end, quote=view.quote, prefix=view.prefix, suffix=view.suffix, body=view.body,
        tags=view.tags, visibility=view.visibility, unit_id=view.unit_id, unit_name=view.unit_name,
        orphaned=view.orphaned, created_at=view.created_at, updated_at=view.updated_at,
        url=None if view.orphaned or not view.passage_id else passage_url(view.document_id, view.passage_id))


def reply_out(view: ReplyView) -> schemas.ReplyOut:
    quote = view.quote
    return schemas.ReplyOut(
        id=view.id, note_id=view.note_id, author_name=view.author_name, mine=view.mine, body=view.body,
        hidden=view.hidden, hidden_by=view.hidden_by, hidden_at=view.hidden_at, deleted=view.deleted,
        quote=schemas.QuotedReplyOut(id=quote.id, author_name=quote.author_name, excerpt=quote.excerpt,
                                     hidden=quote.hidden, deleted=quote.deleted) if quote else None,
        created_at=view.created_at, edited_at=view.edited_at, new=view.new, may_edit=view.may_edit,
        may_delete=view.may_delete, may_hide=view.may_hide)


def thread_out(thread: Thread) -> schemas.ThreadOut:
    return schemas.ThreadOut(note_id=thread.note_id, open=thread.open, may_reply=thread.may_reply,
                             may_moderate=thread.may_moderate, new=thread.new,
                             replies=[reply_out(r) for r in thread.replies])


def unread_out(unread: Unread) -> schemas.UnreadOut:
    return schemas.UnreadOut(mine=unread.mine, shared=unread.shared, total=unread.total)
