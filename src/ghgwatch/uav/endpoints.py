"""REST endpoints of UAV flights: upload (CSV/XLSX) with quantification, list, read with the track.

No ``from __future__ import annotations``: FastAPI reads the parameter annotations at run time.
"""

from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, File, Query, Request, UploadFile
from sqlalchemy import func, select

from ghgwatch import audit
from ghgwatch.kit.problems import Problem, not_found, too_large
from ghgwatch.lab.alerting import publish
from ghgwatch.registry.models import EmissionSource, Facility
from ghgwatch.security.principal import WRITERS
from ghgwatch.uav.flight import COLUMNS, Flight, FlightFileError, parse_flight
from ghgwatch.uav.leak import leak_alert
from ghgwatch.uav.models import UavFlight
from ghgwatch.uav.quantify import quantify
from ghgwatch.uav.result import CannotQuantify, Method, Quantification
from ghgwatch.web.context import context
from ghgwatch.web.deps import CurrentPrincipal, Session

MAX_FLIGHT_BYTES = 20 * 1024 * 1024

router = APIRouter(prefix="/flights", tags=["uav"])


def _invalid(loc: str, message: str) -> Problem:
    return Problem(422, "Validation failed", f"{loc}: {message}", type_="validation",
                   errors=[{"loc": [loc], "msg": message}])


def _track(flight: Flight) -> dict[str, Any]:
    """The samples as columns (``t_s`` seconds since ``started_at``), rounded to what the sensors resolve."""
    out: dict[str, Any] = {"t_s": [round(float(v), 3) for v in flight.t_s]}
    for name in COLUMNS[1:]:
        values = getattr(flight, name)
        if values is not None:
            digits = 7 if name in ("latitude", "longitude") else 4
            out[name] = [round(float(v), digits) for v in values]
    return out


def _out(row: UavFlight, *, track: bool = False) -> dict[str, Any]:
    quantified = row.rate_kg_h is not None
    out: dict[str, Any] = {
        "id": row.id, "organization_id": row.organization_id, "facility_id": row.facility_id,
        "source_id": row.source_id, "file_name": row.file_name, "started_at": row.started_at.isoformat(),
        "ended_at": row.ended_at.isoformat(), "samples": row.samples, "method": row.method,
        "quantification": {
            "method": row.method, "rate_kg_h": row.rate_kg_h, "lower_kg_h": row.lower_kg_h,
            "upper_kg_h": row.upper_kg_h, "background_ppm": row.background_ppm,
            "source": (None if row.source_latitude is None or row.source_longitude is None
                       else {"latitude": row.source_latitude, "longitude": row.source_longitude}),
            "transects": row.transects, "warnings": list(row.warnings),
        } if quantified else None,
        "refusal": None if quantified else {"code": row.refusal, "reason": row.refusal_reason},
        "created_by": row.created_by, "created_at": row.created_at.isoformat(),
    }
    if track:
        out["track"] = row.track
    return out


@router.post("", status_code=201, summary="Upload a UAV flight (CSV or XLSX) and quantify its leak",
             description="The file has the header `timestamp,latitude,longitude,altitude_m,wind_speed_ms,"
                         "wind_dir_deg,temperature_c,pressure_hpa,ch4_ppm` (optional `co2_ppm`, `c2h6_ppm`). Bad "
                         "rows are answered 422 with every row number (header = row 1) and nothing is stored. "
                         "A flight that cannot be quantified is stored with `refusal` and no rate.")
