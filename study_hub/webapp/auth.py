"""Signing in and out, who is asking, and CSRF protection.

- The session cookie (``study_hub_session``) holds a random token: HttpOnly, SameSite=Lax, Secure in
  production; the server keeps its SHA-256, its expiry and the session's CSRF token (``AccountService``).
- Every state-changing request of a signed-in user carries the session's CSRF token: forms in a hidden
  ``csrf_token`` field, the JSON API in the ``X-CSRF-Token`` header (pages put it in a <meta> tag).
- The sign-in form itself (no session yet) uses a double-submit token: a random nonce in a cookie and its
  HMAC under ``STUDY_HUB_SECRET_KEY`` in the form.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from study_hub.accounts import LoginFailed, LoginThrottled, Principal
from study_hub.errors import NotSignedIn, PermissionDenied
from study_hub.webapp.context import AppContext, Ctx
from study_hub.webapp.messages import message, with_message

SESSION_COOKIE = "study_hub_session"
LOGIN_NONCE_COOKIE = "study_hub_login_nonce"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

router = APIRouter(include_in_schema=False)


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def signed_in(request: Request, ctx: AppContext) -> tuple[Principal, str] | None:
    """(who, their CSRF token), looked up once per request."""
    if not hasattr(request.state, "signed_in"):
        request.state.signed_in = ctx.accounts.session_of(request.cookies.get(SESSION_COOKIE))
    return request.state.signed_in


def optional_user(request: Request, ctx: Ctx) -> Principal | None:
    found = signed_in(request, ctx)
    return found[0] if found else None


def require_user(request: Request, ctx: Ctx) -> Principal:
    """The signed-in user; for a state-changing request, also a valid CSRF token (header or form field)."""
    found = signed_in(request, ctx)
    if found is None:
        raise NotSignedIn("sign in first (/login)")
    who, csrf = found
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


def _login_token(secret: str, nonce: str) -> str:
    return hmac.new(secret.encode(), f"login:{nonce}".encode(), hashlib.sha256).hexdigest()


def safe_next(target: str | None, default: str = "/") -> str:
    """Where to send a browser after a form: only a path on this site, never "//evil.example" or
    "https://…" (an open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, ctx: Ctx, next: str = "/") -> Response:
    from study_hub.webapp.pages import render

    nonce = secrets.token_urlsafe(16)
    response = render(request, "login.html", next=safe_next(next), error=message(request),
                      login_token=_login_token(ctx.settings.secret_key, nonce))
    response.set_cookie(LOGIN_NONCE_COOKIE, nonce, max_age=3600, httponly=True, samesite="lax",
                        secure=ctx.settings.environment == "production", path="/login")
    return response


@router.post("/login")
def login(request: Request, ctx: Ctx, login: Annotated[str, Form(max_length=100)],
          password: Annotated[str, Form(max_length=1000)], csrf_token: Annotated[str, Form(max_length=200)] = "",
          next: Annotated[str, Form(max_length=1000)] = "/") -> Response:
    nonce = request.cookies.get(LOGIN_NONCE_COOKIE, "")
    if not nonce or not hmac.compare_digest(csrf_token, _login_token(ctx.settings.secret_key, nonce)):
        raise PermissionDenied("the sign-in form has expired; reload the page and try again")
    try:
        user = ctx.accounts.authenticate(login.strip(), password, ip=client_ip(request))
    except (LoginFailed, LoginThrottled) as exc:
        return RedirectResponse(with_message(request, "/login", "error", str(exc), next=safe_next(next)),
                                status_code=303)
    token, _ = ctx.accounts.start_session(user)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(SESSION_COOKIE, token, max_age=int(ctx.settings.session_hours * 3600), httponly=True,
                        samesite="lax", secure=ctx.settings.environment == "production")
    response.delete_cookie(LOGIN_NONCE_COOKIE, path="/login")
    return response


async def remember_form_csrf(request: Request) -> None:
    """For form posts: keep the form's csrf_token where ``require_user`` looks for it."""
    form = await request.form()
    request.state.form_csrf = str(form.get("csrf_token", ""))


FORM_POST = [Depends(remember_form_csrf)]  # the route dependencies of every page form that changes something


@router.post("/logout", dependencies=FORM_POST)
def logout(request: Request, ctx: Ctx, who: CurrentUser) -> Response:
    ctx.accounts.end_session(request.cookies.get(SESSION_COOKIE), actor=who, ip=client_ip(request))
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response
