"""Reads and versioned writes of the mine reference database, with its visibility rules.

Visibility: public rows (``organization_id`` NULL) and published rows are readable by every signed-in user;
an organisation's unpublished rows only by that organisation (and platform administrators). Writes: public
rows by platform administrators only; an organisation's rows by its administrators and engineers.
A correction never overwrites: it inserts version n+1 and marks version n not current.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import ColumnElement, Select, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ghgwatch import audit
from ghgwatch.kit.problems import Problem, forbidden
from ghgwatch.reference.minedb.models import RefMine, RefMineYear, RefSeam
from ghgwatch.reference.minedb.schemas import MineIn, MineYearIn, SeamIn
from ghgwatch.registry.models import Organization
from ghgwatch.security.principal import WRITERS, Principal

Model = type[RefMine] | type[RefMineYear] | type[RefSeam]
Row = RefMine | RefMineYear | RefSeam
SYSTEM_COLUMNS = ("id", "record_key", "version", "is_current", "deleted", "created_by", "created_at")


@dataclass(frozen=True)
class Kind:
    path: str
    model: Any
    schema: type[BaseModel]
    prefix: str

    @property
    def entity(self) -> str:
        return str(self.model.__tablename__)

    def columns(self) -> list[str]:
        return [c.name for c in self.model.__table__.columns]


MINES = Kind("mines", RefMine, MineIn, "m")
MINE_YEARS = Kind("mine-years", RefMineYear, MineYearIn, "y")
SEAMS = Kind("seams", RefSeam, SeamIn, "s")
KINDS = {k.path: k for k in (MINES, MINE_YEARS, SEAMS)}


def kind(path: str) -> Kind:
    found = KINDS.get(path)
    if found is None:
        raise Problem(404, "Not found", "unknown reference table {path}; choose from {kinds}",
                      values={"path": repr(path), "kinds": ", ".join(KINDS)})
    return found


def as_dict(row: Any) -> dict[str, Any]:
    out = {c.name: getattr(row, c.name) for c in type(row).__table__.columns}
    out["created_at"] = out["created_at"].isoformat() if out.get("created_at") else None
    return out


def readable(model: Any, actor: Principal) -> ColumnElement[bool]:
    if actor.is_platform_admin:
        return model.id.is_not(None)  # type: ignore[no-any-return]
    own = model.organization_id == actor.organization_id if actor.organization_id is not None else false()
    return or_(model.organization_id.is_(None), model.published.is_(True), own)


def current(model: Any, actor: Principal) -> Select[Any]:
    return select(model).where(model.is_current.is_(True), model.deleted.is_(False), readable(model, actor))


def _may_write(actor: Principal, organization_id: int | None) -> None:
    actor.require_role(WRITERS)
    if organization_id is None:
        if not actor.is_platform_admin:
            raise forbidden("only a platform administrator may write public reference rows")
    else:
        actor.require_org(organization_id)


async def get(session: AsyncSession, actor: Principal, k: Kind, record_key: str) -> Any:
    row = (await session.execute(current(k.model, actor).where(k.model.record_key == record_key))).scalar()
    if row is None:
        raise Problem(404, "Not found", "{table} record {key} does not exist or is not visible to you",
                      values={"table": k.path, "key": repr(record_key)})
    return row


async def history(session: AsyncSession, actor: Principal, k: Kind, record_key: str) -> list[Any]:
    rows = list((await session.execute(
        select(k.model).where(k.model.record_key == record_key, readable(k.model, actor))
        .order_by(k.model.version))).scalars())
    if not rows:
        raise Problem(404, "Not found", "{table} record {key} does not exist or is not visible to you",
                      values={"table": k.path, "key": repr(record_key)})
    return rows


async def _check_links(session: AsyncSession, actor: Principal, k: Kind, data: dict[str, Any]) -> None:
    if k is MINES:
        return
    mine = (await session.execute(current(RefMine, actor).where(RefMine.record_key == data["mine_key"]))).scalar()
    if mine is None:
        raise Problem(422, "Validation failed", "mine_key {key}: no such mine visible to you",
                      values={"key": repr(data["mine_key"])}, type_="validation",
                      errors=[{"loc": ["mine_key"], "msg": "no such mine"}])
    if k is MINE_YEARS:
        clash = (await session.execute(select(RefMineYear.record_key).where(
            RefMineYear.is_current.is_(True), RefMineYear.deleted.is_(False),
            RefMineYear.mine_key == data["mine_key"], RefMineYear.year == data["year"],
            RefMineYear.organization_id.is_(None) if data["organization_id"] is None
            else RefMineYear.organization_id == data["organization_id"],
            RefMineYear.record_key != data.get("record_key", "")))).scalar()
        if clash is not None:
            raise Problem(409, "Conflict", "mine {mine} year {year} already has record {clash} for this owner; "
                          "correct that record instead", type_="conflict",
                          values={"mine": data["mine_key"], "year": data["year"], "clash": repr(clash)})


def _validate(k: Kind, data: dict[str, Any]) -> dict[str, Any]:
    try:
        return k.schema.model_validate(data).model_dump(mode="json")
    except ValidationError as exc:
        errors = [{"loc": [str(x) for x in e["loc"]], "msg": e["msg"]} for e in exc.errors()]
        fields = ", ".join(".".join(e["loc"]) for e in errors)
        raise Problem(422, "Validation failed", "invalid fields: {fields}", values={"fields": fields},
                      type_="validation",
                      errors=errors) from exc


async def create(session: AsyncSession, actor: Principal, k: Kind, body: dict[str, Any]) -> Any:
    data = _validate(k, body)
    if "organization_id" not in body or body.get("organization_id") is None:
        data["organization_id"] = None if actor.is_platform_admin else actor.organization_id
    _may_write(actor, data["organization_id"])
    if data["organization_id"] is not None and await session.get(Organization, data["organization_id"]) is None:
        raise Problem(422, "Validation failed", "organization_id {id}: no such organisation",
                      values={"id": data["organization_id"]}, type_="validation",
                      errors=[{"loc": ["organization_id"], "msg": "no such organisation"}])
    await _check_links(session, actor, k, data)
    row = k.model(**data, record_key=f"{k.prefix}-{uuid.uuid4().hex[:20]}", version=1, is_current=True,
                  deleted=False, created_by=actor.username)
    session.add(row)
    await session.flush()
    await audit.record(session, actor=actor.username, action="create", entity=k.entity, entity_id=row.record_key,
                       organization_id=data["organization_id"], after=audit.snapshot(row))
    return row


async def correct(session: AsyncSession, actor: Principal, k: Kind, record_key: str, patch: dict[str, Any],
                  *, delete: bool = False) -> Any:
    """Insert version n+1 with ``patch`` applied (or a tombstone when ``delete``); version n stays."""
    old = await get(session, actor, k, record_key)
    _may_write(actor, old.organization_id)
    unknown = sorted(set(patch) - set(k.schema.model_fields))
    if unknown:
        raise Problem(422, "Validation failed", "unknown fields: {fields}",
                      values={"fields": ", ".join(unknown)}, type_="validation",
                      errors=[{"loc": [u], "msg": "unknown field"} for u in unknown])
    base = {f: getattr(old, f) for f in k.schema.model_fields}
    data = _validate(k, {**base, **patch})
    if data["organization_id"] != old.organization_id:
        raise Problem(422, "Validation failed", "organization_id of a record cannot change", type_="validation",
                      errors=[{"loc": ["organization_id"], "msg": "cannot change"}])
    if not delete:
        await _check_links(session, actor, k, {**data, "record_key": record_key})
    old.is_current = False
    await session.flush()  # the old version stops being current before the new one is written
    row = k.model(**data, record_key=record_key, version=old.version + 1, is_current=True, deleted=delete,
                  created_by=actor.username)
    session.add(row)
    await session.flush()
    await audit.record(session, actor=actor.username, action="delete" if delete else "correct", entity=k.entity,
                       entity_id=record_key, organization_id=old.organization_id, before=audit.snapshot(old),
                       after=audit.snapshot(row))
    return row


async def unchanged(session: AsyncSession, actor: Principal, k: Kind, record_key: str,
                    patch: dict[str, Any]) -> bool:
    """True when ``patch`` would not change the current version (an exported row imported again)."""
    old = await get(session, actor, k, record_key)
    if set(patch) - set(k.schema.model_fields):
        return False
    base = {f: getattr(old, f) for f in k.schema.model_fields}
    try:
        return bool(k.schema.model_validate({**base, **patch}) == k.schema.model_validate(base))
    except ValidationError:
        return False


async def search(session: AsyncSession, actor: Principal, k: Kind, *, q: str | None = None,
                 filters: dict[str, Any] | None = None, year_from: int | None = None, year_to: int | None = None,
                 limit: int = 100, offset: int = 0) -> tuple[list[Any], int]:
    stmt = current(k.model, actor)
    for name, value in (filters or {}).items():
        if value is not None:
            stmt = stmt.where(getattr(k.model, name) == value)
    if q:
        # SQLite's lower() and LIKE fold ASCII letters only, so a Russian name typed in lower case would miss
        # "Шахта Альфа": the spellings people type (as typed, lower, Capitalised, Title, UPPER) are tried too.
        q = q.strip()
        patterns = sorted({f"%{v}%" for v in (q, q.lower(), q.capitalize(), q.title(), q.upper())})
        text_columns = {MINES: ("name_en", "name_ru", "gem_id", "owner", "coalfield", "district"),
                        MINE_YEARS: ("mine_key",), SEAMS: ("mine_key", "seam_index")}[k]
        stmt = stmt.where(or_(*(func.lower(getattr(k.model, c)).like(p) | getattr(k.model, c).like(p)
                                for c in text_columns for p in patterns)))
    if k is MINE_YEARS:
        if year_from is not None:
            stmt = stmt.where(RefMineYear.year >= year_from)
        if year_to is not None:
            stmt = stmt.where(RefMineYear.year <= year_to)
    total = int((await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one())
    order = {MINES: (RefMine.name_en, RefMine.id), MINE_YEARS: (RefMineYear.mine_key, RefMineYear.year,
                                                                 RefMineYear.id),
             SEAMS: (RefSeam.mine_key, RefSeam.seam_index, RefSeam.id)}[k]
    rows = list((await session.execute(stmt.order_by(*order).limit(limit).offset(offset))).scalars())
    return rows, total
