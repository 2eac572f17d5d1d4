"""REST endpoints of lab results: import (CSV/XLSX), list with filters and paging, read one.

No ``from __future__ import annotations``: FastAPI reads the parameter annotations at run time.
"""

from datetime import datetime
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, File, Query, Request, UploadFile
from sqlalchemy import func, select

from ghgwatch.kit.problems import Problem, not_found, too_large
from ghgwatch.kit.timeutil import utcnow
from ghgwatch.lab.alerting import publish
from ghgwatch.lab.composition import measured_composition
from ghgwatch.lab.models import LabResult
from ghgwatch.lab.parse import GASES, LabFileError, parse_lab_file
from ghgwatch.lab.service import import_results, result_dict, writable_facility
from ghgwatch.registry.models import EmissionSource
from ghgwatch.web.context import context
from ghgwatch.web.deps import CurrentPrincipal, Session

MAX_LAB_BYTES = 10 * 1024 * 1024

router = APIRouter(prefix="/lab-results", tags=["lab"])


def file_problem(name: str, exc: LabFileError) -> Problem:
    return Problem(422, "Bad lab results file", f"{name}: {exc}", type_="validation",
                   errors=[{"loc": ["file"] if row == 0 else ["file", "row", row], "row": row, "msg": message}
                           for row, message in exc.errors])


@router.post("", status_code=201, summary="Import lab gas analyses (CSV or XLSX) for a facility",
             description="Header `sample_id,source,sampled_at,gas,concentration,unit` (optional `method,laboratory,"
                         "certificate,flags`); docs/lab.md. Bad rows are answered 422 with every row number "
                         "(header = row 1) and nothing is stored. Each CH4, CO2 or N2O sample of a source with a "
                         "sensor of that gas is compared with the sensor's reading; a drift opens an alert.")
async def import_lab_results(
    request: Request, session: Session, actor: CurrentPrincipal, file: Annotated[UploadFile, File()],
    facility_id: int, format: Annotated[str | None, Query(pattern="^(csv|xlsx)$")] = None,
) -> dict[str, Any]:
    await writable_facility(session, actor, facility_id)
    data = await file.read(MAX_LAB_BYTES + 1)
    if len(data) > MAX_LAB_BYTES:
        raise too_large(MAX_LAB_BYTES)
    name = file.filename or "lab-results"
    fmt = format or ("xlsx" if name.lower().endswith(".xlsx") else "csv")
    try:
        rows = await anyio.to_thread.run_sync(parse_lab_file, data, fmt)
        outcome = await import_results(session, actor, facility_id, rows, name, context(request).settings.lab)
    except LabFileError as exc:
        await session.rollback()
        raise file_problem(name, exc) from exc
    out = outcome.as_dict()
    await session.commit()
    await publish(context(request).extras, outcome.events)
    return out


@router.get("", summary="Lab results, newest sample first",
            description="Filters: facility_id, source_id, gas, sample_id, flag (a quality flag), since, until "
                        "(on sampled_at).")
async def list_lab_results(
    session: Session, actor: CurrentPrincipal, facility_id: int | None = None, source_id: int | None = None,
    gas: Annotated[str | None, Query(pattern="^(" + "|".join(GASES) + ")$")] = None,
    sample_id: str | None = None, flag: Annotated[str | None, Query(max_length=40)] = None,
    since: datetime | None = None, until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100, offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    stmt = select(LabResult)
    org = actor.org_filter()
    if org is not None:
        stmt = stmt.where(LabResult.organization_id == org)
    for column, value in ((LabResult.facility_id, facility_id), (LabResult.source_id, source_id),
                          (LabResult.gas, gas), (LabResult.sample_id, sample_id)):
        if value is not None:
            stmt = stmt.where(column == value)
    if since is not None:
        stmt = stmt.where(LabResult.sampled_at >= since)
    if until is not None:
        stmt = stmt.where(LabResult.sampled_at < until)
    ordered = stmt.order_by(LabResult.sampled_at.desc(), LabResult.id.desc())
    if flag is None:
        total = int((await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one())
        rows = list((await session.execute(ordered.limit(limit).offset(offset))).scalars())
    else:  # flags are a JSON list: filtered here, the same way on SQLite and PostgreSQL
        matching = [r for r in (await session.execute(ordered)).scalars() if flag in r.flags]
        total, rows = len(matching), matching[offset:offset + limit]
    return {"items": [result_dict(r) for r in rows], "total": total, "limit": limit,
            "offset": offset}


@router.get("/composition", summary="A source's measured gas composition from its latest lab samples",
            description="For each of CH4 and CO2, the latest sample of the source at or before `at` (default now) "
                        "and at most `max_age_days` old, in % by volume, with the sample cited (docs/lab.md).")
async def composition(
    session: Session, actor: CurrentPrincipal, source_id: int, at: datetime | None = None,
    max_age_days: Annotated[float, Query(gt=0, le=3660)] = 365.0,
) -> dict[str, Any]:
    source = await session.get(EmissionSource, source_id)
    org = actor.org_filter()
    if source is None or (org is not None and source.organization_id != org):
        raise not_found("source", source_id)
    found = await measured_composition(session, source.organization_id, source.id, at or utcnow(),
                                       max_age_days=max_age_days)
    return {"source_id": source.id} | found.as_dict()


@router.get("/{result_id}", summary="One lab result with its checks and provenance")
async def get_lab_result(result_id: int, session: Session, actor: CurrentPrincipal) -> dict[str, Any]:
    row = await session.get(LabResult, result_id)
    org = actor.org_filter()
    if row is None or (org is not None and row.organization_id != org):
        raise not_found("lab result", result_id)
    return result_dict(row)
