"""Work orders: the organisation's orders (opened by people or by automated responses), with status changes
open -> in progress -> done, and the commands sent to equipment. Data comes from /api/v1/work-orders."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from ghgwatch.ui._render import View, render, signed_in

router = APIRouter()


@router.get("/work-orders")
async def work_orders(view: Annotated[View, Depends(signed_in)]) -> HTMLResponse:
    return render(view, "workorders.html", view.t.gettext("Work orders"), data={"can_operate": view.can_operate})
