"""Reading-list pages: my lists, building a list (also drafted from a topic), a list with progress.

Forms post with the session's CSRF token; every rule is ReadingListService's, as for the API.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from study_hub.accounts.policy import may_organise
from study_hub.domain import document_url, passage_url
from study_hub.errors import StudyHubError
from study_hub.study.form_values import logins_from_text
from study_hub.webapp.deps import FORM_POST, Ctx, CurrentUser, PageDep
from study_hub.webapp.messages import safe_next
from study_hub.webapp.present.lists import list_out, unit_summary

router = APIRouter(include_in_schema=False)
OptionalId = Annotated[str, Form(max_length=20)]  # a <select> whose first option is "none"


def _id(value: str) -> int | None:
    return int(value) if value.isdigit() else None


@router.get("/lists", response_class=HTMLResponse)
def lists_page(page: PageDep, ctx: Ctx, who: CurrentUser) -> Response:
    assigned, managed = ctx.reading_lists.lists_for(who)
    progress = ctx.reading_lists.studied_counts(who, [r.id for r in assigned])
    units = ctx.accounts.managed_units(who)
    return page.render("lists.html", assigned=assigned, managed=managed, progress=progress, units=units,
                       can_build=may_organise(who))


@router.post("/lists", dependencies=FORM_POST)
def create_list(ctx: Ctx, who: CurrentUser, title: Annotated[str, Form(max_length=200)],
                description: Annotated[str, Form(max_length=5000)] = "", unit_id: OptionalId = "") -> Response:
    created = ctx.reading_lists.create(who, title, description, _id(unit_id))
    return RedirectResponse(f"/lists/{created.id}", status_code=303)


@router.get("/lists/draft", response_class=HTMLResponse)
def draft_page(page: PageDep, ctx: Ctx, who: CurrentUser, topic: str = "") -> Response:
    topic = topic.strip()[:200]
    proposals = ctx.reading_lists.draft(topic) if topic else []
    units = ctx.accounts.managed_units(who)
    return page.render("draft.html", topic=topic, proposals=proposals, units=units)


@router.post("/lists/from-draft", dependencies=FORM_POST)
def create_from_draft(ctx: Ctx, who: CurrentUser, title: Annotated[str, Form(max_length=200)] = "",
                      description: Annotated[str, Form(max_length=5000)] = "", unit_id: OptionalId = "",
                      choice: Annotated[list[str], Form(max_length=300)] = ()) -> Response:
    created = ctx.reading_lists.create_from_draft(who, title, description, _id(unit_id), list(choice))
    return RedirectResponse(f"/lists/{created.id}", status_code=303)


@router.get("/lists/{list_id}", response_class=HTMLResponse)
def list_page(page: PageDep, ctx: Ctx, who: CurrentUser, list_id: int) -> Response:
    shown = list_out(ctx, who, list_id)
    members = ctx.reading_lists.progress(who, list_id) if shown.manageable else []
    units = ctx.accounts.managed_units(who)
    return page.render("list.html", reading_list=shown, members=members, unit_rows=unit_summary(members),
                       units=units, error=page.message())


@router.post("/lists/{list_id}/items/{item_id}/open", dependencies=FORM_POST)
def open_item(ctx: Ctx, who: CurrentUser, list_id: int, item_id: int) -> Response:
    """Open an item through the list (a button): the server records it (evidence of study), then shows the text.

    A POST with the session's CSRF token, so a link on another site cannot record study for a member.
    """
    item = ctx.reading_lists.record_open(who, item_id)
    return _to_text(item, list_id)


@router.get("/lists/{list_id}/items/{item_id}/open")
def show_item(ctx: Ctx, who: CurrentUser, list_id: int, item_id: int) -> Response:
    """The item's text, recording nothing (a GET never changes anything)."""
    return _to_text(ctx.reading_lists.item_of(who, item_id), list_id)


def _to_text(item, list_id: int) -> Response:
    if item.list_id != list_id:
        return RedirectResponse(f"/lists/{item.list_id}", status_code=303)
    if item.kind == "search":
        return RedirectResponse(f"/search?{urlencode({'q': item.query})}", status_code=303)
    if item.passage_id:
        return RedirectResponse(passage_url(item.document_id, item.passage_id), status_code=303)
    return RedirectResponse(document_url(item.document_id), status_code=303)


@router.post("/lists/add", dependencies=FORM_POST)
def add_from_anywhere(ctx: Ctx, who: CurrentUser, list_id: Annotated[int, Form()],
                      kind: Annotated[str, Form(max_length=20)], document_id: Annotated[str, Form(max_length=200)] = "",
                      passage_id: Annotated[str, Form(max_length=240)] = "",
                      heading_path: Annotated[str, Form(max_length=1000)] = "",
                      query: Annotated[str, Form(max_length=1000)] = "",
                      guide: Annotated[str, Form(max_length=5000)] = "", due: Annotated[str, Form(max_length=10)] = "",
                      next: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """Add an item from a search result, the reader, or the list page itself."""
    if kind == "section" and not heading_path:
        kind = "document"
    ctx.reading_lists.add_item(who, list_id, kind, document_id=document_id or None, passage_id=passage_id or None,
                               heading_path=heading_path, query=query, guide=guide, due=due or None)
    return RedirectResponse(safe_next(next, f"/lists/{list_id}"), status_code=303)


@router.post("/lists/{list_id}/items/{item_id}/remove", dependencies=FORM_POST)
def remove_item(ctx: Ctx, who: CurrentUser, list_id: int, item_id: int) -> Response:
    ctx.reading_lists.remove_item(who, list_id, item_id)
    return RedirectResponse(f"/lists/{list_id}", status_code=303)


@router.post("/lists/{list_id}/items/{item_id}/move", dependencies=FORM_POST)
def move_item(ctx: Ctx, who: CurrentUser, list_id: int, item_id: int, step: Annotated[int, Form()]) -> Response:
    ctx.reading_lists.move_item(who, list_id, item_id, -1 if step < 0 else 1)
    return RedirectResponse(f"/lists/{list_id}", status_code=303)


@router.post("/lists/{list_id}/items/{item_id}/studied", dependencies=FORM_POST)
def mark_studied(ctx: Ctx, who: CurrentUser, list_id: int, item_id: int,
                 studied: Annotated[str, Form()] = "1") -> Response:
    ctx.reading_lists.get(who, list_id)
    ctx.reading_lists.mark(who, item_id, studied == "1")
    return RedirectResponse(f"/lists/{list_id}#item-{item_id}", status_code=303)


@router.post("/lists/{list_id}/assign", dependencies=FORM_POST)
def assign(page: PageDep, ctx: Ctx, who: CurrentUser, list_id: int,
           unit_id: Annotated[list[str], Form(max_length=20)] = (),
           logins: Annotated[str, Form(max_length=20_000)] = "") -> Response:
    try:
        ctx.reading_lists.assign(who, list_id, [int(v) for v in unit_id if v.isdigit()], logins_from_text(logins))
    except StudyHubError as exc:
        return page.redirect(f"/lists/{list_id}", str(exc))
    return RedirectResponse(f"/lists/{list_id}", status_code=303)
