"""Report downloads: annual/detail report of a stored inventory run, monthly methane safety of a facility.

No ``from __future__ import annotations``: FastAPI reads the parameter types at run time.
Every answer carries the inputs' SHA-256 in the document and in the ``X-Inputs-SHA256`` header.
"""

import asyncio
import re
from typing import Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from ghgwatch.inventory import runs
from ghgwatch.kit.problems import Problem, not_found
from ghgwatch.registry.models import Facility, Organization
from ghgwatch.reports import (
    MEDIA_TYPES,
    ReportDocument,
    build_annual_report,
    build_detail_report,
    build_methane_safety_report,
    render_bytes,
)
from ghgwatch.reports.methane_safety import zone
from ghgwatch.reports.stored import facility_exceedances
from ghgwatch.web.deps import CurrentPrincipal, Session

router = APIRouter(tags=["reports"])

Fmt = Literal["pdf", "xlsx", "csv", "json"]
Lang = Literal["ru", "en"]
DOWNLOAD = {200: {"description": "The report in the format asked for", "content": {
    media: {"schema": {"type": "object"} if fmt == "json" else {"type": "string", "format": "binary"}}
    for fmt, media in MEDIA_TYPES.items()}}}


async def _answer(doc: ReportDocument, fmt: Fmt, name: str) -> Response:
    body = await asyncio.to_thread(render_bytes, doc, fmt)
    return Response(body, media_type=MEDIA_TYPES[fmt], headers={
        "Content-Disposition": f'attachment; filename="{name}.{fmt}"',
        "X-Inputs-SHA256": doc.inputs_sha256,
    })


@router.get("/inventory/runs/{run_id}/report", summary="Annual (296-FZ structure) or detail report of a run",
            response_class=Response, responses=DOWNLOAD)  # type: ignore[arg-type]
async def run_report(
    run_id: int, session: Session, actor: CurrentPrincipal,
    kind: Literal["annual", "detail"] = "annual", format: Fmt = "pdf", lang: Lang = "ru",
) -> Response:
    run = await runs.get_run(session, actor, run_id)
    if kind == "annual":
        org = await session.get(Organization, run.organization_id)
        details = None if org is None else {"name": org.name, "inn": org.inn, "description": org.description}
        doc = build_annual_report(run.result, lang, org=details, comparison=run.comparison)
    else:
        doc = build_detail_report(run.result, lang, comparison=run.comparison)
    doc.extra.update({"run_id": run.id, "code_version": run.code_version})
    return await _answer(doc, format, f"inventory-run-{run.id}-{kind}-{lang}")


@router.get("/reports/methane-safety", summary="Monthly methane-safety report of a facility",
            response_class=Response, responses=DOWNLOAD,  # type: ignore[arg-type]
            description="Exceedances of each methane sensor of the facility above its alarm level, from the "
                        "stored readings of the month (in the time zone ``tz``, UTC by default): "
                        "start, end, duration and peak in local time.")
async def methane_safety(
    session: Session, actor: CurrentPrincipal,
    facility_id: int, month: str = Query(..., description="YYYY-MM"),
    format: Fmt = "pdf", lang: Lang = "ru",
    tz: str = Query("UTC", max_length=64, description="IANA time zone of the month and the times printed, "
                                                      "e.g. Asia/Novokuznetsk"),
) -> Response:
    try:
        zone(tz)
    except ValueError as exc:
        raise Problem(422, "Validation failed", str(exc), type_="validation",
                      errors=[{"loc": ["query", "tz"], "msg": str(exc)}]) from None
    if not re.fullmatch(r"(19|20)[0-9]{2}-(0[1-9]|1[0-2])", month):
        raise Problem(422, "Validation failed", "month must be YYYY-MM (years 1900 to 2099), got {month}",
                      values={"month": repr(month)}, type_="validation",
                      errors=[{"loc": ["query", "month"], "msg": "expected YYYY-MM"}])
    facility = await session.get(Facility, facility_id)
    if facility is None:
        raise not_found("facility", facility_id)
    actor.require_org(facility.organization_id)
    safety = await facility_exceedances(session, facility, month, tz)
    threshold = min(safety.thresholds.values(), default=0.0)
    doc = build_methane_safety_report(safety.exceedances, threshold, safety.inputs_sha256, month, lang,
                                      thresholds=safety.thresholds, title_suffix=f": {facility.name}", tz=tz)
    doc.extra.update({"facility_id": facility.id, "readings": safety.readings,
                      "sensors_without_alarm_level": safety.skipped})
    return await _answer(doc, format, f"methane-safety-{facility.id}-{month}")
