"""Reference data API: the mine reference database (mines, mine-years, seams; CRUD with versioned corrections,
search, paging, CSV/XLSX import and export), Tier 1/2/3 of a mine-year, panel restoration and its evaluation.
GWP sets: ``GET /reference/gwp`` in ``inventory.run_endpoints``.

No ``from __future__ import annotations``: FastAPI reads the annotations at run time.
"""

import asyncio
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Body, File, Header, Query, Response, UploadFile
from fastapi.responses import JSONResponse

from ghgwatch import i18n
from ghgwatch.kit.problems import Problem, too_large
from ghgwatch.reference import gem
from ghgwatch.reference.minedb import panel, restore, service, tabular, tiers
from ghgwatch.reference.minedb.service import Kind
from ghgwatch.registry.tabular import XLSX_MEDIA, ImportMode, TableFormat, read_table
from ghgwatch.security.principal import WRITERS
from ghgwatch.web.deps import CurrentPrincipal, Session

router = APIRouter(prefix="/reference", tags=["reference"])
MAX_IMPORT_BYTES = 20 * 1024 * 1024
Limit = Annotated[int, Query(ge=1, le=10_000)]
Offset = Annotated[int, Query(ge=0)]
TABLE_RESPONSES: dict[int | str, dict[str, Any]] = {200: {"description": "The table", "content": {
    "text/csv": {"schema": {"type": "string"}}, XLSX_MEDIA: {"schema": {"type": "string", "format": "binary"}}}}}
"""The documented answer of an export (the OpenAPI document would otherwise say JSON)."""


def _filters(k: Kind, **given: Any) -> dict[str, Any]:
    allowed = {service.MINES: ("gem_id", "in_kuzbass", "mining_method", "mine_status", "organization_id"),
               service.MINE_YEARS: ("mine_key", "year", "organization_id"),
               service.SEAMS: ("mine_key", "organization_id")}[k]
    return {name: value for name, value in given.items() if name in allowed and value is not None}


def _page(k: Kind, rows: list[Any], total: int, limit: int, offset: int) -> dict[str, Any]:
    out = {"items": [service.as_dict(r) for r in rows], "total": total, "limit": limit, "offset": offset}
    return {"credit": gem.CREDIT, **out} if k is service.MINES else out


# Panel restoration and evaluation come before the ``/{key}`` routes of mine-years.
@router.post("/mine-years/restore", summary="Restore the gaps of the mine × year panel",
             description="Methods: mean, interpolation, regression (adaptive global), knn (local-global, "
                         "trained). `apply=true` writes each filled cell into your own rows, status `restored`.")
async def restore_panel(session: Session, actor: CurrentPrincipal, variable: str = "relative_m3_t",
                        method: str = "knn", year_from: int | None = None, year_to: int | None = None,
                        apply: bool = False) -> dict[str, Any]:
    if apply:
        actor.require_role(WRITERS)
    out = await panel.restore_db(session, actor, variable, method, year_from=year_from, year_to=year_to,
                                 apply=apply)
    await session.commit()
    return out


@router.post("/mine-years/evaluate", summary="Evaluate the restoration methods on the panel",
             description="Hides `fraction` of the known cells at random `repeats` times and reports the mean "
                         "absolute error in % per method. `synthetic=true` uses the built-in SYNTHETIC panel.")
async def evaluate_panel(session: Session, actor: CurrentPrincipal, variable: str = "relative_m3_t",
                         year_from: int | None = None, year_to: int | None = None,
                         fraction: Annotated[float, Query(gt=0, lt=1)] = 0.1,
                         repeats: Annotated[int, Query(ge=1, le=20)] = 3, seed: int = 0,
                         synthetic: bool = False) -> dict[str, Any]:
    panel.check(variable)
    if synthetic:
        values, _ = restore.synthetic_panel(seed=seed + 7)
    else:
        values, _, _ = panel.from_cells(await panel.load(session, actor, variable, year_from, year_to),
                                        year_from, year_to)
    try:
        # seconds of numpy/scikit-learn work: in a worker thread, not on the event loop
        results = await asyncio.to_thread(restore.evaluate, values, fraction=fraction, repeats=repeats, seed=seed)
    except ValueError as exc:
        raise Problem(422, "Validation failed", str(exc), type_="validation") from exc
    out = {"variable": variable, "synthetic": synthetic, "mines": values.shape[0], "years": values.shape[1],
           "known": int((~np.isnan(values)).sum()), "fraction": fraction, "repeats": repeats,
           "results": [r.__dict__ for r in results]}
    if synthetic:
        out["label"] = "SYNTHETIC: generated for testing the methods, no real mine is described"
    return out


