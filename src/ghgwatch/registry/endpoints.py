"""REST endpoints of the registry, one router per table built from its :class:`EntitySpec`.

No ``from __future__ import annotations`` here: FastAPI reads the request and response models from
the annotations at run time.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Body, File, Query, Request, Response, UploadFile
from pydantic import BaseModel

from ghgwatch.kit.problems import Problem, too_large
from ghgwatch.registry import service, tabular
from ghgwatch.registry.schemas import Page
from ghgwatch.registry.specs import ALL, EntitySpec
from ghgwatch.web.deps import CurrentPrincipal, Session

MAX_IMPORT_BYTES = 20 * 1024 * 1024


def _filters(spec: EntitySpec, request: Request) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in spec.filters:
        raw = request.query_params.get(name)
        if raw is None:
            continue
        annotation = str(spec.read.model_fields[name].annotation)
        if "int" in annotation:
            try:
                out[name] = int(raw)
            except ValueError as exc:
                raise Problem(422, "Validation failed", "{name} must be an integer", type_="validation",
                              errors=[{"loc": ["query", name], "msg": "not an integer"}],
                              values={"name": name}) from exc
        elif "bool" in annotation:
            out[name] = raw.lower() in ("1", "true", "yes")
        else:
            out[name] = raw
    return out


def _changed(request: Request) -> None:
    """Registry rows changed: in-process caches (the sensor view of ingest and pipeline) reload now; other
    processes reload within their cache age."""
    cache = getattr(request.app.state, "ctx", None)
    sensors = cache.extras.get("sensors") if cache is not None else None
    if sensors is not None:
        sensors.invalidate()


def _sort_value(spec: EntitySpec, sort: str) -> str:
    if sort.lstrip("-") not in spec.read.model_fields:
        raise Problem(422, "Validation failed", "cannot sort by {sort}", type_="validation",
                      errors=[{"loc": ["query", "sort"], "msg": "unknown column"}], values={"sort": repr(sort)})
    return sort


def build_router(spec: EntitySpec) -> APIRouter:
    router = APIRouter(prefix=f"/{spec.path}", tags=[spec.path])
    read: type[BaseModel] = spec.read
    create_model: type[BaseModel] = spec.create
    patch_model: type[BaseModel] = spec.patch
    filter_doc = ", ".join(spec.filters)

    @router.get("", response_model=Page[read], summary=f"List {spec.path}",  # type: ignore[valid-type]
                description=f"Filters: {filter_doc}. `q` searches {', '.join(spec.search)}.")
    async def list_(
        request: Request,
        session: Session,
        actor: CurrentPrincipal,
        q: str | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
        sort: str = "id",
    ) -> dict[str, Any]:
        rows, total = await service.list_rows(session, actor, spec, filters=_filters(spec, request), q=q,
                                              limit=limit, offset=offset, sort=_sort_value(spec, sort))
        return {"items": [read.model_validate(r) for r in rows], "total": total, "limit": limit, "offset": offset}

    @router.post("", response_model=read, status_code=201, summary=f"Create a {spec.name}")
    async def create(request: Request, session: Session, actor: CurrentPrincipal,
                     body: Annotated[create_model, Body()]) -> BaseModel:  # type: ignore[valid-type]
        row = read.model_validate(await service.create(session, actor, spec, body))
        await session.commit()
        _changed(request)
        return row

    @router.get("/export", summary=f"Export {spec.path} as CSV or XLSX", response_class=Response,
                responses={200: {"description": "The table", "content": {
                    "text/csv": {"schema": {"type": "string"}},
                    tabular.XLSX_MEDIA: {"schema": {"type": "string", "format": "binary"}}}}})
    async def export(request: Request, session: Session, actor: CurrentPrincipal, q: str | None = None,
                     format: tabular.TableFormat = tabular.TableFormat.CSV) -> Response:
        rows, _ = await service.list_rows(session, actor, spec, filters=_filters(spec, request), q=q, limit=None)
        media = "text/csv; charset=utf-8" if format is tabular.TableFormat.CSV else tabular.XLSX_MEDIA
        return Response(tabular.export_rows(spec, rows, format), media_type=media,
                        headers={"Content-Disposition": f'attachment; filename="{spec.path}.{format.value}"'})

    @router.post("/import", summary=f"Import {spec.path} from CSV or XLSX",
                 description="`mode=partial` keeps good rows and reports bad ones by row number (header = row 1); "
                             "`mode=atomic` writes nothing if any row is bad.")
    async def import_(request: Request, session: Session, actor: CurrentPrincipal, file: Annotated[UploadFile, File()],
                      mode: tabular.ImportMode = tabular.ImportMode.PARTIAL,
                      format: tabular.TableFormat | None = None) -> dict[str, Any]:
        data = await file.read(MAX_IMPORT_BYTES + 1)
        if len(data) > MAX_IMPORT_BYTES:
            raise too_large(MAX_IMPORT_BYTES)
        fmt = format or (tabular.TableFormat.XLSX if (file.filename or "").endswith(".xlsx")
                         else tabular.TableFormat.CSV)
        report = await tabular.import_rows(session, actor, spec, tabular.read_table(data, fmt), mode)
        await session.commit()
        _changed(request)
        return report.as_dict()

    @router.get("/{key}", response_model=read, summary=f"Read a {spec.name}")
    async def get(key: int, session: Session, actor: CurrentPrincipal) -> BaseModel:
        return read.model_validate(await service.get(session, actor, spec, key))

    @router.patch("/{key}", response_model=read, summary=f"Update a {spec.name}")
    async def patch(key: int, request: Request, session: Session, actor: CurrentPrincipal,
                    body: Annotated[patch_model, Body()]) -> BaseModel:  # type: ignore[valid-type]
        row = read.model_validate(await service.update(session, actor, spec, key, body))
        await session.commit()
        _changed(request)
        return row

    @router.delete("/{key}", status_code=204, summary=f"Delete a {spec.name}")
    async def delete(key: int, request: Request, session: Session, actor: CurrentPrincipal) -> Response:
        await service.delete(session, actor, spec, key)
        await session.commit()
        _changed(request)
        return Response(status_code=204)

    return router


def routers() -> list[APIRouter]:
    return [build_router(spec) for spec in ALL]
