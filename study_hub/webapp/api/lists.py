"""The reading-list API under /api/reading-lists: the same ReadingListService (and rules) as the pages."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from study_hub.study.study_pack import build_pack, to_docx, to_pdf
from study_hub.webapp import schemas
from study_hub.webapp.deps import Ctx, CurrentUser
from study_hub.webapp.present.lists import list_out, progress_out

Id = schemas.PathId
router = APIRouter(prefix="/api/reading-lists", tags=["reading lists"], responses=schemas.problems({
    400: "An item, date or query that is not valid.",
    403: "Not one of the list's organisers, or no CSRF token.",
    404: "No such list (or not one you may see).",
}))


@router.get("", response_model=schemas.ReadingLists, summary="Lists assigned to you and lists you manage")
def lists(ctx: Ctx, who: CurrentUser) -> schemas.ReadingLists:
    assigned, managed = ctx.reading_lists.lists_for(who)

    def summary(reading_list) -> schemas.ReadingListSummary:
        mine = ctx.reading_lists.my_progress(who, reading_list.id)
        return schemas.ReadingListSummary(id=reading_list.id, title=reading_list.title,
                                          items=len(reading_list.items),
                                          studied=sum(1 for p in mine.values() if p.studied_at))
    return schemas.ReadingLists(assigned=[summary(r) for r in assigned], managed=[summary(r) for r in managed])


@router.post("", response_model=schemas.ReadingListOut, status_code=201, summary="Start a list (organisers)")
def create(ctx: Ctx, who: CurrentUser, body: schemas.ReadingListIn) -> schemas.ReadingListOut:
    created = ctx.reading_lists.create(who, body.title, body.description, body.unit_id)
    return list_out(ctx, who, created.id)


@router.get("/draft", response_model=list[schemas.ProposalOut],
            summary="Propose documents and passages on a topic, central level first, newest first within a level")
def draft(ctx: Ctx, who: CurrentUser, topic: Annotated[str, Query(min_length=1, max_length=200)]
          ) -> list[schemas.ProposalOut]:
    return [schemas.ProposalOut(level=p.level, document_id=p.document_id, title=p.title, doc_number=p.doc_number,
                                date=p.date, passages=[{"passage_id": i, "heading_path": h, "snippet": s}
                                                       for i, h, s in p.passages])
            for p in ctx.reading_lists.draft(topic)]


@router.get("/{list_id}", response_model=schemas.ReadingListOut, summary="A list with its items and your progress")
def get(ctx: Ctx, who: CurrentUser, list_id: Id) -> schemas.ReadingListOut:
    return list_out(ctx, who, list_id)


@router.delete("/{list_id}", status_code=204, summary="Delete a list (its organisers)")
def delete(ctx: Ctx, who: CurrentUser, list_id: Id) -> Response:
    ctx.reading_lists.delete(who, list_id)
    return Response(status_code=204)


@router.post("/{list_id}/items", response_model=schemas.ReadingListOut, status_code=201, summary="Add an item")
def add_item(ctx: Ctx, who: CurrentUser, list_id: Id, item: schemas.ReadingItemIn) -> schemas.ReadingListOut:
    ctx.reading_lists.add_item(who, list_id, item.kind, document_id=item.document_id, passage_id=item.passage_id,
                               heading_path=item.heading_path, query=item.query, guide=item.guide,
                               due=item.due.isoformat() if item.due else None, title=item.title)
    return list_out(ctx, who, list_id)


@router.delete("/{list_id}/items/{item_id}", status_code=204, summary="Remove an item")
def remove_item(ctx: Ctx, who: CurrentUser, list_id: Id, item_id: Id) -> Response:
    ctx.reading_lists.remove_item(who, list_id, item_id)
    return Response(status_code=204)


@router.post("/{list_id}/items/{item_id}/move", response_model=schemas.ReadingListOut, summary="Move an item")
def move_item(ctx: Ctx, who: CurrentUser, list_id: Id, item_id: Id, move: schemas.Move) -> schemas.ReadingListOut:
    ctx.reading_lists.move_item(who, list_id, item_id, move.step)
    return list_out(ctx, who, list_id)


@router.post("/{list_id}/items/{item_id}/studied", response_model=schemas.ReadingListOut,
             summary="Mark an item studied (or not) for yourself")
def studied(ctx: Ctx, who: CurrentUser, list_id: Id, item_id: Id, mark: schemas.Studied) -> schemas.ReadingListOut:
    ctx.reading_lists.get(who, list_id)
    ctx.reading_lists.mark(who, item_id, mark.studied)
    return list_out(ctx, who, list_id)


@router.post("/{list_id}/assign", response_model=schemas.ReadingListOut, summary="Assign to units or people")
def assign(ctx: Ctx, who: CurrentUser, list_id: Id, to: schemas.Assignment) -> schemas.ReadingListOut:
    ctx.reading_lists.assign(who, list_id, to.unit_ids, to.logins)
    return list_out(ctx, who, list_id)


@router.get("/{list_id}/progress", response_model=schemas.Progress, summary="Progress per member and per unit")
def progress(ctx: Ctx, who: CurrentUser, list_id: Id) -> schemas.Progress:
    return progress_out(ctx.reading_lists.progress(who, list_id))


@router.get("/{list_id}/export", summary="The list as a study pack (学习材料汇编), DOCX or PDF",
            response_class=Response, responses={200: {"content": {schemas.DOCX: {}, "application/pdf": {}}}})
def export(ctx: Ctx, who: CurrentUser, list_id: Id, format: Literal["docx", "pdf"] = "docx",
           notes: Annotated[bool, Query(description="Include your own notes on the items.")] = False) -> Response:
    pack = build_pack(ctx.reading_lists, who, list_id, with_notes=notes, notes_service=ctx.notes,
                      zone=ctx.settings.zone)
    data = to_docx(pack) if format == "docx" else to_pdf(pack)
    ctx.accounts.audit("study_pack_exported", who.id, f"reading_list:{list_id}", {"format": format})
    return Response(data, media_type=schemas.DOCX if format == "docx" else "application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="study-pack-{list_id}.{format}"'})
