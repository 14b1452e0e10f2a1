"""The pages people use: search, the document reader, a passage with its related passages, the library.

Server-rendered from ``web/templates``; the same ``library`` functions as the JSON API produce what they show.
Query strings are read leniently here: a bad value shows the page with a message, never a bare error.
"""

from __future__ import annotations

import math
from datetime import UTC, date
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markdown_it import MarkdownIt
from markupsafe import Markup

from study_hub.accounts.policy import may_add_documents, may_organise
from study_hub.config import REPO_ROOT
from study_hub.domain import KINDS, LEVELS, citation, document_url, passage_url
from study_hub.search.query import QueryError
from study_hub.search.service import MAX_PAGE, MODES, IndexNotBuiltError, SearchRequest
from study_hub.store import DocumentFilter
from study_hub.webapp import library
from study_hub.webapp.auth import CurrentUser, OptionalUser, signed_in
from study_hub.webapp.context import Ctx
from study_hub.webapp.i18n import language_of, translator
from study_hub.webapp.messages import here, message

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=REPO_ROOT / "web" / "templates")
# Notes are Markdown written by members: rendered with raw HTML disabled, so a note cannot inject markup.
_markdown = MarkdownIt("js-default")
templates.env.filters["markdown"] = lambda text: Markup(_markdown.render(text or ""))
SEARCH_FIELDS = ("q", "mode", "level", "kind", "issuer", "year", "sort")
PAGE_SIZE = 10


def render(request: Request, template: str, status: int = 200, **values) -> HTMLResponse:
    language = language_of(request)
    found = signed_in(request, request.app.state.context)
    response = templates.TemplateResponse(request, template, {
        "t": translator(language), "lang": language, "levels": LEVELS, "kinds": KINDS,
        "user": found[0] if found else None, "csrf_token": found[1] if found else "",
        "other_language_url": _with_params(request, lang="en" if language == "zh" else "zh"),
        "local": _local_formatter(request.app.state.context.settings.zone),
        "time_zone": request.app.state.context.settings.time_zone, **values,
    }, status_code=status)
    if request.query_params.get("lang") in ("zh", "en"):
        response.set_cookie("lang", language, max_age=365 * 24 * 3600, samesite="lax", httponly=True)
    return response


def _local_formatter(zone):
    """For templates: ``local(moment, "%Y-%m-%d %H:%M")`` shows a stored (UTC) time in the site's zone."""
    def local(moment, pattern: str = "%Y-%m-%d %H:%M") -> str:
        if moment is None:
            return ""
        return (moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment).astimezone(zone).strftime(pattern)
    return local


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    return render(request, "error.html", status=status, status_code=status, message=message)


def _with_params(request: Request, **changes) -> str:
    params = dict(request.query_params)
    params.update({k: v for k, v in changes.items() if v is not None})
    return f"{here(request)}?{urlencode({k: v for k, v in params.items() if v not in ('', None)})}"


def _page_number(value: str | None) -> int:
    try:
        return min(max(int(value or 1), 1), MAX_PAGE)
    except ValueError:
        return 1


def _my_lists(ctx, who) -> list:
    """The lists an organiser can add to from search results and the reader."""
    return ctx.reading_lists.lists_for(who)[1] if who and may_organise(who) else []


@router.get("/", response_class=HTMLResponse)
@router.get("/search", response_class=HTMLResponse)
def search_page(request: Request, ctx: Ctx, who: OptionalUser) -> Response:
    form = {name: request.query_params.get(name, "").strip() for name in SEARCH_FIELDS}
    form["mode"] = form["mode"] if form["mode"] in MODES else "hybrid"
    form["sort"] = form["sort"] if form["sort"] in ("relevance", "date") else "relevance"
    page = _page_number(request.query_params.get("page"))
    results, error, status = None, None, 200
    filtered = any(form[name] for name in ("level", "kind", "issuer", "year"))
    if form["q"] or filtered:
        try:
            results = library.search(ctx, SearchRequest(
                q=form["q"][:1000], mode=form["mode"], level=form["level"] or None, kind=form["kind"] or None,
                issuer=form["issuer"] or None, year=form["year"] or None, sort=form["sort"], page=page,
                limit=PAGE_SIZE), language=language_of(request))
        except QueryError as exc:
            error, status = str(exc), 400
        except IndexNotBuiltError as exc:
            error, status = ctx.building_note() or str(exc), 503

    def link(**changes) -> str:  # the same search with some parameters changed; a new filter starts at page 1
        params = {**form, "page": "", **changes}
        return "/search?" + urlencode({k: v for k, v in params.items() if v not in ("", None)})

    pages = math.ceil(results.total / PAGE_SIZE) if results else 0
    meaning = ctx.meaning()
    notice = results.notice if results else ctx.meaning_notice(meaning, language_of(request), answered=False)
    return render(request, "search.html", status=status, form=form, results=results, error=error, page=page,
                  pages=min(pages, MAX_PAGE), link=link, filtered=filtered, notice=notice,
                  semantic=meaning is not None and meaning.ready, reader_link=lambda hit: _reader_link(hit, form["q"]),
                  my_lists=_my_lists(ctx, who), here=here(request) + "?" + str(request.url.query))


