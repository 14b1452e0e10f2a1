"""Study-session pages: the schedule, a session (check-in, leave, make-up, attendance, minutes), the
organiser's check-in screen, the page a QR code opens, and the attendance statistics with a chart."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from study_hub.accounts.policy import may_organise
from study_hub.errors import NotFoundError, PermissionDenied, StudyHubError
from study_hub.study.sessions import SESSION_KINDS, tables
from study_hub.webapp.auth import FORM_POST, CurrentUser
from study_hub.webapp.context import Ctx
from study_hub.webapp.messages import message, with_message
from study_hub.webapp.pages import render
from study_hub.webapp.sessions_api import period, session_out

router = APIRouter(include_in_schema=False)


def _back(request: Request, session_id: int, error: str = "") -> Response:
    url = f"/sessions/{session_id}"
    return RedirectResponse(with_message(request, url, "error", error) if error else url, status_code=303)


def _attempt(request: Request, session_id: int, action) -> Response:
    """Run an action; a refusal a person can fix comes back as a message on the session page."""
    try:
        action()
    except (NotFoundError, PermissionDenied):
        raise  # not this person's session, or not theirs to change: the usual 404 / 403 page
    except StudyHubError as exc:
        return _back(request, session_id, str(exc))
    return _back(request, session_id)


def _local_time(value: str, zone) -> datetime:
    """A datetime-local field ("2026-12-01T14:30") read in ``zone``; an explicit offset is kept."""
    moment = datetime.fromisoformat(value)
    return (moment if moment.tzinfo else moment.replace(tzinfo=zone)).astimezone(UTC)


@router.get("/sessions", response_class=HTMLResponse)
def sessions_page(request: Request, ctx: Ctx, who: CurrentUser) -> Response:
    shown = [{"id": study.id, "title": study.title, "kind_name": SESSION_KINDS.get(study.kind, study.kind),
              "starts_at": study.starts_at, "place": study.place, "closed": study.closed_at is not None,
              "my_status": mine.status if mine else None}
             for study, mine in ctx.study_sessions.overview(who)]
    units = ctx.accounts.managed_units(who)
    lists = ctx.reading_lists.lists_for(who)[1]
    return render(request, "sessions.html", sessions=shown, units=units, lists=lists, kinds=SESSION_KINDS,
                  can_schedule=may_organise(who), error=message(request))


@router.post("/sessions", dependencies=FORM_POST)
async def schedule(request: Request, ctx: Ctx, who: CurrentUser) -> Response:
    form = await request.form()
    try:
        # The form's times are local (the site's time zone); stored in UTC.
        starts = _local_time(str(form.get("starts_at")), ctx.settings.zone)
        ends = _local_time(str(form.get("ends_at")), ctx.settings.zone)
        unit = str(form.get("host_unit_id") or "")
        reading = str(form.get("reading_list_id") or "")
        study = ctx.study_sessions.create(
            who, title=str(form.get("title", ""))[:200], kind=str(form.get("kind", "")), starts_at=starts,
            ends_at=ends, host_unit_id=int(unit) if unit.isdigit() else None,
            place=str(form.get("place", ""))[:500], online_link=str(form.get("online_link", ""))[:1000],
            agenda=str(form.get("agenda", ""))[:20_000], reading_list_id=int(reading) if reading.isdigit() else None,
            unit_ids=[int(v) for v in form.getlist("unit_id") if str(v).isdigit()],
            logins=str(form.get("logins", "")).replace(",", " ").split())
    except (ValueError, StudyHubError) as exc:
        return RedirectResponse(with_message(request, "/sessions", "error", str(exc)), status_code=303)
    return RedirectResponse(f"/sessions/{study.id}", status_code=303)


@router.get("/sessions/{session_id}", response_class=HTMLResponse)
def session_page(request: Request, ctx: Ctx, who: CurrentUser, session_id: int) -> Response:
    shown = session_out(ctx, who, session_id)
    mine = next((a for a in shown.attendance if a.login == who.login), None)
    return render(request, "session.html", session=shown, mine=mine, error=message(request))


@router.get("/sessions/{session_id}/screen", response_class=HTMLResponse)
def screen_page(request: Request, ctx: Ctx, who: CurrentUser, session_id: int) -> Response:
    """The organiser's check-in screen: the QR code and short code refresh themselves (app.js)."""
    shown = session_out(ctx, who, session_id)
    if not shown.manageable:
        return _back(request, session_id, "only the session's organisers show the check-in screen")
    return render(request, "screen.html", session=shown)


