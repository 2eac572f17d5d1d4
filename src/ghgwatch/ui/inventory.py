"""Inventory: activity data entry and import, runs (methodology, GWP set), results with provenance, reports."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from ghgwatch.inventory.activities import ACTIVITY_TYPES
from ghgwatch.inventory.gwp import gwp_sets
from ghgwatch.kit.timeutil import utcnow
from ghgwatch.ui._data import load_site
from ghgwatch.ui._render import View, render, signed_in
from ghgwatch.web.deps import Session

router = APIRouter()

METHODOLOGIES = (("ipcc2006", "IPCC 2006"), ("ru371", "Minprirody Order 371"))


@router.get("/inventory")
async def inventory(view: Annotated[View, Depends(signed_in)], session: Session) -> HTMLResponse:
    assert view.actor is not None
    site = await load_site(session, view.actor)
    orgs = sorted({f["organization_id"] for f in site.facilities})
    data = {"facilities": site.facilities, "sources": site.sources, "can_write": view.can_write,
            "organization_id": view.actor.organization_id or (orgs[0] if orgs else None),
            "activity_types": list(ACTIVITY_TYPES),
            # the sign-off buttons shown depend on who the user is (the API enforces the rules)
            "username": view.actor.username, "role": view.actor.role.value}
    return render(view, "inventory.html", view.t.gettext("Inventory"), site=site, data=data,
                  activity_types=ACTIVITY_TYPES, methodologies=METHODOLOGIES, gwp_sets=list(gwp_sets().values()),
                  year=utcnow().year - 1)
