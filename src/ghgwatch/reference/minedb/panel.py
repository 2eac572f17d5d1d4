"""The mine × year panel of one variable: from the database or a file, restored, written back."""

from __future__ import annotations

import asyncio
import csv
import io
import math
from typing import Any

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from ghgwatch.kit.problems import Problem
from ghgwatch.reference.minedb import restore, service
from ghgwatch.reference.minedb.models import RefMineYear
from ghgwatch.reference.minedb.tiers import _best
from ghgwatch.security.principal import Principal

VARIABLES = ("relative_m3_t", "production_t", "methane_total_m3_min", "methane_vent_m3_min",
             "methane_drain_m3_min", "drained_m3", "utilised_m3")


def check(variable: str, method: str | None = None) -> None:
    if variable not in VARIABLES:
        raise Problem(422, "Validation failed", "variable {variable}: choose from {choices}",
                      values={"variable": repr(variable), "choices": ", ".join(VARIABLES)}, type_="validation",
                      errors=[{"loc": ["variable"], "msg": "unknown variable"}])
    if method is not None and method not in restore.METHODS:
        raise Problem(422, "Validation failed", "method {method}: choose from {choices}",
                      values={"method": repr(method), "choices": ", ".join(restore.METHODS)}, type_="validation",
                      errors=[{"loc": ["method"], "msg": "unknown method"}])


def from_cells(cells: dict[tuple[str, int], float], year_from: int | None = None,
               year_to: int | None = None) -> tuple[restore.Array, list[str], list[int]]:
    if year_from is not None and year_to is not None and year_from > year_to:
        raise Problem(422, "Validation failed", "year_from {year_from} is after year_to {year_to}",
                      values={"year_from": year_from, "year_to": year_to}, type_="validation",
                      errors=[{"loc": ["year_from"], "msg": "after year_to"}])
    if not cells:
        raise Problem(422, "Validation failed", "the panel has no known value", type_="validation")
    lo = year_from if year_from is not None else min(y for _, y in cells)
    hi = year_to if year_to is not None else max(y for _, y in cells)
    mines = sorted({m for m, _ in cells})
    years = list(range(lo, hi + 1))
    values = np.full((len(mines), len(years)), np.nan)
    index = {m: i for i, m in enumerate(mines)}
    for (m, y), v in cells.items():
        if lo <= y <= hi:
            values[index[m], y - lo] = v
    return values, mines, years


def from_rows(rows: list[dict[str, Any]], variable: str) -> dict[tuple[str, int], float]:
    """Long-format rows (``mine_key``, ``year``, the variable), as exported; row numbers in errors."""
    cells: dict[tuple[str, int], float] = {}
    for number, r in enumerate(rows, start=2):
        if r.get(variable) in (None, ""):
            continue
        try:
            cells[(str(r["mine_key"]), int(float(r["year"])))] = float(r[variable])
        except (KeyError, ValueError, TypeError) as exc:
            raise Problem(422, "Validation failed", "row {number}: needs mine_key, a whole year and a number "
                          "in {variable} ({error})", type_="validation",
                          values={"number": number, "variable": variable, "error": str(exc)}) from exc
    return cells


def filled_csv(filled: restore.Array, marks: list[list[str]], mines: list[str], years: list[int],
               variable: str) -> str:
    """The filled panel in long format: ``mine_key, year, <variable>, <variable>_method`` (``known`` or the
    method that filled the cell)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["mine_key", "year", variable, f"{variable}_method"])
    for i, m in enumerate(mines):
        for t, y in enumerate(years):
            writer.writerow([m, y, f"{filled[i, t]:.6g}", marks[i][t] or "known"])
    return buffer.getvalue()


def filled_cells(values: restore.Array, filled: restore.Array, mines: list[str], years: list[int],
                 method: str) -> list[dict[str, Any]]:
    return [{"mine_key": mines[i], "year": years[t], "value": float(filled[i, t]), "method": method}
            for i, t in zip(*np.nonzero(np.isnan(values)), strict=True) if not math.isnan(filled[i, t])]


async def load(session: AsyncSession, actor: Principal, variable: str, year_from: int | None,
               year_to: int | None) -> dict[tuple[str, int], float]:
    stmt = service.current(RefMineYear, actor).where(getattr(RefMineYear, variable).is_not(None))
    if year_from is not None:
        stmt = stmt.where(RefMineYear.year >= year_from)
    if year_to is not None:
        stmt = stmt.where(RefMineYear.year <= year_to)
    groups: dict[tuple[str, int], list[RefMineYear]] = {}
    for row in (await session.execute(stmt)).scalars():
        groups.setdefault((row.mine_key, row.year), []).append(row)
    cells = {}
    for key, rows in groups.items():
        best = _best(rows, variable, actor)
        if best is not None:
            cells[key] = float(getattr(best, variable))
    return cells


async def restore_db(session: AsyncSession, actor: Principal, variable: str, method: str, *,
                     year_from: int | None = None, year_to: int | None = None,
                     apply: bool = False) -> dict[str, Any]:
    """Restore the visible panel; with ``apply`` write each filled cell into the caller's own rows
    (status ``restored``, the method in ``cell_status``), as a new record or a new version."""
    check(variable, method)
    values, mines, years = from_cells(await load(session, actor, variable, year_from, year_to), year_from, year_to)
    filled, _ = await asyncio.to_thread(restore.restore, values, method)  # seconds of work: off the event loop
    cells = filled_cells(values, filled, mines, years, method)
    if apply:
        owner = None if actor.is_platform_admin else actor.organization_id
        source = f"restored by '{method}' from the {variable} panel {years[0]}-{years[-1]}"
        for c in cells:
            mark = {"status": "restored", "method": method, "source": source}
            own = (await session.execute(service.current(RefMineYear, actor).where(
                RefMineYear.mine_key == c["mine_key"], RefMineYear.year == c["year"],
                RefMineYear.organization_id.is_(None) if owner is None
                else RefMineYear.organization_id == owner))).scalar()
            if own is None:
                await service.create(session, actor, service.MINE_YEARS, {
                    "mine_key": c["mine_key"], "year": c["year"], variable: c["value"], "organization_id": owner,
                    "source": source, "data_status": "restored", "cell_status": {variable: mark}})
            else:
                await service.correct(session, actor, service.MINE_YEARS, own.record_key, {
                    variable: c["value"], "cell_status": {**(own.cell_status or {}), variable: mark}})
    return {"variable": variable, "method": method, "years": [years[0], years[-1]], "mines": len(mines),
            "known": int(np.sum(~np.isnan(values))), "filled": len(cells), "applied": apply, "cells": cells}
