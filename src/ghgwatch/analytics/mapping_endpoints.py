"""REST endpoints of forecast mappings (which sensors feed a facility's multivariate forecast) and their
latest forecast. Training and forecasting are jobs (``POST /analytics/jobs`` with ``mapping_fit`` or
``mapping_forecast`` and ``mapping_id``), also queued by the analytics schedule.

No ``from __future__ import annotations``: FastAPI reads the models from the annotations at run time.
"""

from typing import Any

from fastapi import APIRouter, Response

from ghgwatch.analytics import mapping
from ghgwatch.analytics.mapping import MappingIn, MappingOut
from ghgwatch.analytics.models import ForecastMapping
from ghgwatch.audit import service as audit
from ghgwatch.kit.problems import not_found
from ghgwatch.security.principal import WRITERS, Principal
from ghgwatch.web.deps import CurrentPrincipal, Session

router = APIRouter(tags=["analytics"])


async def _mapping(session: Session, actor: Principal, mapping_id: int) -> ForecastMapping:
    row = await mapping.get(session, mapping_id)
    if row is None:
        raise not_found("forecast mapping", mapping_id)
    actor.require_org(row.organization_id)
    return row


def _snapshot(row: ForecastMapping) -> dict[str, Any]:
    return MappingOut.model_validate(row).model_dump(mode="json", exclude={"created_at", "updated_at"})


@router.post("/forecast-mappings", status_code=201, response_model=MappingOut,
             summary="Map a facility's stored sensors to a multivariate forecast (inputs and target)",
             description="Every sensor must belong to the facility; roles label the inputs (air flow or velocity "
                         "in the outgoing air, temperatures, mixture flow and CH4 at the gas-suction unit, pressure "
                         "differential, drainage methane flow, ...). The schedule then trains the model and "
                         "forecasts `horizon_min` minutes ahead.")
async def create_mapping(body: MappingIn, session: Session, actor: CurrentPrincipal) -> Any:
    row = await mapping.create(session, actor, body)
    await audit.record(session, actor=actor.username, action="create", entity="forecast_mapping", entity_id=row.id,
                       organization_id=row.organization_id, after=_snapshot(row))
    return row


@router.get("/forecast-mappings", summary="Forecast mappings of the caller's organisation")
async def list_mappings(session: Session, actor: CurrentPrincipal, facility_id: int | None = None) -> dict[str, Any]:
    rows = await mapping.listing(session, organization_id=actor.org_filter(), facility_id=facility_id)
    return {"items": [MappingOut.model_validate(r) for r in rows]}


@router.get("/forecast-mappings/{mapping_id}", response_model=MappingOut, summary="One forecast mapping")
async def get_mapping(mapping_id: int, session: Session, actor: CurrentPrincipal) -> Any:
    return await _mapping(session, actor, mapping_id)


@router.delete("/forecast-mappings/{mapping_id}", status_code=204,
               summary="Delete a forecast mapping (its registered models and forecasts stay)")
async def delete_mapping(mapping_id: int, session: Session, actor: CurrentPrincipal) -> Response:
    actor.require_role(WRITERS)
    row = await _mapping(session, actor, mapping_id)
    before = _snapshot(row)
    await session.delete(row)
    await audit.record(session, actor=actor.username, action="delete", entity="forecast_mapping",
                       entity_id=mapping_id, organization_id=before["organization_id"], before=before)
    return Response(status_code=204)


@router.get("/forecast-mappings/{mapping_id}/forecast",
            summary="Latest stored forecast of a mapping's target, with intervals and the model's backtest")
async def mapping_forecast(mapping_id: int, session: Session, actor: CurrentPrincipal) -> dict[str, Any]:
    row = await _mapping(session, actor, mapping_id)
    found = await mapping.latest_forecast(session, row)
    if found is None:
        raise not_found("forecast of mapping", mapping_id)
    forecast, model = found
    backtest = {k: model.metrics.get(k) for k in ("mae", "naive_mae", "mae_last_step", "naive_mae_last_step",
                                                  "beats_naive", "interval")}
    return {"mapping_id": row.id, "sensor_id": row.target_sensor_id, "forecast_id": forecast.id,
            "model": {"id": model.id, "name": model.name, "version": model.version, "method": model.method,
                      "status": model.status, "backtest": backtest},
            "issued_at": forecast.issued_at.isoformat(), "origin": forecast.origin.isoformat(),
            "interval": forecast.interval, "points": forecast.points}
