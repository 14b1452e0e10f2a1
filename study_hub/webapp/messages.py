"""Messages carried across a redirect (``…?error=…``), signed so that only this site's own words are shown,
and the safe form of the links a page builds from its own address.

A form that fails redirects back with the reason in the query string. Shown as it came, that let any link put
any words on the site's own pages (``/login?error=Your+account+is+locked,+call+…``: phishing with our
address bar). So the redirect carries the message and an HMAC of it under the site's secret key
(``with_signed_message``); a page shows a message only when the HMAC matches (``signed_message``).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import urlencode

from fastapi import Request

MAX_MESSAGE = 500


def _signature(secret: str, name: str, text: str) -> str:
    return hmac.new(secret.encode(), f"{name}\0{text}".encode(), hashlib.sha256).hexdigest()[:32]


def with_signed_message(secret: str, url: str, name: str, text: str, **params: str) -> str:
    """``url`` with ``params`` and the signed message ``name`` (e.g. "error") appended to its query."""
    text = text[:MAX_MESSAGE]
    query = urlencode({**params, name: text, f"{name}_sig": _signature(secret, name, text)})
    return f"{url}{'&' if '?' in url else '?'}{query}"


def signed_message(secret: str, query: Mapping[str, str], name: str = "error") -> str:
    """The message ``name`` of a page's query if this site signed it, else ""."""
    text = query.get(name, "")
    given = query.get(f"{name}_sig", "")
    if not text or not given:
        return ""
    return text if hmac.compare_digest(given, _signature(secret, name, text)) else ""


def safe_next(target: str | None, default: str = "/") -> str:
    """Where to send a browser after a form: only a path on this site, never "//evil.example" or
    "https://…" (an open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


def here(request: Request) -> str:
    """The path this request was routed to, safe to put in a link: a path like //evil.example/x or /\\evil
    (which browsers read as another host) becomes "/" (the same rule as redirects, ``safe_next``)."""
    return safe_next(request.url.path)
