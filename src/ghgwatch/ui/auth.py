"""Sign in, sign out and the language switch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from ghgwatch import i18n
from ghgwatch.kit.problems import Problem
from ghgwatch.security.accounts import client_address, sign_in
from ghgwatch.security.tokens import Claims, issue_jwt
from ghgwatch.ui._render import LANG_COOKIE, render, viewer
from ghgwatch.web.context import context
from ghgwatch.web.sessions import (
    close_session,
    cookie_token,
    csrf_matches,
    login_csrf_matches,
    new_login_csrf,
    open_session,
    set_login_csrf,
)

router = APIRouter()


def _safe_next(value: str | None) -> str:
    """Only a path on this server (no ``//host`` or scheme): the sign-in page is no open redirect."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


async def _login_page(request: Request, next_path: str, error: str = "", status: int = 200) -> Response:
    view = await viewer(request)
    token = new_login_csrf()
    response = render(view, "login.html", view.t.gettext("Sign in"), status=status, next_path=next_path,
                      error=error, login_csrf=token)
    set_login_csrf(response, request, token)
    return response


@router.get("/login")
async def login_form(request: Request, next: str | None = None) -> Response:
    return await _login_page(request, _safe_next(next))


@router.post("/login")
async def login(request: Request, username: Annotated[str, Form()], password: Annotated[str, Form()],
                csrf_token: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/") -> Response:
    view = await viewer(request)
    if not login_csrf_matches(request, csrf_token):
        return await _login_page(request, _safe_next(next), view.t.gettext("The form expired; please try again."), 400)
    ctx = context(request)
    try:
        user = await sign_in(ctx.db, ctx.extras, ctx.settings.security, address=client_address(request.client),
                             username=username, password=password)
    except Problem as exc:
        if exc.status != 429:
            raise
        return await _login_page(request, _safe_next(next),
                                 view.t.gettext("Too many sign-in attempts; please wait and try again."), 429)
    if user is None:
        return await _login_page(request, _safe_next(next), view.t.gettext("Wrong username or password."), 401)
    ttl = ctx.settings.security.jwt_ttl_s
    token = issue_jwt(Claims(user.id, user.username, user.role.value, user.organization_id, user.token_version),
                      ctx.jwt_key, ttl)
    response = RedirectResponse(_safe_next(next), status_code=303)
    open_session(response, request, token, ttl)
    return response


@router.post("/logout")
async def logout(request: Request, csrf_token: Annotated[str, Form()] = "") -> Response:
    token = cookie_token(request)
    response = RedirectResponse("/login", status_code=303)
    if token and csrf_matches(csrf_token, token, context(request).jwt_key):
        close_session(response)
    return response


@router.get("/lang/{code}")
async def switch_language(code: str, next: str | None = None) -> Response:
    """Remember the chosen language for a year (a preference, not a change of data)."""
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(LANG_COOKIE, i18n.normalise_locale(code), max_age=365 * 86400, samesite="lax", path="/")
    return response
