"""Messages carried across a redirect (``…?error=…``), signed so that only this site's own words are shown.

A form that fails redirects back with the reason in the query string. Shown as it came, that let any link put
any words on the site's own pages (``/login?error=Your+account+is+locked,+call+…``: phishing with our
address bar). So the redirect carries the message and an HMAC of it under the site's secret key
(``with_message``); a page shows a message only when the HMAC matches (``message``), otherwise nothing.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlencode

from fastapi import Request

MAX_MESSAGE = 500


def _signature(secret: str, name: str, text: str) -> str:
    return hmac.new(secret.encode(), f"{name}\0{text}".encode(), hashlib.sha256).hexdigest()[:32]


def with_message(request: Request, url: str, name: str, text: str, **params: str) -> str:
    """``url`` with ``params`` and the signed message ``name`` (e.g. "error") appended to its query."""
    text = text[:MAX_MESSAGE]
    secret = request.app.state.context.settings.secret_key
    query = urlencode({**params, name: text, f"{name}_sig": _signature(secret, name, text)})
    return f"{url}{'&' if '?' in url else '?'}{query}"


def message(request: Request, name: str = "error") -> str:
    """The message ``name`` of this request's query if this site signed it, else ""."""
    text = request.query_params.get(name, "")
    given = request.query_params.get(f"{name}_sig", "")
    if not text or not given:
        return ""
    secret = request.app.state.context.settings.secret_key
    return text if hmac.compare_digest(given, _signature(secret, name, text)) else ""


def here(request: Request) -> str:
    """The path this request was routed to, safe to put in a link: a path like //evil.example/x or /\\evil
    (which browsers read as another host) becomes "/" (the same rule as redirects, ``auth.safe_next``)."""
    from study_hub.webapp.auth import safe_next

    return safe_next(request.url.path)
