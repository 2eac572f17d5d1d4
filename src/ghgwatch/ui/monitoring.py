"""Monitoring: per facility, sensor tiles with live values and a chart from minutes to months (rollups)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from ghgwatch.ui._data import load_site
from ghgwatch.ui._render import View, render, signed_in
from ghgwatch.web.deps import Session

router = APIRouter()

RANGES = (("15m", 900), ("1h", 3600), ("6h", 6 * 3600), ("1d", 86400), ("7d", 7 * 86400),
          ("30d", 30 * 86400), ("90d", 90 * 86400))
"""Chart zoom steps; the readings API picks raw data, 1-minute, hourly or daily rollups for each."""


@router.get("/monitoring")
async def monitoring(view: Annotated[View, Depends(signed_in)], session: Session, facility: int | None = None,
                     sensor: int | None = None) -> HTMLResponse:
    assert view.actor is not None
    site = await load_site(session, view.actor)
    chosen = site.facility(facility) or (site.facilities[0] if site.facilities else None)
    sensors = [s for s in site.sensors if chosen is not None and s["facility_id"] == chosen["id"]]
    selected = sensor if any(s["id"] == sensor for s in sensors) else (sensors[0]["id"] if sensors else None)
    data = {"facility": chosen, "sensors": sensors, "selected": selected, "ranges": RANGES}
    return render(view, "monitoring.html", view.t.gettext("Monitoring"), site=site, chosen=chosen,
                  sensors=sensors, data=data, ranges=RANGES)
