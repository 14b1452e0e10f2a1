"""The pages people read with: search, the document reader, a passage with its related passages.

Query strings are read leniently here: a bad value shows the page with a message, never a bare error.
"""

from __future__ import annotations

import math
from urllib.parse import urlencode

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from study_hub.domain import citation, document_url, passage_url
from study_hub.search.query import QueryError
from study_hub.search.service import MAX_PAGE, MODES, IndexNotBuiltError, SearchRequest
from study_hub.webapp.deps import Ctx, OptionalUser, PageDep
from study_hub.webapp.pages.common import my_lists, page_number
from study_hub.webapp.present import citations, library, versions

router = APIRouter(include_in_schema=False)
SEARCH_FIELDS = ("q", "mode", "level", "kind", "issuer", "year", "status", "history", "sort")
PAGE_SIZE = 10


@router.get("/", response_class=HTMLResponse)
@router.get("/search", response_class=HTMLResponse)
def search_page(page: PageDep, ctx: Ctx, who: OptionalUser) -> Response:
    params = page.request.query_params
    form = {name: params.get(name, "").strip() for name in SEARCH_FIELDS}
    form["mode"] = form["mode"] if form["mode"] in MODES else "hybrid"
    form["sort"] = form["sort"] if form["sort"] in ("relevance", "date") else "relevance"
    form["history"] = "1" if form["history"] in ("1", "on", "true") else ""  # a checkbox: on, or absent
    number = page_number(params.get("page"))
    results, error, status = None, None, 200
    filtered = any(form[name] for name in ("level", "kind", "issuer", "year", "status"))
    if form["q"] or filtered:
        try:
            results = library.search(ctx, SearchRequest(
                q=form["q"][:1000], mode=form["mode"], level=form["level"] or None, kind=form["kind"] or None,
                issuer=form["issuer"] or None, year=form["year"] or None, status=form["status"][:100] or None,
                history=bool(form["history"]), sort=form["sort"], page=number, limit=PAGE_SIZE),
                language=page.language)
        except QueryError as exc:
            error, status = str(exc), 400
        except IndexNotBuiltError as exc:
            error, status = ctx.building_note() or str(exc), 503

    def link(**changes) -> str:  # the same search with some parameters changed; a new filter starts at page 1
        chosen = {**form, "page": "", **changes}
        return "/search?" + urlencode({k: v for k, v in chosen.items() if v not in ("", None)})

    pages = math.ceil(results.total / PAGE_SIZE) if results else 0
    meaning = ctx.meaning()
    notice = results.notice if results else ctx.meaning_notice(meaning, page.language, answered=False)
    return page.render("search.html", status=status, form=form, results=results, error=error, page=number,
                       pages=min(pages, MAX_PAGE), link=link, filtered=filtered, notice=notice,
                       semantic=meaning is not None and meaning.ready,
                       reader_link=lambda hit: _reader_link(hit, form["q"]), my_lists=my_lists(ctx, who),
                       here=page.here + "?" + str(page.request.url.query))


def _reader_link(hit, q: str) -> str:
    base = document_url(hit.doc_id)
    return f"{base}?{urlencode({'q': q})}#p-{hit.passage_id}" if q else hit.url


@router.get("/documents/{doc_id}", response_class=HTMLResponse)
def reader_page(page: PageDep, ctx: Ctx, who: OptionalUser, doc_id: str) -> Response:
    params = page.request.query_params
    q = (params.get("q") or "")[:1000]
    shared = params.get("shared") == "1"
    detail, row = library.document(ctx, doc_id)
    notes = ctx.notes.list(who, document=doc_id, mine_only=not shared) if who else []
    uploaded = params.get("uploaded")
    cites = citations.for_reader(ctx, doc_id, page.language)
    return page.render("document.html", document=detail, q=q, shared=shared, versions=versions.versions(ctx, doc_id),
                       threads=ctx.replies.summaries(who, notes) if who else {},
                       uploaded=uploaded if uploaded in ("added", "updated", "metadata", "unchanged") else None,
                       status_set=page.message("status_set"), status_error=page.message("status_error"),
                       passages=library.reader_passages(ctx, detail, row, q, notes, cites),
                       cited_by=citations.citing_documents(cites.cited_by), cited_by_count=cites.cited_by.documents,
                       citing_documents=citations.citing_documents,
                       orphaned=[n for n in notes if n.orphaned], semantic=ctx.health_of_semantic(),
                       citation=citation(row), my_lists=my_lists(ctx, who))


@router.get("/passages/{passage_id}", response_class=HTMLResponse)
def passage_page(page: PageDep, ctx: Ctx, passage_id: str) -> Response:
    cited_by = citations.cited_by_passage(ctx, passage_id)
    return page.render("passage.html", passage=library.passage(ctx, passage_id),
                       cites=citations.of_passage(ctx, passage_id), cited_by=citations.citing_documents(cited_by),
                       cited_by_count=cited_by.total)


@router.get("/p/{passage_id}")
def passage_short_link(ctx: Ctx, passage_id: str) -> Response:
    """A short, stable link to a passage: where it is in its document now."""
    passage, document, _, _ = ctx.store.passage_in_context(passage_id)
    return RedirectResponse(passage_url(document.id, passage.id), status_code=307)
