"""The comparison page (修订对照): two versions of a document side by side (stacked on a phone).

Query strings are read leniently, as on the other reading pages: without ``from``/``to`` the page compares the
version before the newest with the newest; a value that is not a version number is a page saying so.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from study_hub.study.versions import VersionError
from study_hub.webapp.deps import Ctx, OptionalUser, PageDep
from study_hub.webapp.present import versions

router = APIRouter(include_in_schema=False)


def _number(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 10 else None


@router.get("/documents/{doc_id}/compare", response_class=HTMLResponse)
def compare_page(page: PageDep, ctx: Ctx, who: OptionalUser, doc_id: str) -> Response:
    params = page.request.query_params
    listed = versions.versions(ctx, doc_id)  # an unknown document: 404
    old, new = _number(params.get("from")), _number(params.get("to"))
    if (params.get("from") and old is None) or (params.get("to") and new is None):
        raise VersionError("from and to are version numbers, e.g. ?from=1&to=2")
    if old is None or new is None:
        default_old, default_new = ctx.versions.default_pair(doc_id)
        old, new = old or default_old, new or default_new
    found = ctx.versions.compare(who, doc_id, old, new)
    return page.render("compare.html", comparison=found, listed=listed, blocks=versions.page_blocks(found),
                       compare_url=versions.compare_url)
