"""Signing in and out.

The sign-in form itself (no session yet) uses a double-submit token: a random nonce in a cookie and its HMAC
under ``STUDY_HUB_SECRET_KEY`` in the form.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from study_hub.accounts import LoginFailed, LoginThrottled
from study_hub.errors import PermissionDenied
from study_hub.webapp.deps import FORM_POST, SESSION_COOKIE, Ctx, CurrentUser, PageDep, client_ip
from study_hub.webapp.messages import safe_next

LOGIN_NONCE_COOKIE = "study_hub_login_nonce"

router = APIRouter(include_in_schema=False)


def _login_token(secret: str, nonce: str) -> str:
    return hmac.new(secret.encode(), f"login:{nonce}".encode(), hashlib.sha256).hexdigest()


@router.get("/login", response_class=HTMLResponse)
def login_page(page: PageDep, ctx: Ctx, next: str = "/") -> Response:
    nonce = secrets.token_urlsafe(16)
    response = page.render("login.html", next=safe_next(next), error=page.message(),
                           login_token=_login_token(ctx.settings.secret_key, nonce))
    response.set_cookie(LOGIN_NONCE_COOKIE, nonce, max_age=3600, httponly=True, samesite="lax",
                        secure=ctx.settings.environment == "production", path="/login")
    return response


@router.post("/login")
def login(request: Request, page: PageDep, ctx: Ctx, login: Annotated[str, Form(max_length=100)],
          password: Annotated[str, Form(max_length=1000)], csrf_token: Annotated[str, Form(max_length=200)] = "",
          next: Annotated[str, Form(max_length=1000)] = "/") -> Response:
    nonce = request.cookies.get(LOGIN_NONCE_COOKIE, "")
    if not nonce or not hmac.compare_digest(csrf_token, _login_token(ctx.settings.secret_key, nonce)):
        raise PermissionDenied("the sign-in form has expired; reload the page and try again")
    try:
        user = ctx.accounts.authenticate(login.strip(), password, ip=client_ip(request))
    except (LoginFailed, LoginThrottled) as exc:
        return page.redirect("/login", str(exc), next=safe_next(next))
    token, _ = ctx.accounts.start_session(user)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(SESSION_COOKIE, token, max_age=int(ctx.settings.session_hours * 3600), httponly=True,
                        samesite="lax", secure=ctx.settings.environment == "production")
    response.delete_cookie(LOGIN_NONCE_COOKIE, path="/login")
    return response


@router.post("/logout", dependencies=FORM_POST)
def logout(request: Request, ctx: Ctx, who: CurrentUser) -> Response:
    ctx.accounts.end_session(request.cookies.get(SESSION_COOKIE), actor=who, ip=client_ip(request))
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response