async def upload_flight(
    request: Request, session: Session, actor: CurrentPrincipal, file: Annotated[UploadFile, File()],
    facility_id: int, source_id: int | None = None, method: Method = Method.MASS_BALANCE,
    format: Annotated[str | None, Query(pattern="^(csv|xlsx)$")] = None,
) -> dict[str, Any]:
    actor.require_role(WRITERS)
    facility = await session.get(Facility, facility_id)
    if facility is None:
        raise _invalid("facility_id", f"facility {facility_id} does not exist")
    actor.require_org(facility.organization_id)
    known_source: tuple[float, float] | None = None
    if source_id is not None:
        source = await session.get(EmissionSource, source_id)
        if source is None or source.facility_id != facility.id:
            raise _invalid("source_id", f"source {source_id} is not a source of facility {facility_id}")
        if source.latitude is not None and source.longitude is not None:
            known_source = (source.latitude, source.longitude)
    data = await file.read(MAX_FLIGHT_BYTES + 1)
    if len(data) > MAX_FLIGHT_BYTES:
        raise too_large(MAX_FLIGHT_BYTES)
    name = file.filename or "flight"
    fmt = format or ("xlsx" if name.lower().endswith(".xlsx") else "csv")
    try:
        flight = await anyio.to_thread.run_sync(parse_flight, data, fmt)
    except FlightFileError as exc:
        raise Problem(422, "Bad flight file", f"{name}: {exc}", type_="validation",
                      errors=[{"loc": ["file"] if row == 0 else ["file", "row", row], "row": row, "msg": message}
                              for row, message in exc.errors]) from exc

    def run() -> Quantification | CannotQuantify:
        try:
            return quantify(flight, method, source=known_source)
        except CannotQuantify as refusal:
            return refusal
        except ImportError as exc:  # the plume method needs scipy (the analytics extra)
            raise _invalid("method", f"{method.value} needs the analytics extra ({exc.name})") from exc

    result = await anyio.to_thread.run_sync(run)
    row = UavFlight(organization_id=facility.organization_id, facility_id=facility.id, source_id=source_id,
                    file_name=name[:300], started_at=flight.started_at, ended_at=flight.ended_at,
                    samples=len(flight), track=_track(flight), method=method.value, created_by=actor.username)
    if isinstance(result, CannotQuantify):
        row.refusal, row.refusal_reason, row.warnings = result.code.value, result.message[:1000], []
    else:
        row.rate_kg_h, row.lower_kg_h, row.upper_kg_h = result.rate_kg_h, result.lower_kg_h, result.upper_kg_h
        row.background_ppm, row.transects, row.warnings = result.background_ppm, result.transects, result.warnings
        if result.source is not None:
            row.source_latitude, row.source_longitude = result.source
    session.add(row)
    await session.flush()
    await audit.record(session, actor=actor.username, action="create", entity="uav_flight", entity_id=row.id,
                       organization_id=row.organization_id,
                       after={"facility_id": row.facility_id, "source_id": row.source_id, "file_name": row.file_name,
                              "samples": row.samples, "method": row.method, "rate_kg_h": row.rate_kg_h,
                              "refusal": row.refusal})
    alert = await leak_alert(session, row, context(request).settings.leaks, actor.username)
    out = _out(row) | {"alert_id": None if alert is None else alert[0]}
    await session.commit()
    if alert is not None:
        await publish(context(request).extras, [alert[1]])
    return out


@router.get("", summary="UAV flights, newest first", description="Filters: facility_id, source_id.")
async def list_flights(
    session: Session, actor: CurrentPrincipal, facility_id: int | None = None, source_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100, offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    stmt = select(UavFlight)
    org = actor.org_filter()
    if org is not None:
        stmt = stmt.where(UavFlight.organization_id == org)
    if facility_id is not None:
        stmt = stmt.where(UavFlight.facility_id == facility_id)
    if source_id is not None:
        stmt = stmt.where(UavFlight.source_id == source_id)
    total = int((await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one())
    rows = (await session.execute(stmt.order_by(UavFlight.started_at.desc(), UavFlight.id.desc())
                                  .limit(limit).offset(offset))).scalars()
    return {"items": [_out(r) for r in rows], "total": total, "limit": limit, "offset": offset}


@router.get("/{flight_id}", summary="One UAV flight, with its track when `track=true`")
async def get_flight(flight_id: int, session: Session, actor: CurrentPrincipal, track: bool = False) -> dict[str, Any]:
    row = await session.get(UavFlight, flight_id)
    org = actor.org_filter()
    if row is None or (org is not None and row.organization_id != org):
        raise not_found("flight", flight_id)
    return _out(row, track=track)
