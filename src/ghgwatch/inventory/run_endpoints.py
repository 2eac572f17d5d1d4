"""REST endpoints: inventory runs, direct calculation, measured methane, factor sets and GWP sets.

No ``from __future__ import annotations``: FastAPI reads the request and response models at run time.
"""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Response
from pydantic import AwareDatetime

from ghgwatch.inventory import factor_store, forecast, runs
from ghgwatch.inventory.coverage import DEFAULT_MIN_COVERAGE
from ghgwatch.inventory.gwp import gwp_data_version, gwp_sets
from ghgwatch.inventory.measured import GapPolicy
from ghgwatch.inventory.schemas import FactorSetIn, FactorSetOut, FactorSetPatch, RunDetail, RunIn, RunOut
from ghgwatch.inventory.telemetry import measure_facility
from ghgwatch.kit.problems import Problem, not_found
from ghgwatch.registry.models import Facility
from ghgwatch.web.deps import CurrentPrincipal, Session

inventory_router = APIRouter(prefix="/inventory", tags=["inventory"])
factor_router = APIRouter(prefix="/factor-sets", tags=["inventory"])
reference_router = APIRouter(prefix="/reference", tags=["reference"])


@inventory_router.post("/runs", response_model=RunDetail, status_code=201, summary="Run and store an inventory",
                       description="Gathers the organisation's activity data for the period (and, with "
                                   "`include_measured`, Tier 3 methane from telemetry), calculates, stores the run.")
async def create_run(session: Session, actor: CurrentPrincipal, body: RunIn) -> RunDetail:
    row = RunDetail.model_validate(await runs.create_run(session, actor, body))
    await session.commit()
    return row


@inventory_router.get("/runs", response_model=list[RunOut], summary="List inventory runs")
async def list_runs(session: Session, actor: CurrentPrincipal, organization_id: int | None = None,
                    year: Annotated[int | None, Query(ge=1900, le=2100)] = None,
                    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                    offset: Annotated[int, Query(ge=0)] = 0) -> list[RunOut]:
    found = await runs.list_runs(session, actor, organization_id, year, limit, offset)
    return [RunOut.model_validate(r) for r in found]


@inventory_router.get("/runs/{run_id}", response_model=RunDetail, summary="Read an inventory run")
async def get_run(run_id: int, session: Session, actor: CurrentPrincipal) -> RunDetail:
    return RunDetail.model_validate(await runs.get_run(session, actor, run_id))


@inventory_router.post("/calculate", summary="Calculate a calc input document (nothing stored)")
async def calculate(session: Session, actor: CurrentPrincipal,
                    body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
    names = body.get("factor_sets") or []
    stored = await factor_store.resolve(session, actor, [n for n in names if isinstance(n, str)]) \
        if isinstance(names, list) else {}
    return (await runs.run_calculation(body, stored)).to_dict()


@inventory_router.get("/forecast", summary="Emission forecast: monthly and annual totals, the 296-FZ threshold year",
                      description="History: the last `history_months` complete months calculated as runs of those "
                                  "months would be (activity data, measured methane from the rollups). Forecast: an "
                                  "OLS trend with its prediction interval (`method=trend`) or the analytics "
                                  "forecasters (`linear`, `gbdt`); a month with activity data (a production plan) "
                                  "takes the plan. Scope 1, t CO2e with the GWPs of 2979-r. docs/inventory.md.")
async def emission_forecast(
    session: Session, actor: CurrentPrincipal, organization_id: int,
    history_months: Annotated[int, Query(ge=forecast.MIN_HISTORY, le=120)] = 24,
    horizon_months: Annotated[int, Query(ge=1, le=120)] = 60, method: forecast.Method = "trend",
    interval: Annotated[float, Query(gt=0, lt=1)] = 0.9, methodology: Literal["ipcc2006", "ru371"] = "ipcc2006",
    include_measured: bool = True, coal_mining_tier: Literal["tier1", "tier2"] = "tier1",
    gap_policy: GapPolicy = "mean", min_coverage: Annotated[float, Query(ge=0, le=1)] = DEFAULT_MIN_COVERAGE,
) -> dict[str, Any]:
    return await forecast.forecast(session, actor, organization_id, history_months=history_months,
                                   horizon_months=horizon_months, method=method, interval=interval,
                                   methodology=methodology, include_measured=include_measured,
                                   coal_mining_tier=coal_mining_tier, gap_policy=gap_policy,
                                   min_coverage=min_coverage)


@inventory_router.get("/measured", summary="Measured methane of a facility from its telemetry")
async def measured(session: Session, actor: CurrentPrincipal, facility_id: int,
                   start: Annotated[AwareDatetime, Query(alias="from")],
                   end: Annotated[AwareDatetime, Query(alias="to")],
                   gap_policy: GapPolicy = "mean") -> dict[str, Any]:
    facility = await session.get(Facility, facility_id)
    if facility is None:
        raise not_found("facility", facility_id)
    actor.require_org(facility.organization_id)
    if end <= start:
        raise Problem(422, "Validation failed", "'to' must be after 'from'", type_="validation",
                      errors=[{"loc": ["query", "to"], "msg": "must be after 'from'"}])
    m = await measure_facility(session, facility, start, end, gap_policy)
    return {**m.as_dict(), "activity": m.activity() if m.measured else None,
            "activities": m.activities() if m.measured else []}


@reference_router.get("/gwp", summary="GWP sets (100-year)")
async def gwp(actor: CurrentPrincipal) -> dict[str, Any]:
    del actor
    return {"version": gwp_data_version(), "sets": {k: v.model_dump(mode="json") for k, v in gwp_sets().items()}}


@factor_router.get("", response_model=list[FactorSetOut], summary="User factor sets")
async def list_factor_sets(session: Session, actor: CurrentPrincipal, name: str | None = None) -> list[FactorSetOut]:
    return [FactorSetOut.model_validate(r) for r in await factor_store.list_sets(session, actor, name)]


@factor_router.post("", response_model=FactorSetOut, status_code=201, summary="Create a user factor set")
async def create_factor_set(session: Session, actor: CurrentPrincipal, body: FactorSetIn) -> FactorSetOut:
    row = FactorSetOut.model_validate(await factor_store.create(session, actor, body))
    await session.commit()
    return row


@factor_router.get("/{key}", response_model=FactorSetOut, summary="Read a user factor set")
async def get_factor_set(key: int, session: Session, actor: CurrentPrincipal) -> FactorSetOut:
    return FactorSetOut.model_validate(await factor_store.get(session, actor, key))


@factor_router.patch("/{key}", response_model=FactorSetOut, summary="Update a user factor set")
async def patch_factor_set(key: int, session: Session, actor: CurrentPrincipal, body: FactorSetPatch) -> FactorSetOut:
    row = FactorSetOut.model_validate(await factor_store.update(session, actor, key, body))
    await session.commit()
    return row


@factor_router.delete("/{key}", status_code=204, summary="Delete a user factor set")
async def delete_factor_set(key: int, session: Session, actor: CurrentPrincipal) -> Response:
    await factor_store.delete(session, actor, key)
    await session.commit()
    return Response(status_code=204)
