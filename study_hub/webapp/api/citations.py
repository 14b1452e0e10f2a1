"""Citations between documents (法条联想) in the JSON API: what a document or passage cites, and what cites it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from study_hub.webapp import schemas
from study_hub.webapp.deps import Ctx
from study_hub.webapp.present import citations

router = APIRouter(prefix="/api", tags=["citations"])

DocId = Annotated[str, Path(max_length=200)]
PassageId = Annotated[str, Path(max_length=240)]
_NO_DOCUMENT = schemas.problems({404: "No such document."}, signed_in=False)
_NO_PASSAGE = schemas.problems({404: "No such passage."}, signed_in=False)


@router.get("/documents/{doc_id}/citations", response_model=schemas.CitationList, responses=_NO_DOCUMENT,
            summary="What a document cites: titles, 文号 and articles found in its text, and what they resolve to")
def document_citations(ctx: Ctx, doc_id: DocId) -> schemas.CitationList:
    return citations.of_document(ctx, doc_id)


@router.get("/documents/{doc_id}/cited-by", response_model=schemas.CitedBy, responses=_NO_DOCUMENT,
            summary="What cites a document (or any of its articles), grouped by the citing document's level")
def document_cited_by(ctx: Ctx, doc_id: DocId) -> schemas.CitedBy:
    return citations.cited_by_document(ctx, doc_id)


@router.get("/passages/{passage_id}/citations", response_model=schemas.CitationList, responses=_NO_PASSAGE,
            summary="What one passage cites")
def passage_citations(ctx: Ctx, passage_id: PassageId) -> schemas.CitationList:
    return citations.of_passage(ctx, passage_id)


@router.get("/passages/{passage_id}/cited-by", response_model=schemas.CitedBy, responses=_NO_PASSAGE,
            summary="What cites one passage (an article), its own document's references to it included")
def passage_cited_by(ctx: Ctx, passage_id: PassageId) -> schemas.CitedBy:
    return citations.cited_by_passage(ctx, passage_id)
