"""Study-session pages: the schedule, a session (check-in, leave, make-up, attendance, minutes), the
organiser's check-in screen, the page a QR code opens, and the attendance statistics with a chart."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query
from fastapi.responses import HTMLResponse, Response

from study_hub.accounts.policy import may_organise
from study_hub.errors import NotFoundError, PermissionDenied, StudyHubError
from study_hub.study.form_values import local_date, local_period, local_time, logins_from_text
from study_hub.study.records import recent_periods
from study_hub.study.sessions import SESSION_KINDS, tables
from study_hub.webapp.deps import FORM_POST, Ctx, CurrentUser, PageDep
from study_hub.webapp.present.sessions import session_out
from study_hub.webapp.templating import Page

router = APIRouter(include_in_schema=False)
Field = Annotated[str, Form(max_length=1000)]


def _attempt(page: Page, session_id: int, action) -> Response:
    """Run an action; a refusal a person can fix comes back as a message on the session page."""
    try:
        action()
    except (NotFoundError, PermissionDenied):
        raise  # not this person's session, or not theirs to change: the usual 404 / 403 page
    except StudyHubError as exc:
        return page.redirect(f"/sessions/{session_id}", str(exc))
    return page.redirect(f"/sessions/{session_id}")


@router.get("/sessions", response_class=HTMLResponse)
def sessions_page(page: PageDep, ctx: Ctx, who: CurrentUser) -> Response:
    shown = [{"id": study.id, "title": study.title, "kind_name": SESSION_KINDS.get(study.kind, study.kind),
              "starts_at": study.starts_at, "place": study.place, "closed": study.closed_at is not None,
              "my_status": mine.status if mine else None}
             for study, mine in ctx.study_sessions.overview(who)]
    units = ctx.accounts.managed_units(who)
    lists = ctx.reading_lists.lists_for(who)[1]
    return page.render("sessions.html", sessions=shown, units=units, lists=lists, kinds=SESSION_KINDS,
                       can_schedule=may_organise(who), error=page.message())


@router.post("/sessions", dependencies=FORM_POST)
def schedule(page: PageDep, ctx: Ctx, who: CurrentUser, title: Annotated[str, Form(max_length=200)] = "",
             kind: Annotated[str, Form(max_length=40)] = "", starts_at: Annotated[str, Form(max_length=40)] = "",
             ends_at: Annotated[str, Form(max_length=40)] = "", host_unit_id: Annotated[str, Form(max_length=20)] = "",
             place: Annotated[str, Form(max_length=500)] = "", online_link: Field = "",
             agenda: Annotated[str, Form(max_length=20_000)] = "",
             reading_list_id: Annotated[str, Form(max_length=20)] = "",
             unit_id: Annotated[list[str], Form(max_length=20)] = (),
             logins: Annotated[str, Form(max_length=20_000)] = "",
             presider: Annotated[str, Form(max_length=100)] = "",
             recorder: Annotated[str, Form(max_length=100)] = "") -> Response:
    try:
        # The form's times are local (the site's time zone); stored in UTC.
        study = ctx.study_sessions.create(
            who, title=title, kind=kind, starts_at=local_time(starts_at, ctx.settings.zone),
            ends_at=local_time(ends_at, ctx.settings.zone),
            host_unit_id=int(host_unit_id) if host_unit_id.isdigit() else None, place=place,
            online_link=online_link, agenda=agenda,
            reading_list_id=int(reading_list_id) if reading_list_id.isdigit() else None,
            unit_ids=[int(v) for v in unit_id if v.isdigit()], logins=logins_from_text(logins),
            presider=presider, recorder=recorder)
    except StudyHubError as exc:
        return page.redirect("/sessions", str(exc))
    return page.redirect(f"/sessions/{study.id}")


@router.get("/sessions/{session_id}", response_class=HTMLResponse)
def session_page(page: PageDep, ctx: Ctx, who: CurrentUser, session_id: int) -> Response:
    shown = session_out(ctx, who, session_id)
    mine = next((a for a in shown.attendance if a.login == who.login), None)
    return page.render("session.html", session=shown, mine=mine, error=page.message())


@router.get("/sessions/{session_id}/screen", response_class=HTMLResponse)
def screen_page(page: PageDep, ctx: Ctx, who: CurrentUser, session_id: int) -> Response:
    """The organiser's check-in screen: the QR code and short code refresh themselves (app.js)."""
    shown = session_out(ctx, who, session_id)
    if not shown.manageable:
        return page.redirect(f"/sessions/{session_id}", "only the session's organisers show the check-in screen")
    return page.render("screen.html", session=shown)


@router.get("/sessions/{session_id}/checkin", response_class=HTMLResponse)
def checkin_page(page: PageDep, ctx: Ctx, who: CurrentUser, session_id: int, token: str = "") -> Response:
    """Where a scanned QR code lands: one button checks in (a GET never changes anything)."""
    return page.render("checkin.html", session=session_out(ctx, who, session_id), token=token[:100])


