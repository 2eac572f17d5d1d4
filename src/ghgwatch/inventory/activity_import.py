"""CSV/XLSX import of activity data, with the row numbering and modes of the registry import.

Columns: ``facility_id``, ``activity_type``, ``period_start`` and ``period_end`` (or ``year`` for a
calendar year), optional ``source_id``, ``unit``, ``provenance``, ``comment``, ``data`` (a JSON object);
any other column is an activity field (``coal_t``, ``depth_m``, ``fuel``, ...), numbers parsed as numbers.
For ``stationary_combustion`` and ``mobile_combustion`` the ``unit`` column is also the fuel quantity's unit.
The header is row 1; the first data row is row 2.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from ghgwatch.inventory import activity_data
from ghgwatch.inventory.schemas import ActivityDataIn
from ghgwatch.kit.problems import Problem
from ghgwatch.registry.tabular import ImportMode, ImportReport, RowError
from ghgwatch.security.principal import Principal

_COLUMNS = frozenset(ActivityDataIn.model_fields) - {"data"}
_FUEL_TYPES = frozenset({"stationary_combustion", "mobile_combustion"})


def _number(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    text = value.strip()
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            continue
    return text


def _day(value: Any) -> Any:
    return value.date() if isinstance(value, datetime) else value


def row_to_input(raw: dict[str, Any]) -> dict[str, Any]:
    """One table row → the fields of :class:`ActivityDataIn` (validation happens afterwards)."""
    row = dict(raw)
    out: dict[str, Any] = {k: _day(row.pop(k)) for k in list(row) if k in _COLUMNS}
    data: dict[str, Any] = {}
    if "data" in row:
        text = row.pop("data")
        parsed = json.loads(text) if isinstance(text, str) else text
        if not isinstance(parsed, dict):
            raise ValueError("data must be a JSON object")
        data.update(parsed)
    year = row.pop("year", None)
    if year is not None:
        y = int(_number(year))
        out.setdefault("period_start", date(y, 1, 1))
        out.setdefault("period_end", date(y, 12, 31))
    data.update({k: _number(v) for k, v in row.items()})
    if out.get("activity_type") in _FUEL_TYPES and "unit" in out:
        data.setdefault("unit", out["unit"])  # the row's unit column is the fuel quantity's unit
    out["data"] = data
    for key in ("facility_id", "source_id"):
        if key in out:
            out[key] = _number(out[key])
    return out


async def import_rows(session: AsyncSession, actor: Principal, rows: list[dict[str, Any]], mode: ImportMode,
                      *, organization_id: int | None = None) -> ImportReport:
    """Each row runs in a savepoint; in ``atomic`` mode everything is rolled back if any row is bad."""
    outer = await session.begin_nested()
    report = ImportReport(mode)
    for number, raw in enumerate(rows, start=2):
        try:
            body = ActivityDataIn.model_validate(row_to_input(raw))
        except ValidationError as exc:
            report.errors.append(RowError(number, [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]}
                                                   for e in exc.errors(include_url=False)]))
            continue
        except (ValueError, TypeError) as exc:
            report.errors.append(RowError(number, [{"loc": [], "msg": str(exc)}]))
            continue
        try:
            async with session.begin_nested():
                await activity_data.create(session, actor, body, organization_id=organization_id)
            report.created += 1
        except Problem as exc:
            if exc.status == 403:
                raise
            report.errors.append(RowError(number, exc.errors or [{"loc": [], "msg": exc.detail or exc.title}]))
    if report.written:
        await outer.commit()
    else:
        await outer.rollback()
    return report
