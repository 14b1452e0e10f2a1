"""Small readings of a page's query that several pages share."""

from __future__ import annotations

from study_hub.accounts.policy import may_organise
from study_hub.search.service import MAX_PAGE


def page_number(value: str | None) -> int:
    """A result page number from the query string: 1 when missing or not a number, at most ``MAX_PAGE``."""
    try:
        return min(max(int(value or 1), 1), MAX_PAGE)
    except ValueError:
        return 1


def my_lists(ctx, who) -> list:
    """The lists an organiser can add to from search results and the reader."""
    return ctx.reading_lists.lists_for(who)[1] if who and may_organise(who) else []