def _reader_link(hit, q: str) -> str:
    base = document_url(hit.doc_id)
    return f"{base}?{urlencode({'q': q})}#p-{hit.passage_id}" if q else hit.url


@router.get("/documents", response_class=HTMLResponse)
def library_page(request: Request, ctx: Ctx) -> Response:
    params = request.query_params
    level = params.get("level") if params.get("level") in LEVELS else None
    kind = params.get("kind") if params.get("kind") in KINDS else None
    issuer = (params.get("issuer") or "").strip()[:200] or None
    year_text = params.get("year") or ""
    year = int(year_text) if year_text.isdigit() and 1900 <= int(year_text) <= 2100 else None
    page = _page_number(params.get("page"))
    listing = library.documents(ctx, DocumentFilter(level=level, kind=kind, issuer=issuer, year=year), page, 50)
    chosen = {"level": level or "", "kind": kind or "", "issuer": issuer or "", "year": str(year or "")}

    def link(**changes) -> str:
        merged = {**chosen, "page": "", **changes}
        return "/documents?" + urlencode({k: v for k, v in merged.items() if v})

    found = signed_in(request, ctx)
    jobs = ctx.index.ledger.recent(8) if found and may_add_documents(found[0]) else []
    return render(request, "library.html", listing=listing, chosen=chosen, link=link,
                  pages=math.ceil(listing.total / listing.limit), page=page, jobs=jobs,
                  upload_error=message(request, "upload_error"), removed=message(request, "removed"))


@router.get("/documents/{doc_id}", response_class=HTMLResponse)
def reader_page(request: Request, ctx: Ctx, who: OptionalUser, doc_id: str) -> Response:
    q = (request.query_params.get("q") or "")[:1000]
    shared = request.query_params.get("shared") == "1"
    detail, row = library.document(ctx, doc_id)
    notes = ctx.notes.list(who, document=doc_id, mine_only=not shared) if who else []
    uploaded = request.query_params.get("uploaded")
    return render(request, "document.html", document=detail, q=q, shared=shared,
                  uploaded=uploaded if uploaded in ("added", "updated", "metadata", "unchanged") else None,
                  passages=library.reader_passages(ctx, detail, row, q, notes),
                  orphaned=[n for n in notes if n.orphaned], semantic=ctx.health_of_semantic(),
                  citation=citation(row), my_lists=_my_lists(ctx, who))


@router.get("/notes", response_class=HTMLResponse)
def notes_page(request: Request, ctx: Ctx, who: CurrentUser) -> Response:
    """My notes: filter by document, tag and date, search their text, export them."""
    params = request.query_params
    chosen = {name: (params.get(name) or "").strip()[:200] for name in ("doc", "tag", "q", "since", "until")}
    dates, error = {}, None
    for name in ("since", "until"):
        try:
            dates[name] = date.fromisoformat(chosen[name]) if chosen[name] else None
        except ValueError:
            error, dates[name] = f"{chosen[name]!r} is not a date (YYYY-MM-DD)", None
    shared = params.get("scope") == "shared"  # notes others shared with my units (organisers: units below too)
    notes = ctx.notes.list(who, mine_only=not shared, document=chosen["doc"] or None, tag=chosen["tag"] or None,
                           text=chosen["q"] or None, **dates, limit=500)
    if shared:
        notes = [n for n in notes if not n.editable]
    documents, tags = ctx.notes.my_documents_and_tags(who)  # for the filters: two queries, not every note
    export = urlencode({k: v for k, v in chosen.items() if v})
    return render(request, "notes.html", notes=notes, chosen=chosen, documents=documents, tags=tags,
                  export_query=export, error=error, shared=shared, status=400 if error else 200)


@router.get("/passages/{passage_id}", response_class=HTMLResponse)
def passage_page(request: Request, ctx: Ctx, passage_id: str) -> Response:
    return render(request, "passage.html", passage=library.passage(ctx, passage_id))


@router.get("/p/{passage_id}")
def passage_short_link(ctx: Ctx, passage_id: str) -> Response:
    """A short, stable link to a passage: where it is in its document now."""
    passage, document, _, _ = ctx.store.passage_in_context(passage_id)
    return RedirectResponse(passage_url(document.id, passage.id), status_code=307)
