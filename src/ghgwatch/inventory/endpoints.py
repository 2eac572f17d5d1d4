"""REST endpoints of the inventory: activity data (CRUD, CSV/XLSX import) and the mine methane table.

No ``from __future__ import annotations``: FastAPI reads the request and response models at run time.
Runs, calculation, factor sets and GWP sets are in :mod:`ghgwatch.inventory.run_endpoints`.
"""

from typing import Annotated, Any

from fastapi import APIRouter, File, Query, Response, UploadFile
from sqlalchemy import or_, select

from ghgwatch import audit
from ghgwatch.inventory import activity_data, activity_import
from ghgwatch.inventory.models import MineMethane
from ghgwatch.inventory.schemas import (
    ActivityDataIn,
    ActivityDataOut,
    ActivityDataPatch,
    MineMethaneIn,
    MineMethaneOut,
)
from ghgwatch.kit.problems import Problem
from ghgwatch.registry import tabular
from ghgwatch.registry.models import Facility
from ghgwatch.security.principal import WRITERS
from ghgwatch.web.deps import CurrentPrincipal, Session

MAX_IMPORT_BYTES = 20 * 1024 * 1024

activity_router = APIRouter(prefix="/activity-data", tags=["inventory"])
mine_router = APIRouter(prefix="/mine-methane", tags=["inventory"])


@activity_router.get("", summary="List activity data",
                     description="Filters: organization_id, facility_id, year (periods overlapping it), type.")
async def list_activity_data(
    session: Session, actor: CurrentPrincipal,
    organization_id: int | None = None, facility_id: int | None = None,
    year: Annotated[int | None, Query(ge=1900, le=2100)] = None, type: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100, offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    rows, total = await activity_data.list_rows(session, actor, organization_id=organization_id,
                                                facility_id=facility_id, year=year, activity_type=type,
                                                limit=limit, offset=offset)
    return {"items": [ActivityDataOut.model_validate(r) for r in rows], "total": total, "limit": limit,
            "offset": offset}


@activity_router.post("", response_model=ActivityDataOut, status_code=201, summary="Create activity data")
async def create_activity_data(session: Session, actor: CurrentPrincipal, body: ActivityDataIn) -> ActivityDataOut:
    row = ActivityDataOut.model_validate(await activity_data.create(session, actor, body))
    await session.commit()
    return row


@activity_router.post("/import", summary="Import activity data from CSV or XLSX",
                      description="`mode=partial` keeps good rows and reports bad ones by row number (header = "
                                  "row 1); `mode=atomic` writes nothing if any row is bad.")
async def import_activity_data(
    session: Session, actor: CurrentPrincipal, file: Annotated[UploadFile, File()],
    mode: tabular.ImportMode = tabular.ImportMode.PARTIAL, format: tabular.TableFormat | None = None,
    organization_id: int | None = None,
) -> dict[str, Any]:
    actor.require_role(WRITERS)
    data = await file.read(MAX_IMPORT_BYTES + 1)
    if len(data) > MAX_IMPORT_BYTES:
        raise Problem(413, "File too large", f"at most {MAX_IMPORT_BYTES} bytes", type_="too-large")
    fmt = format or (tabular.TableFormat.XLSX if (file.filename or "").endswith(".xlsx") else tabular.TableFormat.CSV)
    report = await activity_import.import_rows(session, actor, tabular.read_table(data, fmt), mode,
                                               organization_id=organization_id)
    await session.commit()
    return report.as_dict()


@activity_router.get("/{key}", response_model=ActivityDataOut, summary="Read activity data")
async def get_activity_data(key: int, session: Session, actor: CurrentPrincipal) -> ActivityDataOut:
    return ActivityDataOut.model_validate(await activity_data.get(session, actor, key))


@activity_router.patch("/{key}", response_model=ActivityDataOut, summary="Update activity data")
async def patch_activity_data(key: int, session: Session, actor: CurrentPrincipal,
                              body: ActivityDataPatch) -> ActivityDataOut:
    row = ActivityDataOut.model_validate(await activity_data.update(session, actor, key, body))
    await session.commit()
    return row


@activity_router.delete("/{key}", status_code=204, summary="Delete activity data")
async def delete_activity_data(key: int, session: Session, actor: CurrentPrincipal) -> Response:
    await activity_data.delete(session, actor, key)
    await session.commit()
    return Response(status_code=204)


@mine_router.get("", response_model=list[MineMethaneOut], summary="The mine methane table")
async def list_mine_methane(session: Session, actor: CurrentPrincipal, facility_id: int | None = None,
                            gem_mine_id: str | None = None,
                            year: Annotated[int | None, Query(ge=1900, le=2100)] = None) -> list[MineMethaneOut]:
    stmt = select(MineMethane)
    scope = actor.org_filter()
    if scope is not None:
        # Rows by GEM mine id (no facility) are public reference data; rows of a facility are its
        # organisation's own (issue 12, hole 4: they were listed to every organisation).
        stmt = stmt.outerjoin(Facility, Facility.id == MineMethane.facility_id).where(
            or_(MineMethane.facility_id.is_(None), Facility.organization_id == scope))
    for column, value in ((MineMethane.facility_id, facility_id), (MineMethane.gem_mine_id, gem_mine_id),
                          (MineMethane.year, year)):
        if value is not None:
            stmt = stmt.where(column == value)
    rows = (await session.execute(stmt.order_by(MineMethane.year, MineMethane.id))).scalars()
    return [MineMethaneOut.model_validate(r) for r in rows]


@mine_router.post("", response_model=MineMethaneOut, status_code=201, summary="Add a mine methane row")
async def create_mine_methane(session: Session, actor: CurrentPrincipal, body: MineMethaneIn) -> MineMethaneOut:
    actor.require_role(WRITERS)
    organization_id = None
    if body.facility_id is not None:
        facility = await session.get(Facility, body.facility_id)
        if facility is None:
            raise Problem(422, "Validation failed", f"facility {body.facility_id} does not exist",
                          type_="validation", errors=[{"loc": ["facility_id"], "msg": "does not exist"}])
        actor.require_org(facility.organization_id)
        organization_id = facility.organization_id
    elif not actor.is_platform_admin:
        raise Problem(403, "Forbidden", "only a platform administrator may add rows by GEM mine id",
                      type_="forbidden")
    row = MineMethane(**body.model_dump())
    session.add(row)
    await session.flush()
    await audit.record(session, actor=actor.username, action="create", entity="mine_methane", entity_id=row.id,
                       organization_id=organization_id, after=audit.snapshot(row))
    out = MineMethaneOut.model_validate(row)
    await session.commit()
    return out


def routers() -> list[APIRouter]:
    """Every inventory router, and the report downloads (``ghgwatch.reports.endpoints``)."""
    from ghgwatch.inventory.run_endpoints import factor_router, inventory_router, reference_router
    from ghgwatch.reports.endpoints import router as reports_router
    from ghgwatch.reports.signoff.endpoints import router as signoff_router

    return [activity_router, mine_router, inventory_router, factor_router, reference_router, reports_router,
            signoff_router]