@router.post("/sessions/{session_id}/checkin", dependencies=FORM_POST)
def checkin(page: PageDep, ctx: Ctx, who: CurrentUser, session_id: int,
            token: Annotated[str, Form(max_length=100)] = "",
            code: Annotated[str, Form(max_length=8)] = "") -> Response:
    return _attempt(page, session_id,
                    lambda: ctx.study_sessions.check_in(who, session_id, token=token, code=code))


@router.post("/sessions/{session_id}/leave", dependencies=FORM_POST)
def leave(page: PageDep, ctx: Ctx, who: CurrentUser, session_id: int,
          reason: Annotated[str, Form(max_length=2000)]) -> Response:
    return _attempt(page, session_id, lambda: ctx.study_sessions.request_leave(who, session_id, reason))


@router.post("/sessions/{session_id}/leave/{login}", dependencies=FORM_POST)
def decide(page: PageDep, ctx: Ctx, who: CurrentUser, session_id: int, login: str,
           approve: Annotated[str, Form()]) -> Response:
    return _attempt(page, session_id,
                    lambda: ctx.study_sessions.decide_leave(who, session_id, login, approve == "1"))


@router.post("/sessions/{session_id}/attendance", dependencies=FORM_POST)
def mark(page: PageDep, ctx: Ctx, who: CurrentUser, session_id: int, login: Annotated[str, Form(max_length=100)],
         status: Annotated[str, Form(max_length=20)], reason: Annotated[str, Form(max_length=2000)] = "") -> Response:
    return _attempt(page, session_id, lambda: ctx.study_sessions.mark(who, session_id, login, status, reason))


@router.post("/sessions/{session_id}/makeup", dependencies=FORM_POST)
def makeup(page: PageDep, ctx: Ctx, who: CurrentUser, session_id: int,
           reflection: Annotated[str, Form(max_length=20_000)]) -> Response:
    return _attempt(page, session_id, lambda: ctx.study_sessions.submit_makeup(who, session_id, reflection))


@router.post("/sessions/{session_id}/makeup/{login}/confirm", dependencies=FORM_POST)
def confirm(page: PageDep, ctx: Ctx, who: CurrentUser, session_id: int, login: str) -> Response:
    return _attempt(page, session_id, lambda: ctx.study_sessions.confirm_makeup(who, session_id, login))


@router.post("/sessions/{session_id}/minutes", dependencies=FORM_POST)
def minutes(page: PageDep, ctx: Ctx, who: CurrentUser, session_id: int,
            minutes: Annotated[str, Form(max_length=100_000)]) -> Response:
    return _attempt(page, session_id, lambda: ctx.study_sessions.set_minutes(who, session_id, minutes))


@router.post("/sessions/{session_id}/people", dependencies=FORM_POST)
def people(page: PageDep, ctx: Ctx, who: CurrentUser, session_id: int,
           presider: Annotated[str, Form(max_length=100)] = "",
           recorder: Annotated[str, Form(max_length=100)] = "") -> Response:
    return _attempt(page, session_id,
                    lambda: ctx.study_sessions.set_people(who, session_id, presider=presider, recorder=recorder))


@router.post("/sessions/{session_id}/close", dependencies=FORM_POST)
def close(page: PageDep, ctx: Ctx, who: CurrentUser, session_id: int) -> Response:
    return _attempt(page, session_id, lambda: ctx.study_sessions.close(who, session_id))


@router.get("/ledger")
def ledger(page: PageDep, who: CurrentUser, unit: int, period: Annotated[str, Query(max_length=8)] = "",
           format: Annotated[Literal["docx", "pdf"], Query()] = "pdf") -> Response:
    """The attendance page's ledger form: the unit is a path segment of the API's address."""
    chosen = {"period": period.strip(), "format": format}
    return page.redirect(f"/api/units/{unit}/ledger?{urlencode({k: v for k, v in chosen.items() if v})}")


@router.get("/attendance", response_class=HTMLResponse)
def attendance_page(page: PageDep, ctx: Ctx, who: CurrentUser) -> Response:
    chosen = {name: (page.request.query_params.get(name) or "")[:10] for name in ("since", "until")}
    try:
        since, until = local_date(chosen["since"]), local_date(chosen["until"])
    except StudyHubError:
        since = until = None
    stats = ctx.study_sessions.statistics(who, *local_period(since, until, ctx.settings.zone))
    export = urlencode({k: v for k, v in chosen.items() if v})
    unit = page.request.query_params.get("unit", "")
    return page.render("attendance.html", stats=stats, tables=tables(stats, ctx.settings.zone), chosen=chosen,
                       export=export,
                       kinds=SESSION_KINDS, ledger_units=ctx.accounts.managed_units(who) if may_organise(who) else [],
                       ledger_unit=int(unit) if unit.isdigit() else None,
                       periods=recent_periods(ctx.study_sessions.clock(), ctx.settings.zone))
