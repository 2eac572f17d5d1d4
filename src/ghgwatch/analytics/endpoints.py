"""REST endpoints of the analytics role: jobs, the model registry, stored forecasts, drift and gap filling.

No ``from __future__ import annotations`` here: FastAPI reads the request and response models from
the annotations at run time. Auditors and operators may read (and fill gaps, which writes nothing);
queuing jobs and promoting models needs an engineer or an admin.
"""

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime

from ghgwatch.analytics import promotion, repository
from ghgwatch.analytics.models import JobKind, ModelStatus, RegisteredModel
from ghgwatch.analytics.schemas import (
    FILL_METHODS,
    MAX_FILL_POINTS,
    DriftOut,
    GapFillIn,
    JobIn,
    JobOut,
    ModelOut,
    check_parameters,
)
from ghgwatch.kit.problems import Problem, forbidden, not_found
from ghgwatch.registry import service as registry
from ghgwatch.registry.specs import SENSORS
from ghgwatch.security.principal import WRITERS, Principal
from ghgwatch.web.context import context
from ghgwatch.web.deps import CurrentPrincipal, Session

router = APIRouter(tags=["analytics"])


def _check_org(actor: Principal, organization_id: int | None) -> None:
    """Rows of no organisation (schedule-wide jobs) are visible to platform admins only."""
    if organization_id is None:
        if not actor.is_platform_admin:
            raise forbidden("this row belongs to no organisation")
        return
    actor.require_org(organization_id)


async def _model(session: Session, actor: Principal, model_id: int) -> RegisteredModel:
    model = await repository.get_model(session, model_id)
    if model is None:
        raise not_found("model", model_id)
    _check_org(actor, model.organization_id)
    return model


async def _job_org(session: Session, actor: Principal, kind: JobKind, params: dict[str, Any]) -> int | None:
    """The organisation a job works for, checking the caller may touch every sensor and model named."""
    org: int | None = None
    if "model_id" in params:
        org = (await _model(session, actor, int(params["model_id"]))).organization_id
    if "sensor_id" in params:
        sensor = await registry.get(session, actor, SENSORS, int(params["sensor_id"]))
        org = sensor.organization_id  # type: ignore[attr-defined]
    if "mapping_id" in params:
        from ghgwatch.analytics import mapping

        row = await mapping.get(session, int(params["mapping_id"]))
        if row is None:
            raise not_found("forecast mapping", int(params["mapping_id"]))
        actor.require_org(row.organization_id)
        org = row.organization_id
    for sensor_id in params.get("sensor_ids", []):
        await registry.get(session, actor, SENSORS, int(sensor_id))
    if kind is JobKind.GAP_REPORT and org is None:
        org = actor.org_filter()
    return org


@router.post("/analytics/jobs", status_code=202, summary="Queue an analytics job",
             description="Kinds: `forecast` (sensor_id, horizon, method auto|linear|gbdt|naive, interval, "
                         "resolution 1m|1h, window_hours; or model_id to forecast with a stored model), `refit` "
                         "(sensor_id or model_id), `backtest` (sensor_id, horizon, methods), `gap_report` "
                         "(sensor_ids, window_hours, factor), `drift` (model_id), `mapping_fit` and `mapping_forecast` "
                         "(mapping_id, as_of: a forecast mapping's multivariate model). Parameters go at the top "
                         "level or under `parameters`.")
async def create_job(body: JobIn, request: Request, session: Session, actor: CurrentPrincipal) -> JSONResponse:
    actor.require_role(WRITERS)
    params = body.all_parameters()
    check_parameters(body.kind, params)
    org = await _job_org(session, actor, body.kind, params)
    if "name" in params and await repository.name_taken_elsewhere(session, str(params["name"]), org):
        raise Problem(409, "Conflict", "model name {name} belongs to another organisation; choose another name",
                      type_="conflict", values={"name": repr(str(params["name"]))},
                      errors=[{"loc": ["body", "name"], "msg": "taken by another organisation"}])
    job = await repository.enqueue(session, body.kind.value, params, created_by=actor.username, organization_id=org)
    service = context(request).extras.get("analytics")
    if service is not None:
        service.wake_after_commit(session)
    return JSONResponse({"id": job.id, "kind": job.kind, "state": job.state},
                        status_code=202, headers={"Location": f"/api/v1/analytics/jobs/{job.id}"})


