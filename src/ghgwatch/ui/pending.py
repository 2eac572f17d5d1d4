"""Pages whose APIs are being built elsewhere: UAV flights and lab results.

Each page looks for its API in the running app; until the API exists it says so. When it arrives, the page
gets its template body and script (the route, navigation entry and translations are already here).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from ghgwatch.ui._render import View, render, signed_in

router = APIRouter()


def _has_api(request: Request, prefix: str) -> bool:
    return any(getattr(r, "path", "").startswith(prefix) for r in request.app.routes)


@router.get("/flights")
async def flights(request: Request, view: Annotated[View, Depends(signed_in)]) -> HTMLResponse:
    available = _has_api(request, "/api/v1/flights")
    return render(view, "pending.html", view.t.gettext("UAV flights and lab results"), available=available,
                  api="/api/v1/flights")
