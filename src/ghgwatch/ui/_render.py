"""What every page needs: the locale, the signed-in user, the CSRF token, the navigation and rendering."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

from ghgwatch import __version__, i18n
from ghgwatch.kit.problems import Problem
from ghgwatch.security.models import Role
from ghgwatch.security.principal import WRITERS, Principal
from ghgwatch.ui._strings import js_strings, label, table_label
from ghgwatch.web.context import context
from ghgwatch.web.deps import principal_from_token
from ghgwatch.web.sessions import cookie_token, csrf_token

DOMAIN = "ui"
LANG_COOKIE = "ghgwatch_lang"
TEMPLATES = Path(__file__).parent / "templates"
OPERATORS = frozenset({Role.ADMIN, Role.ENGINEER, Role.OPERATOR})
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; media-src 'self' data:; frame-ancestors 'none'; base-uri 'self'; "
       "form-action 'self'")
"""Every page may load and contact only its own server (the UI works offline, and nothing leaks)."""


@dataclass(frozen=True)
class NavItem:
    path: str
    label: str
    roles: frozenset[Role] = frozenset(Role)


class LoginRequired(Exception):
    """Raised by a page that needs a signed-in user; answered with a redirect to the sign-in page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


@dataclass(frozen=True)
class View:
    request: Request
    locale: str
    t: i18n.Translator
    actor: Principal | None
    csrf: str

    @property
    def can_write(self) -> bool:
        return self.actor is not None and self.actor.role in WRITERS

    @property
    def can_operate(self) -> bool:
        return self.actor is not None and self.actor.role in OPERATORS

    @property
    def is_admin(self) -> bool:
        return self.actor is not None and self.actor.role is Role.ADMIN


def locale_of(request: Request) -> str:
    chosen = request.cookies.get(LANG_COOKIE)
    return i18n.normalise_locale(chosen) if chosen else i18n.negotiate(request.headers.get("accept-language"))


async def viewer(request: Request) -> View:
    """The page's viewer; ``actor`` is None when nobody is signed in (or the session expired)."""
    ctx = context(request)
    locale = locale_of(request)
    token = cookie_token(request)
    actor: Principal | None = None
    if token:
        try:
            actor = await principal_from_token(token, ctx)
        except Problem:
            actor = None
    return View(request, locale, i18n.translator(locale, DOMAIN), actor,
                csrf_token(token, ctx.jwt_key) if token and actor else "")


async def signed_in(request: Request) -> View:
    """A page dependency: the viewer, who must be signed in."""
    view = await viewer(request)
    if view.actor is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target)
    return view


def login_url(next_path: str) -> str:
    return f"/login?next={quote(next_path, safe='/')}"


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    env.globals["version"] = __version__
    return env


def navigation(view: View) -> list[NavItem]:
    _ = view.t.gettext
    items = [
        NavItem("/", _("Overview")),
        NavItem("/monitoring", _("Monitoring")),
        NavItem("/board", _("Methane board")),
        NavItem("/alerts", _("Alerts")),
        NavItem("/work-orders", _("Work orders")),
        NavItem("/registry", _("Registry")),
        NavItem("/reference", _("Reference data")),
        NavItem("/inventory", _("Inventory")),
        NavItem("/analytics", _("Analytics")),
        NavItem("/flights", _("Flights and lab")),
        NavItem("/audit", _("Audit"), frozenset({Role.ADMIN, Role.AUDITOR})),
    ]
    return [i for i in items if view.actor is not None and view.actor.role in i.roles]


def render(view: View, template: str, title: str, *, status: int = 200, **data: Any) -> HTMLResponse:
    t = view.t
    html = environment().get_template(template).render(
        view=view, t=t, _=t.gettext, ngettext=t.ngettext, title=title, locale=view.locale,
        nav=navigation(view), path=view.request.url.path, strings=lambda: js_strings(t),
        role_label=lambda v: label(t, v), facility_type=lambda v: label(t, v), range_label=lambda v: label(t, v),
        table_label=lambda v: table_label(t, v), label=lambda v: label(t, v), **data)
    return HTMLResponse(html, status_code=status, headers={
        "Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
        "Cache-Control": "no-store", "Content-Language": view.locale})
