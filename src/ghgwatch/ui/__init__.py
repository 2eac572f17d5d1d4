"""The web UI: server-rendered pages (Jinja2) whose scripts talk to the REST API with the session cookie.

One module per page (its routes and the view data it builds from the domain services), templates in
``templates/``, scripts and styles in ``static/`` with vendored libraries and their licences in
``static/vendor/``. Nothing in a domain package imports this package. See docs/ui.md and ADR 0011.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from ghgwatch.ui._render import LoginRequired, login_url

STATIC = Path(__file__).parent / "static"
UI_ROLES = frozenset({"all", "ui"})
PAGES = (
    "ghgwatch.ui.auth",
    "ghgwatch.ui.overview",
    "ghgwatch.ui.monitoring",
    "ghgwatch.ui.board",
    "ghgwatch.ui.alerts",
    "ghgwatch.ui.registry",
    "ghgwatch.ui.reference",
    "ghgwatch.ui.minedb",
    "ghgwatch.ui.inventory",
    "ghgwatch.ui.analytics",
    "ghgwatch.ui.audit",
    "ghgwatch.ui.workorders",
    "ghgwatch.ui.flights",
)


class CachedStatic(StaticFiles):
    """Static files a browser keeps for a day: pages link them with ``?v=<version>``, so an upgrade is seen."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "public, max-age=86400"
        return response


def pages_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)
    for module in PAGES:
        router.include_router(importlib.import_module(module).router)
    return router


async def _to_login(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    return RedirectResponse(login_url(exc.next_path), status_code=303)


def install(app: FastAPI, role: str) -> None:
    """Static files and the local API docs for every role; the pages for the ``ui`` and ``all`` roles."""
    from ghgwatch.ui import docs

    app.mount("/static", CachedStatic(directory=STATIC), name="static")
    docs.install(app)
    if role in UI_ROLES:
        app.add_exception_handler(LoginRequired, _to_login)
        app.include_router(pages_router())
