"""The control-room methane board: every methane sensor of a mine against its limit, updated every second."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from ghgwatch.ui._data import load_site
from ghgwatch.ui._render import View, render, signed_in
from ghgwatch.web.deps import Session

router = APIRouter()


@router.get("/board")
async def board(view: Annotated[View, Depends(signed_in)], session: Session,
                facility: int | None = None) -> HTMLResponse:
    assert view.actor is not None
    site = await load_site(session, view.actor)
    mines = [f for f in site.facilities if any(s["kind"] == "methane" and s["facility_id"] == f["id"]
                                               for s in site.sensors)]
    chosen = site.facility(facility) or (mines[0] if mines else None)
    sensors = [s for s in site.sensors
               if chosen is not None and s["facility_id"] == chosen["id"] and s["kind"] == "methane"]
    data = {"facility": chosen, "sensors": sensors}
    return render(view, "board.html", view.t.gettext("Methane board"), mines=mines, chosen=chosen,
                  sensors=sensors, data=data)
