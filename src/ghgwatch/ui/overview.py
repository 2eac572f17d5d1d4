"""Overview: the map of the organisation's facilities, sensors coloured by state, open alerts, latest values."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from ghgwatch.readings import query
from ghgwatch.reference.geometry import mine_features
from ghgwatch.ui._data import load_site
from ghgwatch.ui._map import build_map
from ghgwatch.ui._render import View, render, signed_in
from ghgwatch.web.deps import Session

router = APIRouter()


@router.get("/")
async def overview(view: Annotated[View, Depends(signed_in)], session: Session) -> HTMLResponse:
    assert view.actor is not None
    site = await load_site(session, view.actor)
    mines = {f["gem_mine_id"] for f in site.facilities if f["gem_mine_id"]}
    svg = build_map(mine_features(mines), site.sources, site.facilities)
    # The latest values are in the first answer, so the page is useful before its script asks for fresh ones.
    values = await query.latest(session, [s["id"] for s in site.sensors])
    latest = {sid: {"value": v.value, "ts": query.from_us(v.ts)} for sid, v in values.items()}
    names = {f["id"]: f["name"] for f in site.facilities}
    return render(view, "overview.html", view.t.gettext("Overview"), site=site, svg=svg, latest=latest,
                  facility_names=names)
