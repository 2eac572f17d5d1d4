"""REST endpoints of the inventory: activity data (CRUD, CSV/XLSX import) and the deprecated mine methane API
(now over the mine reference database).

No ``from __future__ import annotations``: FastAPI reads the request and response models at run time.
Runs, calculation, factor sets and GWP sets are in :mod:`ghgwatch.inventory.run_endpoints`.
"""

from typing import Annotated, Any

from fastapi import APIRouter, File, Query, Response, UploadFile
from sqlalchemy import or_, select

from ghgwatch.inventory import activity_data, activity_import, stored
from ghgwatch.inventory.models import MineMethane
from ghgwatch.inventory.schemas import (
    ActivityDataIn,
    ActivityDataOut,
    ActivityDataPatch,
    MineMethaneIn,
    MineMethaneOut,
)
from ghgwatch.kit.problems import Problem, not_found, too_large
from ghgwatch.reference.minedb import service as minedb
from ghgwatch.reference.minedb.models import RefMine, RefMineYear
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
        raise too_large(MAX_IMPORT_BYTES)
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


SUCCESSOR = '</api/v1/reference/mine-years>; rel="successor-version"'
DEPRECATED = ("Deprecated: reads and writes the mine reference database (`/reference/mine-years`, with sources, "
              "statuses and versions); use that API. Answers carry `Deprecation: true` and a `Link` to it.")


def _deprecated(response: Response) -> None:
    response.headers["Deprecation"] = "true"
    response.headers["Link"] = SUCCESSOR


@mine_router.get("", response_model=list[MineMethaneOut], summary="Mine methane by mine and year (deprecated)",
                 deprecated=True, description=DEPRECATED + " Rows: the current mine-years visible to you (public, "
                 "published, your organisation's), then rows of the former `mine_methane` table (`legacy`). "
                 "`facility_id`: the reference mine the facility is linked to (attribute `ref_mine_key`, else its "
                 "`gem_mine_id`).")
async def list_mine_methane(session: Session, actor: CurrentPrincipal, response: Response,
                            facility_id: int | None = None, gem_mine_id: str | None = None,
                            year: Annotated[int | None, Query(ge=1900, le=2100)] = None) -> list[MineMethaneOut]:
    _deprecated(response)
    mines = minedb.current(RefMine, actor)
    if facility_id is not None:
        facility = await session.get(Facility, facility_id)
        if facility is None:
            raise not_found("facility", facility_id)
        actor.require_org(facility.organization_id)
        mine, _ = await stored.linked_mine(session, facility)
        mines = mines.where(RefMine.record_key == (mine.record_key if mine is not None else ""))
    if gem_mine_id is not None:
        mines = mines.where(RefMine.gem_id == gem_mine_id)
    by_key = {m.record_key: m for m in (await session.execute(mines)).scalars()}
    stmt = minedb.current(RefMineYear, actor).where(RefMineYear.mine_key.in_(list(by_key)))
    if year is not None:
        stmt = stmt.where(RefMineYear.year == year)
    out = [MineMethaneOut(id=r.id, facility_id=facility_id, gem_mine_id=by_key[r.mine_key].gem_id, year=r.year,
                          absolute_m3_min=r.methane_total_m3_min, relative_m3_t=r.relative_m3_t, seam_gas_m3_t=None,
                          source=r.source, mine_key=r.mine_key, record_key=r.record_key, version=r.version,
                          data_status=r.data_status, organization_id=r.organization_id, production_t=r.production_t)
           for r in (await session.execute(stmt.order_by(RefMineYear.year, RefMineYear.id))).scalars()]
    legacy = select(MineMethane)
    scope = actor.org_filter()
    if scope is not None:
        # Rows by GEM mine id (no facility) are public reference data; rows of a facility are its
        # organisation's own (issue 12, hole 4: they were listed to every organisation).
        legacy = legacy.outerjoin(Facility, Facility.id == MineMethane.facility_id).where(
            or_(MineMethane.facility_id.is_(None), Facility.organization_id == scope))
    for column, value in ((MineMethane.facility_id, facility_id), (MineMethane.gem_mine_id, gem_mine_id),
                          (MineMethane.year, year)):
        if value is not None:
            legacy = legacy.where(column == value)
    rows = (await session.execute(legacy.order_by(MineMethane.year, MineMethane.id))).scalars()
    return out + [MineMethaneOut.model_validate(r).model_copy(update={"legacy": True}) for r in rows]