async def _upload_panel(file: UploadFile, variable: str,
                        format: TableFormat | None) -> tuple[Any, list[str], list[int]]:
    panel.check(variable)
    data = await file.read(MAX_IMPORT_BYTES + 1)
    if len(data) > MAX_IMPORT_BYTES:
        raise too_large(MAX_IMPORT_BYTES)
    fmt = format or (TableFormat.XLSX if (file.filename or "").endswith(".xlsx") else TableFormat.CSV)
    return panel.from_cells(panel.from_rows(read_table(data, fmt), variable))


@router.post("/panel/restore", summary="Restore the gaps of an uploaded mine × year panel",
             response_class=Response, responses={200: {"description": "The filled panel", "content": {
                 "text/csv": {"schema": {"type": "string"}}, "application/json": {"schema": {"type": "object"}}}}},
             description="A long-format CSV/XLSX (`mine_key`, `year`, the variable), as `mine-years/export` "
                         "writes it. Answers the filled panel as CSV with a `<variable>_method` column (`known` "
                         "or the method), or as JSON (`format_out=json`). Nothing is stored.")
async def restore_file(_: CurrentPrincipal, file: Annotated[UploadFile, File()], variable: str = "relative_m3_t",
                       method: str = "knn", format: TableFormat | None = None,
                       format_out: Annotated[str, Query(pattern="^(csv|json)$")] = "csv") -> Response:
    panel.check(variable, method)
    values, mines, years = await _upload_panel(file, variable, format)
    filled, marks = await asyncio.to_thread(restore.restore, values, method)
    if format_out == "json":
        return JSONResponse({"variable": variable, "method": method, "years": [years[0], years[-1]],
                             "mines": len(mines), "known": int((~np.isnan(values)).sum()),
                             "cells": panel.filled_cells(values, filled, mines, years, method)})
    return Response(panel.filled_csv(filled, marks, mines, years, variable), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{variable}-{method}.csv"'})


@router.post("/panel/evaluate", summary="Evaluate the restoration methods on an uploaded panel",
             description="Hides `fraction` of the known cells at random `repeats` times and reports the mean "
                         "absolute error in % per method.")
async def evaluate_file(_: CurrentPrincipal, file: Annotated[UploadFile, File()], variable: str = "relative_m3_t",
                        format: TableFormat | None = None,
                        fraction: Annotated[float, Query(gt=0, lt=1)] = 0.1,
                        repeats: Annotated[int, Query(ge=1, le=20)] = 3, seed: int = 0) -> dict[str, Any]:
    values, mines, years = await _upload_panel(file, variable, format)
    try:
        results = await asyncio.to_thread(restore.evaluate, values, fraction=fraction, repeats=repeats, seed=seed)
    except ValueError as exc:
        raise Problem(422, "Validation failed", str(exc), type_="validation") from exc
    return {"variable": variable, "mines": len(mines), "years": [years[0], years[-1]],
            "known": int((~np.isnan(values)).sum()), "fraction": fraction, "repeats": repeats,
            "results": [r.__dict__ for r in results]}


@router.get("/mines/{key}/tiers", summary="Tier 1, 2 and 3 of a mine-year side by side",
            description="Tier 2 uses the relative methane content of the reference database; Tier 3 the "
                        "telemetry of your facility linked to the mine (or `facility_id`). Reasons and the "
                        "explanation in `lang` (en, ru) or the Accept-Language of the request.")
async def mine_tiers(key: str, session: Session, actor: CurrentPrincipal,
                     year: Annotated[int, Query(ge=1900, le=2100)],
                     production_t: Annotated[float | None, Query(ge=0)] = None, facility_id: int | None = None,
                     min_coverage: Annotated[float, Query(ge=0, le=1)] = tiers.DEFAULT_MIN_COVERAGE,
                     lang: str | None = None, accept_language: Annotated[str | None, Header()] = None,
                     ) -> dict[str, Any]:
    locale = i18n.normalise_locale(lang) if lang else i18n.negotiate(accept_language)
    return await tiers.compare(session, actor, key, year, production_t=production_t, facility_id=facility_id,
                               min_coverage=min_coverage, locale=locale)


def _routes(k: Kind) -> None:
    base = f"/{k.path}"

    @router.get(base, summary=f"List and search {k.path}", name=f"list_{k.entity}",
                description="Current versions visible to you; `q` searches names, ids and keys.")
    async def list_rows(session: Session, actor: CurrentPrincipal, q: str | None = None,
                        gem_id: str | None = None, in_kuzbass: bool | None = None,
                        kuzbass_only: bool = False, mining_method: str | None = None,
                        mine_status: str | None = None, mine_key: str | None = None, year: int | None = None,
                        year_from: int | None = None, year_to: int | None = None,
                        organization_id: int | None = None, limit: Limit = 100,
                        offset: Offset = 0) -> dict[str, Any]:
        filters = _filters(k, gem_id=gem_id, in_kuzbass=True if kuzbass_only else in_kuzbass,
                           mining_method=mining_method, mine_status=mine_status, mine_key=mine_key, year=year,
                           organization_id=organization_id)
        rows, total = await service.search(session, actor, k, q=q, filters=filters, year_from=year_from,
                                           year_to=year_to, limit=limit, offset=offset)
        return _page(k, rows, total, limit, offset)

    @router.post(base, status_code=201, summary=f"Create a {k.path} record", name=f"create_{k.entity}")
    async def create_row(session: Session, actor: CurrentPrincipal,
                         body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
        out = service.as_dict(await service.create(session, actor, k, body))
        await session.commit()
        return out

    @router.get(f"{base}/export", summary=f"Export {k.path} (CSV or XLSX)", name=f"export_{k.entity}",
                response_class=Response, responses=TABLE_RESPONSES)
    async def export(session: Session, actor: CurrentPrincipal,
                     format: TableFormat = TableFormat.CSV) -> Response:
        rows, _ = await service.search(session, actor, k, limit=1_000_000)
        media = "text/csv; charset=utf-8" if format is TableFormat.CSV else XLSX_MEDIA
        return Response(tabular.export_rows(k, rows, format), media_type=media, headers={
            "Content-Disposition": f'attachment; filename="{k.path}.{format.value}"'})

    @router.post(f"{base}/import", summary=f"Import {k.path} from CSV or XLSX", name=f"import_{k.entity}",
                 description="Row errors by row number (header = row 1). A row with `record_key` is a "
                             "correction (new version). `mode=atomic` writes nothing if a row is bad.")
    async def import_file(session: Session, actor: CurrentPrincipal, file: Annotated[UploadFile, File()],
                          mode: ImportMode = ImportMode.PARTIAL,
                          format: TableFormat | None = None) -> dict[str, Any]:
        actor.require_role(WRITERS)
        data = await file.read(MAX_IMPORT_BYTES + 1)
        if len(data) > MAX_IMPORT_BYTES:
            raise too_large(MAX_IMPORT_BYTES)
        fmt = format or (TableFormat.XLSX if (file.filename or "").endswith(".xlsx") else TableFormat.CSV)
        report = await tabular.import_rows(session, actor, k, read_table(data, fmt), mode)
        await session.commit()
        return report.as_dict()

    @router.get(f"{base}/{{key}}", summary=f"Read a {k.path} record", name=f"get_{k.entity}")
    async def get_row(key: str, session: Session, actor: CurrentPrincipal) -> dict[str, Any]:
        return service.as_dict(await service.get(session, actor, k, key))

    @router.get(f"{base}/{{key}}/history", summary=f"Every version of a {k.path} record",
                name=f"history_{k.entity}")
    async def history(key: str, session: Session, actor: CurrentPrincipal) -> list[dict[str, Any]]:
        return [service.as_dict(r) for r in await service.history(session, actor, k, key)]

    @router.patch(f"{base}/{{key}}", summary=f"Correct a {k.path} record (a new version)",
                  name=f"correct_{k.entity}")
    async def correct(key: str, session: Session, actor: CurrentPrincipal,
                      body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
        out = service.as_dict(await service.correct(session, actor, k, key, body))
        await session.commit()
        return out

    @router.delete(f"{base}/{{key}}", status_code=204, summary=f"Delete a {k.path} record (a tombstone version)",
                   name=f"delete_{k.entity}")
    async def delete(key: str, session: Session, actor: CurrentPrincipal) -> Response:
        await service.correct(session, actor, k, key, {}, delete=True)
        await session.commit()
        return Response(status_code=204)


for _kind in service.KINDS.values():
    _routes(_kind)
