"""Create, read, update, delete and list registry rows, with scoping and an audit entry per change.

The caller owns the transaction (API: one per request; CLI: one per command), so a change and its audit
entry commit together.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Select, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ghgwatch import audit
from ghgwatch.kit.problems import Problem, Term, conflict, forbidden, not_found
from ghgwatch.registry.models import Organization
from ghgwatch.registry.specs import EntitySpec
from ghgwatch.security.principal import WRITERS, Principal
from ghgwatch.store.base import Base
from ghgwatch.store.patch import check_range, refuse_nulls


def _org_of(spec: EntitySpec, row: Base) -> int:
    return int(row.id if spec.model is Organization else row.organization_id)  # type: ignore[attr-defined]


def _check_write(spec: EntitySpec, actor: Principal, organization_id: int | None) -> None:
    actor.require_role(WRITERS)
    if spec.model is Organization and organization_id is None and not actor.is_platform_admin:
        raise forbidden("only a platform administrator may create organisations")
    if organization_id is not None:
        actor.require_org(organization_id)


async def _inherit(session: AsyncSession, spec: EntitySpec, values: dict[str, Any]) -> None:
    if spec.parent is None:
        return
    parent = await session.get(spec.parent.model, values[spec.parent.field])
    if parent is None:
        raise Problem(422, "Invalid reference", "{field} {key} does not exist", type_="validation",
                      values={"field": spec.parent.field, "key": values[spec.parent.field]},
                      errors=[{"loc": [spec.parent.field], "msg": "does not exist", "type": "reference"}])
    for name in spec.parent.inherits:
        values[name] = getattr(parent, name)


async def _flush(session: AsyncSession, spec: EntitySpec) -> None:
    try:
        await session.flush()
    except IntegrityError as exc:
        raise conflict("{entity}: {error}", entity=Term(spec.name), error=exc.orig) from exc  # the database's words


async def get(session: AsyncSession, actor: Principal, spec: EntitySpec, key: int) -> Base:
    row = await session.get(spec.model, key)
    if row is None:
        raise not_found(spec.name, key)
    actor.require_org(_org_of(spec, row))
    return row


async def create(session: AsyncSession, actor: Principal, spec: EntitySpec, data: BaseModel) -> Base:
    values = data.model_dump()
    await _inherit(session, spec, values)
    _check_write(spec, actor, values.get("organization_id"))
    row = spec.model(**values)
    session.add(row)
    await _flush(session, spec)
    await audit.record(session, actor=actor.username, action="create", entity=spec.name, entity_id=row.id,  # type: ignore[attr-defined]
                       organization_id=_org_of(spec, row), after=audit.snapshot(row))
    return row


async def update(session: AsyncSession, actor: Principal, spec: EntitySpec, key: int, data: BaseModel) -> Base:
    row = await get(session, actor, spec, key)
    _check_write(spec, actor, _org_of(spec, row))
    before = audit.snapshot(row)
    values = data.model_dump(exclude_unset=True)
    refuse_nulls(spec.model, values)
    for name, value in values.items():
        setattr(row, name, value)
    check_range(row)  # against the stored values too: two PATCHes must not leave range_min >= range_max
    await _flush(session, spec)
    await audit.record_update(session, actor=actor.username, entity=spec.name, entity_id=key,
                              organization_id=_org_of(spec, row), before=before, obj=row)
    return row


async def delete(session: AsyncSession, actor: Principal, spec: EntitySpec, key: int) -> None:
    row = await get(session, actor, spec, key)
    _check_write(spec, actor, _org_of(spec, row))
    if spec.model is Organization and not actor.is_platform_admin:
        raise forbidden("only a platform administrator may delete organisations")
    before = audit.snapshot(row)
    await session.delete(row)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise conflict("{entity} {key} still has dependent rows; delete or move them first", entity=Term(spec.name),
                       key=key) from exc
    await audit.record(session, actor=actor.username, action="delete", entity=spec.name, entity_id=key,
                       organization_id=before.get("organization_id", before["id"]), before=before)


def _listing(spec: EntitySpec, actor: Principal, filters: Mapping[str, Any], q: str | None) -> Select[Any]:
    stmt: Select[Any] = select(spec.model)
    scope = actor.org_filter()
    if scope is not None:
        stmt = stmt.where(spec.column("id" if spec.model is Organization else "organization_id") == scope)
    for name, value in filters.items():
        if value is not None:
            stmt = stmt.where(spec.column(name) == value)
    if q:
        pattern = f"%{q.lower()}%"
        stmt = stmt.where(or_(*(func.lower(spec.column(c)).like(pattern) for c in spec.search)))
    return stmt


async def list_rows(
    session: AsyncSession,
    actor: Principal,
    spec: EntitySpec,
    *,
    filters: Mapping[str, Any] | None = None,
    q: str | None = None,
    limit: int | None = 100,
    offset: int = 0,
    sort: str = "id",
) -> tuple[list[Base], int]:
    stmt = _listing(spec, actor, filters or {}, q)
    total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
    descending = sort.startswith("-")
    column = spec.column(sort.lstrip("-"))
    stmt = stmt.order_by(column.desc() if descending else column.asc(), spec.column("id")).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list((await session.execute(stmt)).scalars()), int(total)
