"""Analytics: forecasts with intervals, backtest metrics and the model registry, gap filling, correlations.

Forecasts, models and gap filling come from the analytics API (page scripts); the correlation heat map is
built here from the stored 1-minute rollups with the analytics package's own ``correlate``.
"""

from __future__ import annotations

import asyncio
import math
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession

from ghgwatch.kit.timeutil import utcnow
from ghgwatch.ui._data import Site, load_site
from ghgwatch.ui._render import View, render, signed_in
from ghgwatch.web.deps import Session

router = APIRouter()
TABS = ("forecasts", "models", "gaps", "correlation")
MAX_MATRIX = 16
"""Sensors in one heat map (readable on a screen; the work grows with the square)."""


async def correlation_matrix(session: AsyncSession, sensors: list[dict[str, Any]], hours: float,
                             max_lag: int) -> list[list[dict[str, Any] | None]]:
    """Best-lag Pearson r of every pair of sensors over the last ``hours`` of 1-minute rollups."""
    import pandas as pd

    from ghgwatch.analytics import series
    from ghgwatch.analytics.correlation import correlate

    end = utcnow()
    start = end - timedelta(hours=hours)
    columns = {}
    for s in sensors:
        raw = await series.rollup_series(session, s["id"], start, end, "1m")
        if not raw.empty:
            columns[str(s["id"])] = raw
    table = pd.DataFrame(columns)

    def by_target() -> dict[str, dict[str, Any]]:
        if len(table.columns) < 2:
            return {}
        return {key: {c["column"]: c for c in correlate(table, key, max_lag)["columns"]} for key in table.columns}

    every = await asyncio.to_thread(by_target)  # CPU work off the event loop (the server keeps ingesting)
    matrix: list[list[dict[str, Any] | None]] = []
    for s in sensors:
        found = every.get(str(s["id"]), {})
        row: list[dict[str, Any] | None] = []
        for other in sensors:
            if other["id"] == s["id"]:
                row.append({"r": 1.0, "lag": 0})
                continue
            c = found.get(str(other["id"]))
            r = None if c is None else c["best"]["pearson"]
            row.append(None if r is None or not math.isfinite(r) else {"r": r, "lag": c["best_lag"]})  # type: ignore[index]
        matrix.append(row)
    return matrix


PANEL_STEPS = (10, 20, 30, 40, 50, 60)


async def mapping_panels(session: AsyncSession, organization_id: int | None, facility_id: int | None
                         ) -> list[dict[str, Any]]:
    """The latest forecast of each forecast mapping of the facility, every 10 minutes ahead (issue 14)."""
    from ghgwatch.analytics import mapping

    panels = []
    for row in await mapping.listing(session, organization_id=organization_id, facility_id=facility_id):
        found = await mapping.latest_forecast(session, row)
        panel: dict[str, Any] = {"name": row.name, "target": row.target_sensor_id, "rows": []}
        if found is not None:
            forecast, model = found
            panel |= {"version": model.version, "origin": forecast.origin,
                      "rows": [{"minutes": h, **forecast.points[h - 1]} for h in PANEL_STEPS
                               if h <= len(forecast.points)]}
        panels.append(panel)
    return panels


def heat(r: float) -> str:
    """Blue (negative) to white to red (positive); text stays dark, so contrast holds at every value."""
    a = min(abs(r), 1.0)
    return f"rgba(185, 28, 28, {a * 0.7:.2f})" if r >= 0 else f"rgba(29, 78, 216, {a * 0.7:.2f})"


@router.get("/analytics")
async def analytics(view: Annotated[View, Depends(signed_in)], session: Session, tab: str = "forecasts",
                    facility: int | None = None, hours: Annotated[float, Query(gt=0, le=720)] = 6.0,
                    max_lag: Annotated[int, Query(ge=0, le=120)] = 10, kind: str = "methane") -> HTMLResponse:
    assert view.actor is not None
    tab = tab if tab in TABS else "forecasts"
    site: Site = await load_site(session, view.actor)
    chosen = site.facility(facility) or (site.facilities[0] if site.facilities else None)
    sensors = [s for s in site.sensors if chosen is not None and s["facility_id"] == chosen["id"]
               and (not kind or s["kind"] == kind)][:MAX_MATRIX]
    matrix = await correlation_matrix(session, sensors, hours, max_lag) if tab == "correlation" else []
    panels = (await mapping_panels(session, view.actor.org_filter(), chosen["id"] if chosen else None)
              if tab == "forecasts" else [])
    data = {"sensors": site.sensors, "facility": chosen, "can_write": view.can_write, "tab": tab}
    return render(view, "analytics.html", view.t.gettext("Analytics"), tab=tab, site=site, chosen=chosen,
                  sensors=sensors, matrix=matrix, hours=hours, kind=kind, max_lag=max_lag, heat=heat, data=data,
                  panels=panels, names={s["id"]: s["name"] for s in site.sensors})
