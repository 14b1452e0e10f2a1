"""A document's versions and two of them compared (修订对照), in the JSON API.

Documents are public, so are their versions; the notes a comparison lists are only those the signed-in caller
may see (none for an anonymous one).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from study_hub.webapp import schemas
from study_hub.webapp.deps import Ctx, OptionalUser
from study_hub.webapp.present import versions

router = APIRouter(prefix="/api/documents", tags=["api"], responses=schemas.problems({
    400: "Two versions that cannot be compared (the same one, or the newer first).",
    404: "No such document or version.",
}, signed_in=False))

DocId = Annotated[str, Path(max_length=200)]
Number = Annotated[int, Path(ge=1, le=schemas.MAX_ID)]


@router.get("/{doc_id}/versions", response_model=list[schemas.VersionSummary],
            summary="A document's versions, oldest first")
def document_versions(ctx: Ctx, doc_id: DocId) -> list[schemas.VersionSummary]:
    return versions.versions(ctx, doc_id)


@router.get("/{doc_id}/versions/{number}", response_model=schemas.VersionDetail,
            summary="One version: its text and the metadata it came with")
def document_version(ctx: Ctx, doc_id: DocId, number: Number) -> schemas.VersionDetail:
    return versions.version(ctx, doc_id, number)


@router.get("/{doc_id}/compare", response_model=schemas.ComparisonOut,
            summary="Two versions aligned passage by passage, with what changed as character offsets")
def compare(ctx: Ctx, who: OptionalUser, doc_id: DocId,
            old: Annotated[int, Query(alias="from", ge=1, le=schemas.MAX_ID, description="The older version")],
            new: Annotated[int, Query(alias="to", ge=1, le=schemas.MAX_ID, description="The newer version")],
            ) -> schemas.ComparisonOut:
    return versions.comparison(ctx, who, doc_id, old, new)
