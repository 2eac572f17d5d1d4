"""Reading queries, latest values per facility, CSV export, dead letters and their replay."""

import csv
import io
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy import select

from ghgwatch import audit
from ghgwatch.ingest.wire import SensorBatch, encode
from ghgwatch.kit.problems import Problem
from ghgwatch.kit.timeutil import utcnow
from ghgwatch.readings import query
from ghgwatch.readings.models import DeadLetter, Quality
from ghgwatch.registry import service
from ghgwatch.registry.models import Sensor
from ghgwatch.registry.specs import FACILITIES, SENSORS
from ghgwatch.security.principal import WRITERS
from ghgwatch.web.context import context
from ghgwatch.web.deps import CurrentPrincipal, Session

router = APIRouter(tags=["readings"])


@router.get("/sensors/{sensor_id}/readings", summary="Readings of a sensor between two times",
            description="`resolution=auto` picks raw readings up to 2 h, 1-minute rollups up to 3 days, hourly up "
                        "to 120 days, daily beyond. `format=csv` returns CSV.",
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}})
async def sensor_readings(
    sensor_id: int, session: Session, actor: CurrentPrincipal,
    start: Annotated[AwareDatetime | None, Query(alias="from")] = None,
    end: Annotated[AwareDatetime | None, Query(alias="to")] = None,
    resolution: query.Resolution = query.Resolution.AUTO,
    limit: Annotated[int, Query(ge=1, le=200_000)] = 50_000,
    format: str = "json",
) -> Any:
    sensor = await service.get(session, actor, SENSORS, sensor_id)
    end = end or utcnow()
    start = start or end - timedelta(hours=1)
    if start >= end:
        raise Problem(422, "Validation failed", "'from' must be before 'to'", type_="validation",
                      errors=[{"loc": ["query", "from"], "msg": "must be before 'to'"}])
    chosen, points = await query.series(session, sensor_id, start, end, resolution, limit)
    unit = sensor.unit  # type: ignore[attr-defined]
    if format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["ts", "value", "count", "min", "max", "last", "quality", "unit"])
        for p in points:
            writer.writerow([p.ts.isoformat(), p.value, p.count, _blank(p.min), _blank(p.max), _blank(p.last),
                             _blank(p.quality), unit])
        return Response(buffer.getvalue(), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="sensor-{sensor_id}.csv"'})
    return {"sensor": sensor_id, "unit": unit, "resolution": chosen.value,
            "from": start.isoformat(), "to": end.isoformat(),
            "points": [{k: v for k, v in p.__dict__.items() if v is not None} for p in points]}


def _blank(value: object) -> object:
    return "" if value is None else value


@router.get("/facilities/{facility_id}/latest", summary="Latest value of each sensor of a facility")
async def facility_latest(facility_id: int, session: Session, actor: CurrentPrincipal) -> dict[str, Any]:
    await service.get(session, actor, FACILITIES, facility_id)
    sensors = (await session.execute(select(Sensor).where(Sensor.facility_id == facility_id)
                                     .order_by(Sensor.id))).scalars().all()
    values = await query.latest(session, [s.id for s in sensors])
    return {"facility": facility_id, "sensors": [
        {"sensor": s.id, "name": s.name, "kind": s.kind.value, "unit": s.unit,
         **({"ts": query.from_us(v.ts).isoformat(), "value": v.value, "quality": v.quality}
            if (v := values.get(s.id)) else {"ts": None, "value": None})}
        for s in sensors]}


class DeadLetterOut(BaseModel):
    id: int
    created_at: datetime
    organization_id: int | None
    sensor_id: int | None
    transport: str
    reason: str
    detail: str
    reading: dict[str, Any]
    replayed_at: datetime | None


@router.get("/deadletter", summary="Readings the pipeline refused, with the reason")
async def list_dead_letters(
    session: Session, actor: CurrentPrincipal, sensor_id: int | None = None, reason: str | None = None,
    replayed: bool | None = None, limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    stmt = select(DeadLetter).order_by(DeadLetter.id.desc())
    if (scope := actor.org_filter()) is not None:
        stmt = stmt.where(DeadLetter.organization_id == scope)
    if sensor_id is not None:
        stmt = stmt.where(DeadLetter.sensor_id == sensor_id)
    if reason is not None:
        stmt = stmt.where(DeadLetter.reason == reason)
    if replayed is not None:
        stmt = stmt.where(DeadLetter.replayed_at.is_not(None) if replayed else DeadLetter.replayed_at.is_(None))
    rows = (await session.execute(stmt.limit(limit).offset(offset))).scalars().all()
    return {"items": [DeadLetterOut.model_validate(r, from_attributes=True) for r in rows]}


class ReplayIn(BaseModel):
    ids: list[int] = Field(min_length=1, max_length=10_000)


@router.post("/deadletter/replay", summary="Send dead letters through the pipeline again (after a fix)")
async def replay_dead_letters(body: ReplayIn, request: Request, session: Session,
                              actor: CurrentPrincipal) -> dict[str, Any]:
    actor.require_role(WRITERS)
    bus = context(request).extras.get("bus")
    if bus is None:
        raise Problem(503, "Bus unavailable", "this process has no bus", type_="unavailable")
    rows = (await session.execute(select(DeadLetter).where(DeadLetter.id.in_(body.ids))
                                  .with_for_update())).scalars().all()
    records, replayed, skipped = [], [], []
    now = utcnow()
    for row in rows:
        if row.organization_id is not None:
            actor.require_org(row.organization_id)
        reading = row.reading
        if row.replayed_at is not None or row.sensor_id is None or "ts" not in reading:
            skipped.append(row.id)
            continue
        ts = query.to_us(datetime.fromisoformat(reading["ts"]))
        records.append(encode(SensorBatch(row.sensor_id, reading.get("unit"), [ts], [float(reading["value"])],
                                          row.organization_id or 0, int(reading.get("device") or 0), "replay",
                                          now.timestamp().__int__() * 1_000_000, f"replay-{row.id}",
                                          Quality.REPLAYED)))
        row.replayed_at = now
        replayed.append(row.id)
    by_org: dict[int | None, list[int]] = {}
    for row in rows:
        if row.id in replayed:
            by_org.setdefault(row.organization_id, []).append(row.id)
    for organization_id, ids in by_org.items():  # one entry per organisation, so each one's auditors see theirs
        await audit.record(session, actor=actor.username, action="replay", entity="dead_letter",
                           entity_id=ids[0] if len(ids) == 1 else None, organization_id=organization_id,
                           after={"replayed": ids})
    if records:
        from ghgwatch.bus import topics

        await bus.publish(topics.READINGS_RAW, records)
    missing = sorted(set(body.ids) - {r.id for r in rows})
    return {"replayed": replayed, "skipped": skipped, "missing": missing}
