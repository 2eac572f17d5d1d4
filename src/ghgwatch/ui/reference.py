"""Reference data: GWP sets, emission factors with their source and status, the GEM mine list, and the mine
reference database (search, import and export, restoration evaluation; a mine's card is in ``ui/minedb.py``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from ghgwatch.inventory import factor_store
from ghgwatch.inventory.factors import builtin_factor_set_names, load_builtin_factor_set
from ghgwatch.inventory.gwp import gwp_sets
from ghgwatch.reference import gem
from ghgwatch.ui import minedb
from ghgwatch.ui._render import View, render, signed_in
from ghgwatch.web.deps import Session

router = APIRouter()
TABS = ("gwp", "factors", "mines", "minedb", "restoration")


@router.get("/reference")
async def reference(view: Annotated[View, Depends(signed_in)], session: Session, tab: str = "factors",
                    factor_set: str = "ipcc2006", q: str = "", kuzbass: bool = True, district: str = "",
                    status: str = "", page: int = 0) -> HTMLResponse:
    assert view.actor is not None
    tab = tab if tab in TABS else "factors"
    title = view.t.gettext("Reference data")
    if tab == "minedb":
        found = await minedb.search_tab(view, session, q, district, status, page)
        return render(view, "reference.html", title, tab=tab, tabs=TABS, can_write=view.can_write, **found)
    if tab == "restoration":
        return render(view, "reference.html", title, tab=tab, tabs=TABS, **minedb.restoration_tab(view))
    names = builtin_factor_set_names()
    chosen = load_builtin_factor_set(factor_set if factor_set in names else names[0])
    stored = await factor_store.list_sets(session, view.actor)
    needle = q.strip().lower()
    mines = [m for m in gem.find_mines(kuzbass_only=kuzbass)
             if not needle or needle in m.name.lower() or needle in m.owner.lower() or needle in m.id.lower()]
    return render(view, "reference.html", title, tab=tab, tabs=TABS,
                  gwp=list(gwp_sets().values()), names=names, chosen=chosen, stored=stored, mines=mines[:300],
                  mine_total=len(mines), q=q, kuzbass=kuzbass, credit=gem.CREDIT)
