"""Alerts: list with filters, acknowledge with a comment, resolve, history; new alarms appear live."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from ghgwatch.ui._data import load_site
from ghgwatch.ui._render import View, render, signed_in
from ghgwatch.web.deps import Session

router = APIRouter()


@router.get("/alerts")
async def alerts(view: Annotated[View, Depends(signed_in)], session: Session, id: int | None = None) -> HTMLResponse:
    assert view.actor is not None
    site = await load_site(session, view.actor)
    data = {"facilities": site.facilities, "sensors": [{"id": s["id"], "name": s["name"]} for s in site.sensors],
            # Leak alerts from UAV flights concern a source, not a sensor (GW.alertSubject in app.js).
            "sources": [{"id": s["id"], "name": s["name"], "facility_id": s["facility_id"]} for s in site.sources],
            "can_operate": view.can_operate, "focus": id}
    return render(view, "alerts.html", view.t.gettext("Alerts"), site=site, data=data)
