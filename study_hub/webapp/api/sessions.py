"""Study sessions under /api/sessions (check-in, leave, make-up, attendance) and statistics under
/api/attendance: the same SessionService (and rules) as the pages."""

from __future__ import annotations

import io
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from study_hub.study.form_values import local_period
from study_hub.study.record_book import ledger_docx, ledger_pdf, record_docx, record_pdf
from study_hub.study.sessions import to_csv, to_xlsx
from study_hub.webapp import schemas
from study_hub.webapp.deps import Ctx, CurrentUser
from study_hub.webapp.present.sessions import session_out, statistics_out

Id = schemas.PathId
ERRORS = schemas.problems({
    400: "Not possible now (window closed, code expired or used…).",
    403: "Not an organiser of the session, not expected, or no CSRF.",
    404: "No such session (or not one you may see).",
})
router = APIRouter(prefix="/api/sessions", tags=["study sessions"], responses=ERRORS)
stats_router = APIRouter(prefix="/api/attendance", tags=["attendance"], responses=ERRORS)
units_router = APIRouter(prefix="/api/units", tags=["record book"], responses=schemas.problems({
    400: "A period that is not a quarter (2026Q4) or a year (2026).",
    403: "Not an organiser of the unit or a unit above it (or an admin).",
    404: "No such unit.",
}))
PRINTED = {"docx": schemas.DOCX, "pdf": "application/pdf"}
PRINTED_RESPONSES = {200: {"content": {schemas.DOCX: {}, "application/pdf": {}}}}


def _site(request: Request) -> str:
    """The site's address, for the links a printed record carries into the reader."""
    return str(request.base_url).rstrip("/")


@router.get("", response_model=list[schemas.SessionOut], summary="Sessions you organise or are expected at")
def sessions(ctx: Ctx, who: CurrentUser) -> list[schemas.SessionOut]:
    return [session_out(ctx, who, s.id) for s in ctx.study_sessions.sessions_for(who)]


@router.post("", response_model=schemas.SessionOut, status_code=201, summary="Schedule a session (organisers)")
def create(ctx: Ctx, who: CurrentUser, body: schemas.SessionIn) -> schemas.SessionOut:
    values = body.model_dump()
    for name in ("starts_at", "ends_at"):  # a time without an offset is the site's local time, as in the form
        if values[name].tzinfo is None:
            values[name] = values[name].replace(tzinfo=ctx.settings.zone)
    study = ctx.study_sessions.create(who, **values)
    return session_out(ctx, who, study.id)


@router.get("/{session_id}", response_model=schemas.SessionOut, summary="A session with its attendance")
def get(ctx: Ctx, who: CurrentUser, session_id: Id) -> schemas.SessionOut:
    return session_out(ctx, who, session_id)


@router.patch("/{session_id}", response_model=schemas.SessionOut,
              summary="Set or clear the session's 主持人 (presider) and 记录人 (recorder) (organisers)")
def update(ctx: Ctx, who: CurrentUser, session_id: Id, body: schemas.SessionPeopleIn) -> schemas.SessionOut:
    ctx.study_sessions.set_people(who, session_id, **body.model_dump(include=body.model_fields_set))
    return session_out(ctx, who, session_id)


@router.post("/{session_id}/checkin-code", response_model=schemas.CheckinCode,
             summary="A fresh check-in token, short code and QR code for the organiser's screen")
def checkin_code(request: Request, ctx: Ctx, who: CurrentUser, session_id: Id) -> schemas.CheckinCode:
    import segno

    token, code, expires = ctx.study_sessions.issue_token(who, session_id)
    url = f"{str(request.base_url).rstrip('/')}/sessions/{session_id}/checkin?{urlencode({'token': token})}"
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="svg", scale=6, xmldecl=False, svgns=True, dark="#222",
                                   omitsize=True)  # a viewBox: the screen scales it to its size
    checked_in, expected = ctx.study_sessions.tally(who, session_id)
    seconds_left = max(0, round((expires - ctx.study_sessions.clock()).total_seconds()))
    return schemas.CheckinCode(token=token, code=code, expires_at=expires, url=url, qr_svg=buffer.getvalue().decode(),
                               seconds_left=seconds_left, checked_in=checked_in, expected=expected)


@router.post("/{session_id}/checkin", response_model=schemas.SessionOut, summary="Check in with a token or code")
def checkin(ctx: Ctx, who: CurrentUser, session_id: Id, body: schemas.CheckinIn) -> schemas.SessionOut:
    ctx.study_sessions.check_in(who, session_id, token=body.token, code=body.code)
    return session_out(ctx, who, session_id)


@router.post("/{session_id}/leave", response_model=schemas.SessionOut, summary="Ask for leave (请假)")
def leave(ctx: Ctx, who: CurrentUser, session_id: Id, body: schemas.LeaveIn) -> schemas.SessionOut:
    ctx.study_sessions.request_leave(who, session_id, body.reason)
    return session_out(ctx, who, session_id)


@router.post("/{session_id}/leave/{login}", response_model=schemas.SessionOut, summary="Approve or decline leave")
def decide_leave(ctx: Ctx, who: CurrentUser, session_id: Id, login: Annotated[str, Path(max_length=100)],
                 body: schemas.Decision) -> schemas.SessionOut:
    ctx.study_sessions.decide_leave(who, session_id, login, body.approve)
    return session_out(ctx, who, session_id)


