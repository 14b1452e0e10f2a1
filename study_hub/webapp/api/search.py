"""The JSON API under /api: search, documents, passages, health. Documented at /docs (OpenAPI)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from study_hub.domain import KINDS, LANGUAGES, LEVELS, STATUSES
from study_hub.search.service import MAX_LIMIT, MAX_PAGE, SearchRequest
from study_hub.store import DocumentFilter
from study_hub.webapp import schemas
from study_hub.webapp.deps import Ctx
from study_hub.webapp.present import library

router = APIRouter(prefix="/api", tags=["api"], responses=schemas.problems({
    400: "A query or filter that cannot be understood.",
    404: "No such document or passage.",
    503: "The search index is not built yet.",
}, signed_in=False))

Text = Annotated[str | None, Query(max_length=200)]
Mode = Literal["keyword", "semantic", "hybrid"]


@router.get("/search", response_model=schemas.SearchResults, summary="Search the passages")
def search(
    ctx: Ctx,
    q: Annotated[str, Query(max_length=1000, description='Words, "exact wording", -excluded, OR, level:… '
                                                         "kind:… year:… issuer:… status:…")] = "",
    mode: Mode = "hybrid",
    level: Annotated[str | None, Query(max_length=20, description=f"{', '.join(LEVELS)} (or 中央, 省, 市, 区)")] = None,
    kind: Annotated[str | None, Query(max_length=20, description=", ".join(KINDS))] = None,
    issuer: Annotated[str | None, Query(max_length=200, description="The issuer contains this text.")] = None,
    year: Annotated[str | None, Query(max_length=20, description="2021, or a range 2019..2023")] = None,
    doc: Annotated[str | None, Query(max_length=200, description="Only this document id.")] = None,
    status: Annotated[str | None, Query(max_length=100, description=(
        f"Validity: {', '.join(STATUSES)} or all, several separated by commas (or 现行有效, 已修订, 已废止, 尚未生效). "
        "Without it (and without history): current, not_yet_effective and unknown."))] = None,
    history: Annotated[bool, Query(description="Also amended and repealed documents.")] = False,
    sort: Literal["relevance", "date"] = "relevance",
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 10,
    lang: Annotated[Literal["zh", "en"], Query(description="The language of the notice")] = "zh",
) -> schemas.SearchResults:
    """Hybrid by default. While search by meaning is being prepared (the model loading, passages being
    encoded) a hybrid or semantic request is answered by keyword ranking: ``mode`` says which ranked it and
    ``notice`` tells a person how far the preparation got."""
    return library.search(ctx, SearchRequest(q=q, mode=mode, level=level or None, kind=kind or None,
                                             issuer=issuer or None, year=year or None, doc=doc or None,
                                             status=status or None, history=history, sort=sort,
                                             page=page, limit=limit), language=lang)


@router.get("/documents", response_model=schemas.DocumentList, summary="List the documents")
def documents(
    ctx: Ctx,
    level: Literal[LEVELS] | None = None,  # type: ignore[valid-type]
    kind: Literal[KINDS] | None = None,  # type: ignore[valid-type]
    issuer: Text = None,
    year: Annotated[int | None, Query(ge=1900, le=2100)] = None,
    language: Literal[LANGUAGES] | None = None,  # type: ignore[valid-type]
    status: Literal[STATUSES] | None = None,  # type: ignore[valid-type]
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> schemas.DocumentList:
    """Every document, whatever its validity (the library is the catalogue; ``status`` narrows it)."""
    where = DocumentFilter(level=level, kind=kind, issuer=issuer or None, year=year, language=language,
                           statuses=(status,) if status else ())
    return library.documents(ctx, where, page, limit)


@router.get("/documents/{doc_id}", response_model=schemas.DocumentDetail, summary="A document and its passages")
def document(ctx: Ctx, doc_id: Annotated[str, Path(max_length=200)]) -> schemas.DocumentDetail:
    return library.document(ctx, doc_id)[0]


@router.get("/passages/{passage_id}", response_model=schemas.PassageDetail,
            summary="A passage with its neighbours and related passages in documents of other levels")
def passage(ctx: Ctx, passage_id: Annotated[str, Path(max_length=240)],
            per_level: Annotated[int, Query(ge=1, le=10)] = 3) -> schemas.PassageDetail:
    return library.passage(ctx, passage_id, per_level)


@router.get("/health", response_model=schemas.Health, summary="Index generation, counts, model, database")
def health(ctx: Ctx) -> schemas.Health:
    return schemas.Health(**ctx.health())