@router.get("/analytics/jobs", summary="Analytics jobs, newest first")
async def list_jobs(session: Session, actor: CurrentPrincipal, state: str | None = None,
                    limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
    rows = await repository.list_jobs(session, organization_id=actor.org_filter(), state=state, limit=limit)
    return {"items": [JobOut.model_validate(r) for r in rows]}


@router.get("/analytics/jobs/{job_id}", response_model=JobOut, summary="State, progress and result of a job")
async def get_job(job_id: int, session: Session, actor: CurrentPrincipal) -> Any:
    job = await repository.get_job(session, job_id)
    if job is None:
        raise not_found("job", job_id)
    _check_org(actor, job.organization_id)
    return job


@router.get("/analytics/models", summary="Registered models (every version)")
async def list_models(
    session: Session, actor: CurrentPrincipal, sensor_id: int | None = None, name: str | None = None,
    status: ModelStatus | None = None, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    rows = await repository.list_models(session, organization_id=actor.org_filter(), sensor_id=sensor_id, name=name,
                                        status=status.value if status else None, limit=limit, offset=offset)
    return {"items": [ModelOut.model_validate(r) for r in rows]}


@router.get("/analytics/models/{model_id}", response_model=ModelOut, summary="One registered model version")
async def get_model(model_id: int, session: Session, actor: CurrentPrincipal) -> Any:
    return await _model(session, actor, model_id)


@router.post("/analytics/models/{model_id}/promote", response_model=ModelOut,
             summary="Promote a version; the promoted version of the same name is retired")
async def promote_model(model_id: int, session: Session, actor: CurrentPrincipal) -> Any:
    actor.require_role(WRITERS)
    model = await _model(session, actor, model_id)
    await promotion.promote(session, model, actor.username)
    return model


@router.get("/analytics/models/{model_id}/drift", summary="Drift reports of a model, newest first")
async def model_drift(model_id: int, session: Session, actor: CurrentPrincipal,
                      limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
    await _model(session, actor, model_id)
    rows = await repository.drift_reports(session, model_id, limit)
    return {"model_id": model_id, "items": [DriftOut.model_validate(r) for r in rows]}


@router.get("/analytics/forecasts", summary="Stored forecasts, newest issued first",
            description="Filters: sensor_id, model_id, issued `since` / `until`. Each item names its model and "
                        "interval; `points=true` adds the points (`ts`, `forecast`, `lower`, `upper`).")
async def list_forecasts(
    session: Session, actor: CurrentPrincipal, sensor_id: int | None = None, model_id: int | None = None,
    since: AwareDatetime | None = None, until: AwareDatetime | None = None, points: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100, offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    if sensor_id is not None:
        await registry.get(session, actor, SENSORS, sensor_id)
    if model_id is not None:
        await _model(session, actor, model_id)
    rows, total = await repository.list_forecasts(session, organization_id=actor.org_filter(), sensor_id=sensor_id,
                                                  model_id=model_id, since=since, until=until, limit=limit,
                                                  offset=offset)
    items = []
    for f in rows:
        item: dict[str, Any] = {"id": f.id, "sensor_id": f.sensor_id, "model_id": f.model_id,
                                "organization_id": f.organization_id, "issued_at": f.issued_at.isoformat(),
                                "origin": f.origin.isoformat(), "interval": f.interval, "steps": len(f.points)}
        if points:
            item["points"] = f.points
        items.append(item)
    return {"total": total, "items": items}


@router.get("/sensors/{sensor_id}/forecast", summary="Latest stored forecast of a sensor, with intervals")
async def sensor_forecast(sensor_id: int, session: Session, actor: CurrentPrincipal) -> dict[str, Any]:
    sensor = await registry.get(session, actor, SENSORS, sensor_id)
    forecast = await repository.latest_forecast(session, sensor_id)
    if forecast is None:
        raise not_found("forecast of sensor", sensor_id)
    model = await repository.get_model(session, forecast.model_id)
    return {"sensor_id": sensor_id, "unit": sensor.unit,  # type: ignore[attr-defined]
            "forecast_id": forecast.id, "model_id": forecast.model_id,
            "model": None if model is None else {"name": model.name, "version": model.version,
                                                 "method": model.method, "status": model.status},
            "issued_at": forecast.issued_at.isoformat(), "origin": forecast.origin.isoformat(),
            "interval": forecast.interval, "points": forecast.points}


@router.post("/analytics/gaps/fill", summary="Fill the gaps of a stored series (nothing is written back)",
             description="Missing buckets of the 1-minute or hourly series between `from` and `to` are filled by "
                         "`method` (auto, mean, interpolate, nearest, regression, knn); each point says whether "
                         "it was filled and how.")
async def fill_gaps(body: GapFillIn, session: Session, actor: CurrentPrincipal) -> dict[str, Any]:
    from ghgwatch.analytics import series

    await registry.get(session, actor, SENSORS, body.sensor_id)
    if body.method not in FILL_METHODS:
        raise Problem(422, "Validation failed", "method must be one of {methods}",
                      values={"methods": ", ".join(FILL_METHODS)}, type_="validation",
                      errors=[{"loc": ["body", "method"], "msg": "unknown method"}])
    if body.resolution not in series.RESOLUTIONS or body.start >= body.end:
        raise Problem(422, "Validation failed", "resolution must be 1m or 1h and 'from' before 'to'",
                      type_="validation", errors=[{"loc": ["body", "resolution"], "msg": "invalid window"}])
    buckets = (body.end - body.start).total_seconds() * 1e6 / series.step_us(body.resolution)
    if buckets > MAX_FILL_POINTS:
        raise Problem(422, "Validation failed", "at most {n} points; use a coarser resolution",
                      values={"n": MAX_FILL_POINTS}, type_="validation",
                      errors=[{"loc": ["body", "to"], "msg": "window too long"}])
    raw = await series.rollup_series(session, body.sensor_id, body.start, body.end, body.resolution)
    try:
        filled = await asyncio.to_thread(series.fill_stored, raw, body.resolution, body.method)
    except ValueError as exc:
        raise Problem(422, "Cannot fill", str(exc), type_="validation") from exc
    return {"sensor_id": body.sensor_id, "resolution": body.resolution, **filled}
