"""A reading list with the asker's progress, and the progress of a unit's members, as the API and the pages
show them."""

from __future__ import annotations

from collections import defaultdict

from study_hub.study.reading_lists import MemberProgress
from study_hub.webapp import schemas
from study_hub.webapp.context import AppContext


def list_out(ctx: AppContext, who, list_id: int) -> schemas.ReadingListOut:
    reading_list = ctx.reading_lists.get(who, list_id)
    mine = ctx.reading_lists.my_progress(who, list_id)
    items = [schemas.ReadingItemOut(
        id=item.id, position=item.position, kind=item.kind, document_id=item.document_id,
        passage_id=item.passage_id, heading_path=item.heading_path, query=item.query, title=item.title,
        guide=item.guide, due=item.due, url=f"/lists/{list_id}/items/{item.id}/open", orphaned=item.orphaned,
        opened=bool(mine.get(item.id) and mine[item.id].opened_at),
        studied=bool(mine.get(item.id) and mine[item.id].studied_at)) for item in reading_list.items]
    return schemas.ReadingListOut(id=reading_list.id, title=reading_list.title,
                                  description=reading_list.description, unit_id=reading_list.unit_id,
                                  manageable=ctx.reading_lists.can_manage(who, reading_list), items=items)


def unit_summary(members: list[MemberProgress]) -> list[schemas.UnitProgressOut]:
    by_unit: dict[str, list[MemberProgress]] = defaultdict(list)
    for member in members:
        for unit in member.units or ["—"]:
            by_unit[unit].append(member)
    return [schemas.UnitProgressOut(unit=unit, members=len(group),
                                    completed=sum(m.items > 0 and m.studied == m.items for m in group),
                                    average_percent=round(sum(m.percent for m in group) / len(group)))
            for unit, group in sorted(by_unit.items())]


def progress_out(members: list[MemberProgress]) -> schemas.Progress:
    return schemas.Progress(members=[schemas.MemberProgressOut(
        login=m.login, display_name=m.display_name, units=m.units, opened=m.opened, studied=m.studied,
        notes=m.notes, items=m.items, percent=m.percent) for m in members], units=unit_summary(members))
