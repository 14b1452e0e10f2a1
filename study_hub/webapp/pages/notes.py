"""My notes, and the notes others shared with my units: filter by document, tag and date, search their text,
export them."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from study_hub.errors import StudyHubError
from study_hub.study.form_values import local_date
from study_hub.webapp.deps import Ctx, CurrentUser, PageDep

router = APIRouter(include_in_schema=False)


@router.get("/notes", response_class=HTMLResponse)
def notes_page(page: PageDep, ctx: Ctx, who: CurrentUser) -> Response:
    params = page.request.query_params
    chosen = {name: (params.get(name) or "").strip()[:200] for name in ("doc", "tag", "q", "since", "until")}
    dates, error = {}, None
    for name in ("since", "until"):
        try:
            dates[name] = local_date(chosen[name])
        except StudyHubError as exc:
            error, dates[name] = str(exc), None
    shared = params.get("scope") == "shared"  # notes others shared with my units (organisers: units below too)
    notes = ctx.notes.list(who, mine_only=not shared, others_only=shared, document=chosen["doc"] or None,
                           tag=chosen["tag"] or None, text=chosen["q"] or None, **dates, limit=500)
    documents, tags = ctx.notes.my_documents_and_tags(who)  # for the filters: two queries, not every note
    export = urlencode({k: v for k, v in chosen.items() if v})
    return page.render("notes.html", notes=notes, chosen=chosen, documents=documents, tags=tags,
                       export_query=export, error=error, shared=shared, status=400 if error else 200)
