"""Activity data per facility and period: validated against the calc input schema, scoped, audited.

The caller owns the transaction (API: one per request; CLI: one per command), so a change and its audit
entry commit together.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ghgwatch import audit
from ghgwatch.inventory import activities as act
from ghgwatch.inventory.models import ActivityData
from ghgwatch.inventory.schemas import ActivityDataIn, ActivityDataPatch
from ghgwatch.kit.problems import Problem, not_found
from ghgwatch.registry.models import EmissionSource, Facility
from ghgwatch.security.principal import WRITERS, Principal
from ghgwatch.store.patch import refuse_nulls

_ACTIVITY: TypeAdapter[Any] = TypeAdapter(act.Activity)
ENTITY = "activity_data"


def _invalid(errors: list[dict[str, Any]], detail: str = "activity data is not valid") -> Problem:
    return Problem(422, "Validation failed", detail, type_="validation", errors=errors)


def check_activity(activity_type: str, data: dict[str, Any]) -> None:
    """Validate ``data`` as the fields of a calc input activity of ``activity_type`` (422 naming the field)."""
    reserved = sorted({"id", "type"} & data.keys())
    if reserved:
        raise _invalid([{"loc": ["data", k], "msg": "set by the platform; do not give it"} for k in reserved])
    try:
        _ACTIVITY.validate_python({"id": "check", "type": activity_type, **data})
    except ValidationError as exc:
        errors: list[dict[str, Any]] = []
        for e in exc.errors(include_url=False):
            loc = [str(p) for p in e["loc"]]
            if e["type"] in ("union_tag_invalid", "union_tag_not_found"):
                errors.append({"loc": ["activity_type"], "msg": f"unknown activity type {activity_type!r}"})
                continue
            if loc and loc[0] == activity_type:
                loc = loc[1:]
            msg = str(e["msg"]).removeprefix("Value error, ")  # pydantic's prefix, not for people
            errors.append({"loc": ["data", *loc], "msg": msg, "type": e["type"]})
        raise _invalid(errors) from None


async def _facility(session: AsyncSession, facility_id: int) -> Facility:
    facility = await session.get(Facility, facility_id)
    if facility is None:
        raise _invalid([{"loc": ["facility_id"], "msg": "does not exist"}], f"facility {facility_id} does not exist")
    return facility


async def _check_source(session: AsyncSession, facility_id: int, source_id: int | None) -> None:
    if source_id is None:
        return
    source = await session.get(EmissionSource, source_id)
    if source is None or source.facility_id != facility_id:
        raise _invalid([{"loc": ["source_id"], "msg": f"no source {source_id} at facility {facility_id}"}])


async def get(session: AsyncSession, actor: Principal, key: int) -> ActivityData:
    row = await session.get(ActivityData, key)
    if row is None:
        raise not_found("activity data", key)
    actor.require_org(row.organization_id)
    return row


async def create(session: AsyncSession, actor: Principal, body: ActivityDataIn,
                 *, organization_id: int | None = None) -> ActivityData:
    """Create a row; ``organization_id`` (CLI import) additionally requires the facility to belong to it."""
    actor.require_role(WRITERS)
    facility = await _facility(session, body.facility_id)
    actor.require_org(facility.organization_id)
    if organization_id is not None and facility.organization_id != organization_id:
        raise _invalid([{"loc": ["facility_id"], "msg": f"not a facility of organisation {organization_id}"}])
    await _check_source(session, facility.id, body.source_id)
    check_activity(body.activity_type, body.data)
    row = ActivityData(organization_id=facility.organization_id, **body.model_dump())
    session.add(row)
    await session.flush()
    await audit.record(session, actor=actor.username, action="create", entity=ENTITY, entity_id=row.id,
                       organization_id=row.organization_id, after=audit.snapshot(row))
    return row


async def update(session: AsyncSession, actor: Principal, key: int, body: ActivityDataPatch) -> ActivityData:
    row = await get(session, actor, key)
    actor.require_role(WRITERS)
    before = audit.snapshot(row)
    values = body.model_dump(exclude_unset=True)
    refuse_nulls(ActivityData, values)
    for name, value in values.items():
        setattr(row, name, value)
    if row.period_end < row.period_start:
        raise _invalid([{"loc": ["period_end"], "msg": "before period_start"}])
    await _check_source(session, row.facility_id, row.source_id)
    check_activity(row.activity_type, row.data)
    await session.flush()
    await audit.record_update(session, actor=actor.username, entity=ENTITY, entity_id=key,
                              organization_id=row.organization_id, before=before, obj=row)
    return row


async def delete(session: AsyncSession, actor: Principal, key: int) -> None:
    row = await get(session, actor, key)
    actor.require_role(WRITERS)
    before = audit.snapshot(row)
    await session.delete(row)
    await session.flush()
    await audit.record(session, actor=actor.username, action="delete", entity=ENTITY, entity_id=key,
                       organization_id=int(before["organization_id"]), before=before)


def overlapping(stmt: Select[Any], start: date, end: date) -> Select[Any]:
    """Rows whose period [period_start, period_end] overlaps [start, end] (both inclusive)."""
    return stmt.where(ActivityData.period_start <= end, ActivityData.period_end >= start)


async def list_rows(
    session: AsyncSession,
    actor: Principal,
    *,
    organization_id: int | None = None,
    facility_id: int | None = None,
    year: int | None = None,
    activity_type: str | None = None,
    limit: int | None = 100,
    offset: int = 0,
) -> tuple[list[ActivityData], int]:
    stmt: Select[Any] = select(ActivityData)
    scope = actor.org_filter()
    if scope is not None:
        stmt = stmt.where(ActivityData.organization_id == scope)
    if organization_id is not None:
        stmt = stmt.where(ActivityData.organization_id == organization_id)
    if facility_id is not None:
        stmt = stmt.where(ActivityData.facility_id == facility_id)
    if activity_type is not None:
        stmt = stmt.where(ActivityData.activity_type == activity_type)
    if year is not None:
        stmt = overlapping(stmt, date(year, 1, 1), date(year, 12, 31))
    total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
    stmt = stmt.order_by(ActivityData.period_start, ActivityData.id).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list((await session.execute(stmt)).scalars()), int(total)
