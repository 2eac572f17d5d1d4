"""UAV flights and lab results: flight list with upload, a flight's track and result, lab results with import.

Every figure comes from the existing endpoints, called here as functions with the viewer as the caller (so
their organisation scoping holds: another organisation's flight is a 404): ``uav.endpoints`` (flights),
``uav.leak`` (the measured emission a flight became) and ``lab.endpoints`` (lab results). Uploads, imports and
"record as measured emission" are posted by ``static/js/flights.js`` to the same API.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse

from ghgwatch.i18n import N_
from ghgwatch.kit.timeutil import ensure_utc
from ghgwatch.lab import endpoints as lab_api
from ghgwatch.uav import endpoints as flight_api
from ghgwatch.uav.leak import measured_emissions
from ghgwatch.uav.result import Method, Refusal
from ghgwatch.ui._data import load_site
from ghgwatch.ui._render import View, render, signed_in
from ghgwatch.ui._track import build_track
from ghgwatch.web.deps import Session

router = APIRouter()
TABS = ("flights", "lab")
PAGE = 50
EMISSION_WINDOW = timedelta(days=5 * 366)
"""How far from a flight the page looks for the measured emission it became (its start is the user's choice)."""

METHODS: dict[str, str] = {Method.MASS_BALANCE.value: N_("mass balance"),
                           Method.PLUME.value: N_("Gaussian plume inversion")}
REFUSALS: dict[str, str] = {
    Refusal.TOO_FEW_SAMPLES.value: N_("too few samples"), Refusal.NO_CURTAIN.value: N_("no curtain flown"),
    Refusal.WIND_TOO_LOW.value: N_("wind too low"), Refusal.WIND_TOO_VARIABLE.value: N_("wind too variable"),
    Refusal.NOT_DOWNWIND.value: N_("curtain not downwind"), Refusal.NO_PLUME.value: N_("no plume seen"),
    Refusal.FIT_FAILED.value: N_("plume fit failed"),
}
FLAGS: dict[str, str] = {"sensor_agrees": N_("sensor agrees"), "sensor_drift": N_("sensor drift"),
                         "no_sensor_reading": N_("no sensor reading"),
                         "unit_not_comparable": N_("unit not comparable")}
OUTCOMES: dict[str, str] = {"agrees": N_("agrees"), "drift": N_("drift"), "no_sensor_reading": N_("no sensor reading"),
                            "unit_not_comparable": N_("unit not comparable")}


def _word(view: View, table: dict[str, str], key: str | None) -> str:
    return view.t.gettext(table[key]) if key in table else (key or "")


def _when(view: View, iso: str | None) -> str:
    return view.t.datetime(datetime.fromisoformat(iso)) if iso else "—"


def _helpers(view: View) -> dict[str, Any]:
    return {"method_label": lambda v: _word(view, METHODS, v), "refusal_label": lambda v: _word(view, REFUSALS, v),
            "flag_label": lambda v: _word(view, FLAGS, v), "outcome_label": lambda v: _word(view, OUTCOMES, v),
            "when": lambda v: _when(view, v), "methods": METHODS}


@router.get("/flights")
async def flights(view: Annotated[View, Depends(signed_in)], session: Session, tab: str = "flights",
                  facility: int | None = None, source: int | None = None,
                  page: Annotated[int, Query(ge=1)] = 1, imported: int | None = None) -> HTMLResponse:
    assert view.actor is not None
    tab = tab if tab in TABS else "flights"
    site = await load_site(session, view.actor)
    offset = (page - 1) * PAGE
    if tab == "lab":
        listing = await lab_api.list_lab_results(session, view.actor, facility_id=facility, source_id=source,
                                                 limit=PAGE, offset=offset)
    else:
        listing = await flight_api.list_flights(session, view.actor, facility_id=facility, source_id=source,
                                                limit=PAGE, offset=offset)
    facilities = {f["id"]: f["name"] for f in site.facilities}
    sources = {s["id"]: s["name"] for s in site.sources}
    data = {"can_write": view.can_write, "tab": tab}
    return render(view, "flights.html", view.t.gettext("UAV flights and lab results"), tab=tab, site=site,
                  items=listing["items"], total=listing["total"], page=page, pages=-(-listing["total"] // PAGE),
                  facility=facility, source=source, facility_names=facilities, source_names=sources, imported=imported,
                  data=data, **_helpers(view))


@router.get("/flights/{flight_id}")
async def flight(flight_id: int, view: Annotated[View, Depends(signed_in)], session: Session) -> HTMLResponse:
    assert view.actor is not None
    row = await flight_api.get_flight(flight_id, session, view.actor, track=True)  # 404: not the viewer's
    site = await load_site(session, view.actor, row["facility_id"])
    source = next((s for s in site.sources if s["id"] == row["source_id"]), None)
    placed = (source["latitude"], source["longitude"]) if source and source["latitude"] is not None \
        and source["longitude"] is not None else None
    result = row["quantification"]
    svg = build_track(row["track"], result["source"] if result else None, placed)
    started = ensure_utc(datetime.fromisoformat(row["started_at"]))
    leaks = await measured_emissions(session, row["organization_id"], started - EMISSION_WINDOW,
                                     started + EMISSION_WINDOW, row["facility_id"])
    recorded = next((x for x in leaks if x.provenance.get("flight_id") == row["id"]), None)
    data = {"flight_id": row["id"], "can_write": view.can_write, "has_source": row["source_id"] is not None}
    return render(view, "flight.html", view.t.gettext("UAV flight {id}", id=row["id"]), flight=row, result=result,
                  svg=svg, source=source, facility=site.facility(row["facility_id"]), sources=site.sources,
                  recorded=recorded, can_record=view.can_write and result is not None and recorded is None,
                  data=data, **_helpers(view))
