"""User-defined factor sets kept in the database (same schema as the shipped JSON sets), audited.

A set with ``organization_id`` is visible to that organisation; one without it to everyone, and only a
platform administrator may write it. Runs refer to a stored set as ``name@version``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ghgwatch import audit
from ghgwatch.inventory.factors import factor_set_from_data
from ghgwatch.inventory.models import FactorSetRecord
from ghgwatch.inventory.schemas import FactorSetIn, FactorSetPatch
from ghgwatch.kit.problems import Problem, conflict, forbidden, not_found
from ghgwatch.security.principal import WRITERS, Principal

ENTITY = "factor_set"


def set_data(name: str, version: str, values: dict[str, Any], description: str | None = None) -> dict[str, Any]:
    """The raw set document (what the engine loads and what ``inputs_sha256`` covers)."""
    data = {k: v for k, v in values.items() if k not in ("name", "version")}
    data.setdefault("description", description or "")
    return {**data, "name": name, "version": version}


def validate_values(name: str, version: str, values: dict[str, Any]) -> None:
    try:
        factor_set_from_data(set_data(name, version, values))
    except ValidationError as exc:
        raise Problem(422, "Validation failed", "the factor set does not follow the factor-set schema",
                      type_="validation",
                      errors=[{"loc": ["values", *map(str, e["loc"])], "msg": e["msg"]}
                              for e in exc.errors(include_url=False)]) from None


def _check_write(actor: Principal, organization_id: int | None) -> None:
    actor.require_role(WRITERS)
    if organization_id is None:
        if not actor.is_platform_admin:
            raise forbidden("only a platform administrator may write a factor set shared by every organisation")
    else:
        actor.require_org(organization_id)


def _visible(actor: Principal) -> Any:
    scope = actor.org_filter()
    if scope is None:
        return True
    return or_(FactorSetRecord.organization_id.is_(None), FactorSetRecord.organization_id == scope)


async def get(session: AsyncSession, actor: Principal, key: int) -> FactorSetRecord:
    row = await session.get(FactorSetRecord, key)
    if row is None:
        raise not_found("factor set", key)
    if row.organization_id is not None:
        actor.require_org(row.organization_id)
    return row


async def list_sets(session: AsyncSession, actor: Principal, name: str | None = None) -> list[FactorSetRecord]:
    stmt = select(FactorSetRecord).where(_visible(actor))
    if name is not None:
        stmt = stmt.where(FactorSetRecord.name == name)
    return list((await session.execute(stmt.order_by(FactorSetRecord.name, FactorSetRecord.version))).scalars())


async def create(session: AsyncSession, actor: Principal, body: FactorSetIn) -> FactorSetRecord:
    if actor.organization_id is not None and body.organization_id is None:
        body = body.model_copy(update={"organization_id": actor.organization_id})
    _check_write(actor, body.organization_id)
    validate_values(body.name, body.version, body.values)
    row = FactorSetRecord(**body.model_dump())
    session.add(row)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise conflict("factor set {name} version {version} exists; give a new version", name=body.name,
                       version=body.version) from exc
    await audit.record(session, actor=actor.username, action="create", entity=ENTITY, entity_id=row.id,
                       organization_id=row.organization_id, after=audit.snapshot(row))
    return row


async def update(session: AsyncSession, actor: Principal, key: int, body: FactorSetPatch) -> FactorSetRecord:
    row = await get(session, actor, key)
    _check_write(actor, row.organization_id)
    before = audit.snapshot(row)
    changes = body.model_dump(exclude_unset=True)
    if changes.get("values") is not None:
        validate_values(row.name, row.version, changes["values"])
    for name, value in changes.items():
        if value is not None or name == "description":
            setattr(row, name, value)
    await session.flush()
    await audit.record_update(session, actor=actor.username, entity=ENTITY, entity_id=key,
                              organization_id=row.organization_id, before=before, obj=row)
    return row


async def delete(session: AsyncSession, actor: Principal, key: int) -> None:
    row = await get(session, actor, key)
    _check_write(actor, row.organization_id)
    before = audit.snapshot(row)
    await session.delete(row)
    await session.flush()
    await audit.record(session, actor=actor.username, action="delete", entity=ENTITY, entity_id=key,
                       organization_id=before["organization_id"], before=before)


async def resolve(session: AsyncSession, actor: Principal, names: Iterable[str]) -> dict[str, object]:
    """Raw data of the stored sets named ``name@version`` among ``names`` (others are left to the engine)."""
    out: dict[str, object] = {}
    for ref in names:
        name, sep, version = ref.partition("@")
        if not sep:
            continue
        row = (await session.execute(select(FactorSetRecord).where(
            FactorSetRecord.name == name, FactorSetRecord.version == version, _visible(actor)))).scalar_one_or_none()
        if row is None:
            raise Problem(422, "Validation failed", "no stored factor set {ref}", type_="validation",
                          errors=[{"loc": ["factor_sets"], "msg": f"unknown factor set {ref!r}"}],
                          values={"ref": repr(ref)})
        out[ref] = set_data(row.name, row.version, row.values, row.description)
    return out
