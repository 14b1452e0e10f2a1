"""A note as the API and the pages show it."""

from __future__ import annotations

from study_hub.domain import passage_url
from study_hub.study.notes import NoteView
from study_hub.webapp import schemas


def note_out(view: NoteView) -> schemas.NoteOut:
    return schemas.NoteOut(
        id=view.id, owner_name=view.owner_name, mine=view.editable, document_id=view.document_id,
        document_title=view.document_title, passage_id=view.passage_id, heading_path=view.heading_path,
        start=view.start, end=view.end, quote=view.quote, prefix=view.prefix, suffix=view.suffix, body=view.body,
        tags=view.tags, visibility=view.visibility, unit_id=view.unit_id, unit_name=view.unit_name,
        orphaned=view.orphaned, created_at=view.created_at, updated_at=view.updated_at,
        url=None if view.orphaned or not view.passage_id else passage_url(view.document_id, view.passage_id))
