"""A study session with its attendance, and attendance statistics, as the API and the pages show them."""

from __future__ import annotations

from study_hub.store.models import aware
from study_hub.study.sessions import SESSION_KINDS, Statistics
from study_hub.webapp import schemas
from study_hub.webapp.context import AppContext


def session_out(ctx: AppContext, who, session_id: int) -> schemas.SessionOut:
    study = ctx.study_sessions.get(who, session_id)
    records = ctx.study_sessions.records(who, study)
    people = {role: schemas.PersonRef(login=user.login, display_name=user.display_name) if user else None
              for role, user in ctx.study_sessions.people(study).items()}
    return schemas.SessionOut(
        id=study.id, title=study.title, kind=study.kind, kind_name=SESSION_KINDS.get(study.kind, study.kind),
        starts_at=aware(study.starts_at), ends_at=aware(study.ends_at), place=study.place,
        online_link=study.online_link,
        host_unit_id=study.host_unit_id, reading_list_id=study.reading_list_id, agenda=study.agenda,
        minutes=study.minutes, closed=study.closed_at is not None,
        manageable=ctx.study_sessions.can_manage(who, study), **people,
        attendance=[schemas.AttendanceOut(
            login=user.login, display_name=user.display_name, status=record.status if record else None,
            checked_in_at=aware(record.checked_in_at) if record and record.checked_in_at else None,
            method=record.method if record else "",
            leave_reason=record.leave_reason if record else "",
            makeup_reflection=record.makeup_reflection if record else "",
            makeup_confirmed=bool(record and record.makeup_confirmed_at)) for user, record in records])


def statistics_out(stats: Statistics) -> schemas.StatisticsOut:
    def person(p) -> schemas.PersonCountsOut:
        return schemas.PersonCountsOut(name=p.login, display_name=p.display_name, units=p.units, expected=p.expected,
                                       attended=p.attended, late=p.late, excused=p.excused, absent=p.absent,
                                       made_up=p.made_up, rate=p.rate)
    return schemas.StatisticsOut(
        sessions=[schemas.SessionCountsOut(**s.__dict__) for s in stats.sessions],
        members=[person(p) for p in stats.members], units=[person(u) for u in stats.units])
