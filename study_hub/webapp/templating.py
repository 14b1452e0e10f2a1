"""The pages' Jinja environment (built by ``create_app``, not at import) and ``Page``, a request's renderer.

Templates and static files are package data (``study_hub/web``, the repository's ``web/`` folder), found
through the package, so an installed wheel serves the same pages as a checkout.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from markdown_it import MarkdownIt
from markupsafe import Markup

from study_hub.config import Settings
from study_hub.domain import KINDS, LEVELS, STATUSES
from study_hub.study.replies import MAX_REPLY
from study_hub.webapp.i18n import language_of, translator
from study_hub.webapp.messages import here, signed_message, with_signed_message

WEB_DIR = Path(str(files("study_hub") / "web"))


def build_templates(web_dir: Path = WEB_DIR) -> Jinja2Templates:
    templates = Jinja2Templates(directory=web_dir / "templates")
    # Notes are Markdown written by members: rendered with raw HTML disabled, so a note cannot inject markup.
    markdown = MarkdownIt("js-default")
    templates.env.filters["markdown"] = lambda text: Markup(markdown.render(text or ""))
    templates.env.globals["reply_limit"] = MAX_REPLY  # the reply forms' maxlength: the service's own limit
    return templates


def _local_formatter(zone):
    """For templates: ``local(moment, "%Y-%m-%d %H:%M")`` shows a stored (UTC) time in the site's zone."""
    def local(moment, pattern: str = "%Y-%m-%d %H:%M") -> str:
        if moment is None:
            return ""
        return (moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment).astimezone(zone).strftime(pattern)
    return local


class Page:
    """One request's page: renders a template with what every page shows (who is signed in, their CSRF token,
    the language), reads and writes the signed messages that travel across a redirect."""

    def __init__(self, request: Request, templates: Jinja2Templates, settings: Settings, signed: tuple | None,
                 new_replies: Callable[[Any], Any] | None = None):
        self.request = request
        self.templates = templates
        self.settings = settings
        self.user, self.csrf_token = signed if signed else (None, "")
        self.language = language_of(request)
        self._count_new_replies = new_replies
        self._new_replies: Any = None

    def new_replies(self):
        """The signed-in user's new replies (``Unread``: under their notes, under notes shared with them), for
        the header's badge and the notes page: one lookup a page, made only when a template asks."""
        if self.user is None or self._count_new_replies is None:
            return None
        if self._new_replies is None:
            self._new_replies = self._count_new_replies(self.user)
        return self._new_replies

    @property
    def here(self) -> str:
        """This page's path, safe to put in a link."""
        return here(self.request)

    def with_params(self, **changes) -> str:
        """This page's address with some query parameters changed (None: unchanged, "": dropped)."""
        params = dict(self.request.query_params)
        params.update({k: v for k, v in changes.items() if v is not None})
        return f"{self.here}?{urlencode({k: v for k, v in params.items() if v not in ('', None)})}"

    def render(self, template: str, status: int = 200, **values) -> HTMLResponse:
        response = self.templates.TemplateResponse(self.request, template, {
            "t": translator(self.language), "lang": self.language, "levels": LEVELS, "kinds": KINDS,
            "statuses": STATUSES,
            "user": self.user, "csrf_token": self.csrf_token, "new_replies": self.new_replies,
            "other_language_url": self.with_params(lang="en" if self.language == "zh" else "zh"),
            "local": _local_formatter(self.settings.zone), "time_zone": self.settings.time_zone, **values,
        }, status_code=status)
        if self.request.query_params.get("lang") in ("zh", "en"):
            response.set_cookie("lang", self.language, max_age=365 * 24 * 3600, samesite="lax", httponly=True)
        return response

    def error(self, status: int, message: str) -> HTMLResponse:
        return self.render("error.html", status=status, status_code=status, message=message)

    def message(self, name: str = "error") -> str:
        """The message ``name`` this site signed into the page's address, else ""."""
        return signed_message(self.settings.secret_key, self.request.query_params, name)

    def redirect(self, url: str, message: str = "", name: str = "error", **params: str) -> RedirectResponse:
        """See other (303) at ``url``, with a signed message ``name`` when there is one to show there."""
        if message:
            url = with_signed_message(self.settings.secret_key, url, name, message, **params)
        elif params:
            url = f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"
        return RedirectResponse(url, status_code=303)
