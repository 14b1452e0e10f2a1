"""What people type into the study forms, read into the values the services take: local times and whole
local days in the site's time zone (stored in UTC), and lists of logins ("li, wang，zhang")."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from study_hub.errors import StudyHubError


def local_time(value: str, zone) -> datetime:
    """A datetime-local field ("2026-12-01T14:30") read in ``zone``, as UTC; an explicit offset is kept."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise StudyHubError(f"{value!r} is not a date and time (YYYY-MM-DDTHH:MM)") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=zone)).astimezone(UTC)


def local_date(value: str) -> date | None:
    """A date field ("2026-12-01"); empty is None."""
    value = value.strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise StudyHubError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def local_period(since: date | None, until: date | None, zone) -> tuple[datetime | None, datetime | None]:
    """Whole local days (in ``zone``) from ``since`` to ``until`` inclusive, as aware UTC datetimes."""
    return (datetime.combine(since, time(), zone).astimezone(UTC) if since else None,
            (datetime.combine(until, time(), zone) + timedelta(days=1)).astimezone(UTC) if until else None)


def logins_from_text(text: str) -> list[str]:
    """Logins separated by spaces or commas (ASCII or full-width, as typed on a Chinese keyboard)."""
    return [login for login in re.split(r"[\s,，、;；]+", text) if login]
