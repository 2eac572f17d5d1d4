"""The mine reference database in the UI: search, a mine's card (years, seams, versions, Tier 1/2/3), import and
export, corrections, and the restoration evaluation.

Every figure comes from the reference-database service (``reference.minedb``) with the signed-in user's
visibility (public and published rows, and the user's organisation's own); writes go through the REST API
(``/api/v1/reference/...``) from ``static/js/reference.js``, so the UI has no rule of its own.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ghgwatch.i18n import N_
from ghgwatch.kit.problems import Problem
from ghgwatch.reference import gem
from ghgwatch.reference.minedb import panel, restore, service, tiers
from ghgwatch.reference.minedb.models import DataStatus, RefMine, RefMineYear, RefSeam
from ghgwatch.security.principal import Principal
from ghgwatch.ui._render import View, render, signed_in
from ghgwatch.web.deps import Session

router = APIRouter()
PAGE = 50
YEAR_VALUES = ("production_t", "methane_vent_m3_min", "methane_drain_m3_min", "methane_total_m3_min",
               "relative_m3_t", "drained_m3", "utilised_m3")
COLUMN_LABELS = {
    "production_t": N_("Coal production, t"),
    "methane_vent_m3_min": N_("Ventilation, m3/min"),
    "methane_drain_m3_min": N_("Drainage, m3/min"),
    "methane_total_m3_min": N_("Absolute methane content, m3/min"),
    "relative_m3_t": N_("Relative methane content, m3/t"),
    "drained_m3": N_("Methane drained, m3"),
    "utilised_m3": N_("Methane utilised, m3"),
}
METHOD_LABELS = {"mean": N_("mean"), "interpolation": N_("interpolation / nearest"),
                 "regression": N_("adaptive global regression"), "knn": N_("KNN local-global")}


def visibility(view: View, row: Any) -> str:
    _ = view.t.gettext
    if row.organization_id is None:
        return _("public")
    return _("published") if row.published else _("private to organisation {id}", id=row.organization_id)


def cell(row: Any, name: str) -> dict[str, Any]:
    """One value with its status and source (the cell's own, else the row's)."""
    own = (row.cell_status or {}).get(name) or {}
    return {"value": getattr(row, name), "status": str(own.get("status", row.data_status)),
            "source": str(own.get("source", row.source)), "method": own.get("method")}


async def _statuses(session: AsyncSession, actor: Principal) -> list[str]:
    rows = (await session.execute(service.current(RefMine, actor).with_only_columns(RefMine.mine_status)
                                  .distinct())).scalars()
    return sorted({r for r in rows if r})


async def search_tab(view: View, session: AsyncSession, q: str, district: str, status: str,
                     page: int) -> dict[str, Any]:
    """The data of the "Mine database" tab: one page of mines matching the search."""
    assert view.actor is not None
    filters = {"district": district.strip() or None, "mine_status": status or None}
    rows, total = await service.search(session, view.actor, service.MINES, q=q.strip() or None, filters=filters,
                                       limit=PAGE, offset=max(page, 0) * PAGE)
    return {"mines": rows, "total": total, "page": max(page, 0), "pages": max(1, -(-total // PAGE)),
            "q": q, "district": district, "chosen_status": status, "statuses": await _statuses(session, view.actor),
            "kinds": list(service.KINDS), "credit": gem.CREDIT, "visibility": lambda r: visibility(view, r)}


def restoration_tab(view: View) -> dict[str, Any]:
    _ = view.t.gettext
    return {"variables": [(v, _(COLUMN_LABELS[v])) for v in panel.VARIABLES],
            "methods": {m: _(METHOD_LABELS[m]) for m in restore.METHODS}}


@router.get("/reference/mines/{key}")
async def mine_card(key: str, view: Annotated[View, Depends(signed_in)], session: Session,
                    year: int | None = None) -> HTMLResponse:
    actor = view.actor
    assert actor is not None
    _ = view.t.gettext
    try:
        mine = await service.get(session, actor, service.MINES, key)
    except Problem as exc:
        return render(view, "reference_mine.html", _("Mine not found"), status=exc.status, mine=None, key=key)
    years = list((await session.execute(service.current(RefMineYear, actor).where(RefMineYear.mine_key == key)
                                        .order_by(RefMineYear.year.desc(), RefMineYear.id))).scalars())
    seams = list((await session.execute(service.current(RefSeam, actor).where(RefSeam.mine_key == key)
                                        .order_by(RefSeam.seam_index))).scalars())
    history = await service.history(session, actor, service.MINES, key)
    year_history = list((await session.execute(select(RefMineYear).where(
        RefMineYear.mine_key == key, service.readable(RefMineYear, actor))
        .order_by(RefMineYear.year.desc(), RefMineYear.record_key, RefMineYear.version))).scalars())
    choices = sorted({y.year for y in years}, reverse=True)
    chosen = year if year is not None else (choices[0] if choices else None)
    compared = None
    if chosen is not None:
        compared = await tiers.compare(session, actor, key, chosen, locale=view.locale)
    data = {"mine_key": key, "organization_id": actor.organization_id,
            "years": {y.record_key: {"year": y.year, **{v: getattr(y, v) for v in YEAR_VALUES},
                                     "source": y.source, "data_status": y.data_status} for y in years}}
    return render(view, "reference_mine.html", mine.name_en, mine=mine, key=key, years=years, seams=seams,
                  history=history, year_history=[y for y in year_history if len(
                      [z for z in year_history if z.record_key == y.record_key]) > 1],
                  values=YEAR_VALUES, columns={k: _(v) for k, v in COLUMN_LABELS.items()}, cell=cell,
                  choices=choices, chosen=chosen, compared=compared, visibility=lambda r: visibility(view, r),
                  statuses=[s.value for s in DataStatus], can_write=view.can_write, data=data)