@mine_router.post("", response_model=MineMethaneOut, status_code=201, deprecated=True,
                  summary="Add a mine-year to the mine reference database (deprecated)",
                  description=DEPRECATED + " `facility_id`: a private mine-year of the facility's organisation for "
                  "its linked reference mine; `gem_mine_id` (platform administrators): a public one. "
                  "`absolute_m3_min` is stored as `methane_total_m3_min`; seam gas content belongs to "
                  "`/reference/seams`.")
async def create_mine_methane(session: Session, actor: CurrentPrincipal, body: MineMethaneIn,
                              response: Response) -> MineMethaneOut:
    _deprecated(response)
    actor.require_role(WRITERS)
    organization_id: int | None = None
    if body.facility_id is not None:
        facility = await session.get(Facility, body.facility_id)
        if facility is None:
            raise Problem(422, "Validation failed", "facility {id} does not exist", values={"id": body.facility_id},
                          type_="validation", errors=[{"loc": ["facility_id"], "msg": "does not exist"}])
        actor.require_org(facility.organization_id)
        organization_id = facility.organization_id
        mine, how = await stored.linked_mine(session, facility)
        where = "facility_id"
    elif not actor.is_platform_admin:
        raise Problem(403, "Forbidden", "only a platform administrator may add rows by GEM mine id",
                      type_="forbidden")
    else:
        mine = (await session.execute(minedb.current(RefMine, actor).where(
            RefMine.gem_id == body.gem_mine_id, RefMine.organization_id.is_(None)))).scalars().first()
        how, where = f"no public reference mine with GEM id {body.gem_mine_id}", "gem_mine_id"
    if mine is None:
        raise Problem(422, "Validation failed", f"{where}: not linked to a reference mine ({how}); set the "
                      "facility attribute ref_mine_key or its gem_mine_id, or use POST /api/v1/reference/mine-years",
                      type_="validation", errors=[{"loc": [where], "msg": "no linked reference mine"}])
    if body.seam_gas_m3_t is not None:
        raise Problem(422, "Validation failed", "seam_gas_m3_t: seam gas content is kept per seam; use POST "
                      "/api/v1/reference/seams", type_="validation",
                      errors=[{"loc": ["seam_gas_m3_t"], "msg": "use /reference/seams"}])
    row = await minedb.create(session, actor, minedb.MINE_YEARS, {
        "organization_id": organization_id, "mine_key": mine.record_key, "year": body.year,
        "methane_total_m3_min": body.absolute_m3_min, "relative_m3_t": body.relative_m3_t, "source": body.source})
    out = MineMethaneOut(id=row.id, facility_id=body.facility_id, gem_mine_id=mine.gem_id, year=row.year,
                         absolute_m3_min=row.methane_total_m3_min, relative_m3_t=row.relative_m3_t,
                         seam_gas_m3_t=None, source=row.source, mine_key=row.mine_key, record_key=row.record_key,
                         version=row.version, data_status=row.data_status, organization_id=row.organization_id,
                         production_t=row.production_t)
    await session.commit()
    return out


def routers() -> list[APIRouter]:
    """Every inventory router, and the report downloads (``ghgwatch.reports.endpoints``)."""
    from ghgwatch.inventory.run_endpoints import factor_router, inventory_router, reference_router
    from ghgwatch.reports.endpoints import router as reports_router
    from ghgwatch.reports.signoff.endpoints import router as signoff_router

    return [activity_router, mine_router, inventory_router, factor_router, reference_router, reports_router,
            signoff_router]
