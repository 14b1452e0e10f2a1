"""The request dependencies of every router, as ``Annotated`` aliases: the app's services (``Ctx``), its
settings, who is asking (``OptionalUser``, ``CurrentUser``, with the CSRF check) and the page renderer (``Page``).

- The session cookie (``study_hub_session``) holds a random token: HttpOnly, SameSite=Lax, Secure in
  production; the server keeps its SHA-256, its expiry and the session's CSRF token (``AccountService``).
- Every state-changing request of a signed-in user carries the session's CSRF token: forms in a hidden
  ``csrf_token`` field (``FORM_POST`` reads it), the JSON API in the ``X-CSRF-Token`` header (pages put it in
  a <meta> tag).
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request

from study_hub.accounts import Principal
from study_hub.config import Settings
from study_hub.errors import NotSignedIn, PasswordChangeRequired, PermissionDenied
from study_hub.webapp.context import AppContext
from study_hub.webapp.templating import Page

SESSION_COOKIE = "study_hub_session"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
PASSWORD_PAGE = "/account/password"
# What someone signed in with a one-time password may reach before replacing it: the form that replaces it,
# the API that does, who they are (for the CSRF token) and signing out.
BEFORE_NEW_PASSWORD = {PASSWORD_PAGE, "/api/me/password", "/api/me", "/logout"}


def get_context(request: Request) -> AppContext:
    return request.app.state.context


Ctx = Annotated[AppContext, Depends(get_context)]


def get_settings(ctx: Ctx) -> Settings:
    return ctx.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def signed_in(request: Request, ctx: AppContext) -> tuple[Principal, str] | None:
    """(who, their CSRF token), looked up once per request."""
    if not hasattr(request.state, "signed_in"):
        request.state.signed_in = ctx.accounts.session_of(request.cookies.get(SESSION_COOKIE))
    return request.state.signed_in


def _one_time_password_replaced(request: Request, who: Principal) -> None:
    """A one-time password is good for one thing: setting one's own (everything else waits until then)."""
    if who.must_change_password and request.url.path not in BEFORE_NEW_PASSWORD:
        raise PasswordChangeRequired("you signed in with a one-time password: set your own password first "
                                     f"({PASSWORD_PAGE}, or POST /api/me/password)")


def optional_user(request: Request, ctx: Ctx) -> Principal | None:
    found = signed_in(request, ctx)
    if found:
        _one_time_password_replaced(request, found[0])
    return found[0] if found else None


def require_user(request: Request, ctx: Ctx) -> Principal:
    """The signed-in user; for a state-changing request, also a valid CSRF token (header or form field)."""
    found = signed_in(request, ctx)
    if found is None:
        raise NotSignedIn("sign in first (/login)")
    who, csrf = found
    _one_time_password_replaced(request, who)
    if request.method in UNSAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not sent and request.headers.get("content-type", "").startswith(
                ("application/x-www-form-urlencoded", "multipart/form-data")):
            sent = getattr(request.state, "form_csrf", "")
        if not sent or not hmac.compare_digest(sent, csrf):
            raise PermissionDenied("the request lacks this session's CSRF token; reload the page and try again")
    return who


OptionalUser = Annotated[Principal | None, Depends(optional_user)]
CurrentUser = Annotated[Principal, Depends(require_user)]


async def remember_form_csrf(request: Request) -> None:
    """For form posts: keep the form's csrf_token where ``require_user`` looks for it."""
    form = await request.form()
    request.state.form_csrf = str(form.get("csrf_token", ""))


FORM_POST = [Depends(remember_form_csrf)]  # the route dependencies of every page form that changes something


def page_of(request: Request) -> Page:
    """The renderer of this request's page."""
    ctx = get_context(request)
    return Page(request, ctx.templates, ctx.settings, signed_in(request, ctx), new_replies=ctx.replies.unread)


def error_page_of(request: Request) -> Page:
    """The renderer of an error page: shown signed out when who is asking cannot be looked up (the database
    being down is one of the errors it shows)."""
    ctx = get_context(request)
    try:
        found = signed_in(request, ctx)
    except Exception:
        found = None
    return Page(request, ctx.templates, ctx.settings, found)


PageDep = Annotated[Page, Depends(page_of)]