@router.post("/{session_id}/attendance", response_model=schemas.SessionOut,
             summary="Mark attendance by hand, with the reason (audited)")
def mark(ctx: Ctx, who: CurrentUser, session_id: Id, body: schemas.MarkIn) -> schemas.SessionOut:
    ctx.study_sessions.mark(who, session_id, body.login, body.status, body.reason)
    return session_out(ctx, who, session_id)


@router.post("/{session_id}/makeup", response_model=schemas.SessionOut, summary="Submit make-up study (补学)")
def makeup(ctx: Ctx, who: CurrentUser, session_id: Id, body: schemas.MakeupIn) -> schemas.SessionOut:
    ctx.study_sessions.submit_makeup(who, session_id, body.reflection)
    return session_out(ctx, who, session_id)


@router.post("/{session_id}/makeup/{login}/confirm", response_model=schemas.SessionOut,
             summary="Confirm a member's make-up study")
def confirm_makeup(ctx: Ctx, who: CurrentUser, session_id: Id,
                   login: Annotated[str, Path(max_length=100)]) -> schemas.SessionOut:
    ctx.study_sessions.confirm_makeup(who, session_id, login)
    return session_out(ctx, who, session_id)


@router.put("/{session_id}/minutes", response_model=schemas.SessionOut, summary="Attach the minutes (会议记录)")
def minutes(ctx: Ctx, who: CurrentUser, session_id: Id, body: schemas.MinutesIn) -> schemas.SessionOut:
    ctx.study_sessions.set_minutes(who, session_id, body.minutes)
    return session_out(ctx, who, session_id)


@router.get("/{session_id}/record", response_class=Response, responses=PRINTED_RESPONSES,
            summary="The session's record for the record book (会议记录), DOCX or PDF (its organisers)")
def record(request: Request, ctx: Ctx, who: CurrentUser, session_id: Id,
           format: Literal["docx", "pdf"] = "docx") -> Response:
    found = ctx.records.session_record(who, session_id, _site(request))
    data = record_docx(found) if format == "docx" else record_pdf(found)
    ctx.accounts.audit("session_record_exported", who.id, f"session:{session_id}", {"format": format})
    return Response(data, media_type=PRINTED[format],
                    headers={"Content-Disposition": f'attachment; filename="session-record-{session_id}.{format}"'})


@router.post("/{session_id}/close", response_model=schemas.SessionOut,
             summary="Close the session: everyone expected and unrecorded is absent")
def close(ctx: Ctx, who: CurrentUser, session_id: Id) -> schemas.SessionOut:
    ctx.study_sessions.close(who, session_id)
    return session_out(ctx, who, session_id)


@stats_router.get("", response_model=schemas.StatisticsOut,
                  summary="Attendance per session, member and unit over a period (sessions you organise)")
def statistics(ctx: Ctx, who: CurrentUser, since: schemas.IsoDate | None = None,
               until: schemas.IsoDate | None = None) -> schemas.StatisticsOut:
    return statistics_out(ctx.study_sessions.statistics(who, *local_period(since, until, ctx.settings.zone)))


@stats_router.get("/export", summary="The statistics as CSV (one table) or XLSX (three sheets)",
                  response_class=Response,
                  responses={200: {"content": {"text/csv": {}, schemas.XLSX: {}}}})
def export(ctx: Ctx, who: CurrentUser, format: Literal["csv", "xlsx"] = "xlsx",
           table: Annotated[Literal["sessions", "members", "units"], Query()] = "sessions",
           since: schemas.IsoDate | None = None, until: schemas.IsoDate | None = None) -> Response:
    stats = ctx.study_sessions.statistics(who, *local_period(since, until, ctx.settings.zone))
    ctx.accounts.audit("attendance_exported", who.id, "attendance", {"format": format})
    if format == "csv":
        return Response(to_csv(stats, table, ctx.settings.zone), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="attendance-{table}.csv"'})
    return Response(to_xlsx(stats, ctx.settings.zone), media_type=schemas.XLSX,
                    headers={"Content-Disposition": 'attachment; filename="attendance.xlsx"'})


@units_router.get("/{unit_id}/ledger", response_class=Response, responses=PRINTED_RESPONSES,
                  summary="The unit's 三会一课 ledger (台账) over a quarter or a year, DOCX or PDF")
def ledger(request: Request, ctx: Ctx, who: CurrentUser, unit_id: Id,
           period: Annotated[str | None, Query(max_length=8, pattern=r"^[12]\d{3}(-?[Qq][1-4])?$",
                                               description="2026Q4 (a quarter) or 2026 (a year); default: this "
                                                           "quarter")] = None,
           format: Literal["docx", "pdf"] = "docx") -> Response:
    found = ctx.records.ledger(who, unit_id, period, _site(request))
    data = ledger_docx(found) if format == "docx" else ledger_pdf(found)
    ctx.accounts.audit("ledger_exported", who.id, f"unit:{unit_id}", {"period": found.period, "format": format})
    return Response(data, media_type=PRINTED[format], headers={
        "Content-Disposition": f'attachment; filename="ledger-{unit_id}-{found.period}.{format}"'})
