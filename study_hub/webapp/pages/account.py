"""Signing in and out.

The sign-in form itself (no session yet) uses a double-submit token: a random nonce in a cookie and its HMAC
under ``STUDY_HUB_SECRET_KEY`` in the form.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from study_hub.accounts import LoginFailed, LoginThrottled
from study_hub.errors import PermissionDenied, StudyHubError
from study_hub.webapp.deps import FORM_POST, PASSWORD_PAGE, SESSION_COOKIE, Ctx, CurrentUser, PageDep, client_ip
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
    target = safe_next(next)
    if user.must_change_password:  # a one-time password: first a password of their own, then where they were going
        target = f"{PASSWORD_PAGE}?{urlencode({'next': target})}"
    response = RedirectResponse(target, status_code=303)
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


@router.get(PASSWORD_PAGE, response_class=HTMLResponse)
def password_page(page: PageDep, who: CurrentUser, next: str = "/") -> Response:
    return page.render("password.html", next=safe_next(next), one_time=who.must_change_password,
                       error=page.message())


@router.post(PASSWORD_PAGE, dependencies=FORM_POST)
def change_password(request: Request, page: PageDep, ctx: Ctx, who: CurrentUser,
                    current_password: Annotated[str, Form(max_length=1000)],
                    new_password: Annotated[str, Form(max_length=1000)],
                    repeat_password: Annotated[str, Form(max_length=1000)],
                    next: Annotated[str, Form(max_length=1000)] = "/") -> Response:
    try:
        if new_password != repeat_password:
            raise StudyHubError("the two new passwords differ")
        ctx.accounts.change_own_password(who, current_password, new_password,
                                         keep_session=request.cookies.get(SESSION_COOKIE), ip=client_ip(request))
    except StudyHubError as exc:
        return page.redirect(PASSWORD_PAGE, str(exc), next=safe_next(next))
    return RedirectResponse(safe_next(next), status_code=303)