@router.get("/sessions/{session_id}/checkin", response_class=HTMLResponse)
def checkin_page(request: Request, ctx: Ctx, who: CurrentUser, session_id: int, token: str = "") -> Response:
    """Where a scanned QR code lands: one button checks in (a GET never changes anything)."""
    return render(request, "checkin.html", session=session_out(ctx, who, session_id), token=token[:100])


@router.post("/sessions/{session_id}/checkin", dependencies=FORM_POST)
def checkin(request: Request, ctx: Ctx, who: CurrentUser, session_id: int,
            token: Annotated[str, Form(max_length=100)] = "",
            code: Annotated[str, Form(max_length=8)] = "") -> Response:
    return _attempt(request, session_id,
                    lambda: ctx.study_sessions.check_in(who, session_id, token=token, code=code))


@router.post("/sessions/{session_id}/leave", dependencies=FORM_POST)
def leave(request: Request, ctx: Ctx, who: CurrentUser, session_id: int,
          reason: Annotated[str, Form(max_length=2000)]) -> Response:
    return _attempt(request, session_id, lambda: ctx.study_sessions.request_leave(who, session_id, reason))


@router.post("/sessions/{session_id}/leave/{login}", dependencies=FORM_POST)
def decide(request: Request, ctx: Ctx, who: CurrentUser, session_id: int, login: str,
           approve: Annotated[str, Form()]) -> Response:
    return _attempt(request, session_id,
                    lambda: ctx.study_sessions.decide_leave(who, session_id, login, approve == "1"))


@router.post("/sessions/{session_id}/attendance", dependencies=FORM_POST)
def mark(request: Request, ctx: Ctx, who: CurrentUser, session_id: int, login: Annotated[str, Form(max_length=100)],
         status: Annotated[str, Form(max_length=20)], reason: Annotated[str, Form(max_length=2000)] = "") -> Response:
    return _attempt(request, session_id, lambda: ctx.study_sessions.mark(who, session_id, login, status, reason))


@router.post("/sessions/{session_id}/makeup", dependencies=FORM_POST)
def makeup(request: Request, ctx: Ctx, who: CurrentUser, session_id: int,
           reflection: Annotated[str, Form(max_length=20_000)]) -> Response:
    return _attempt(request, session_id, lambda: ctx.study_sessions.submit_makeup(who, session_id, reflection))


@router.post("/sessions/{session_id}/makeup/{login}/confirm", dependencies=FORM_POST)
def confirm(request: Request, ctx: Ctx, who: CurrentUser, session_id: int, login: str) -> Response:
    return _attempt(request, session_id, lambda: ctx.study_sessions.confirm_makeup(who, session_id, login))


@router.post("/sessions/{session_id}/minutes", dependencies=FORM_POST)
def minutes(request: Request, ctx: Ctx, who: CurrentUser, session_id: int,
            minutes: Annotated[str, Form(max_length=100_000)]) -> Response:
    return _attempt(request, session_id, lambda: ctx.study_sessions.set_minutes(who, session_id, minutes))


@router.post("/sessions/{session_id}/close", dependencies=FORM_POST)
def close(request: Request, ctx: Ctx, who: CurrentUser, session_id: int) -> Response:
    return _attempt(request, session_id, lambda: ctx.study_sessions.close(who, session_id))


@router.get("/attendance", response_class=HTMLResponse)
def attendance_page(request: Request, ctx: Ctx, who: CurrentUser) -> Response:
    chosen = {name: (request.query_params.get(name) or "")[:10] for name in ("since", "until")}
    try:
        since = date.fromisoformat(chosen["since"]) if chosen["since"] else None
        until = date.fromisoformat(chosen["until"]) if chosen["until"] else None
    except ValueError:
        since = until = None
    stats = ctx.study_sessions.statistics(who, *period(since, until, ctx.settings.zone))
    export = urlencode({k: v for k, v in chosen.items() if v})
    return render(request, "attendance.html", stats=stats, tables=tables(stats), chosen=chosen, export=export,
                  kinds=SESSION_KINDS)
