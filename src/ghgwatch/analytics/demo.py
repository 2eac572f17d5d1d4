"""Demo forecasts for ``ghgwatch up --demo``: a model of the longwall methane, promoted, forecasting live, and the
multivariate longwall forecast of the demo mine (a forecast mapping of its stored sensors, issue 14 item 5).

The first model is fitted on the history up to 30 minutes ago and forecasts from there, so that the next
forecast (from now, with the promoted model) can already report its predecessor's error against what happened.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from ghgwatch.analytics import repository
from ghgwatch.analytics.promotion import promote
from ghgwatch.analytics.service import EXTRA_KEY, AnalyticsService
from ghgwatch.kit.timeutil import utcnow
from ghgwatch.readings.models import Rollup1m
from ghgwatch.readings.query import to_us
from ghgwatch.web.context import AppContext

log = logging.getLogger(__name__)
ACTOR = "demo"
HISTORY_MINUTES = 6 * 60
"""Minutes of 1m rollups in the training window before the first fit (a quarter of a day: enough for the
linear model with 2 folds and a 60-minute horizon)."""
WINDOW_HOURS = 12
AS_OF_MINUTES = 30


def _first_as_of() -> datetime:
    return utcnow() - timedelta(minutes=AS_OF_MINUTES)


async def _history_ready(ctx: AppContext, sensor_id: int, timeout_s: float,
                         on_wait: Callable[[str], None] | None = None) -> bool:
    """Wait until the minutes the first forecast job needs are stored: at least ``HISTORY_MINUTES`` of them
    inside its training window (the ``WINDOW_HOURS`` before ``as_of``), up to ``as_of`` itself.

    The simulator backfills a day oldest first, so counting the sensor's minutes of any time (as this did
    before) was satisfied by the oldest hours alone, and the job then found no data, or too little, in its
    window ("no 1m data between ...", "series too short"). ``on_wait`` is told why it still waits.
    """
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        as_of = _first_as_of()
        lo = to_us(as_of - timedelta(hours=WINDOW_HOURS))
        async with ctx.db.sessions() as s:
            minutes, newest = (await s.execute(
                select(func.count(), func.max(Rollup1m.bucket))
                .where(Rollup1m.sensor_id == sensor_id, Rollup1m.bucket >= lo, Rollup1m.bucket < to_us(as_of))
            )).one()
        if minutes >= HISTORY_MINUTES and newest is not None and newest >= to_us(as_of) - 5 * Rollup1m.BUCKET_US:
            return True
        if on_wait is not None:
            on_wait(f"{minutes} of {HISTORY_MINUTES} minutes stored in the training window")
        if asyncio.get_running_loop().time() >= deadline:
            return False
        await asyncio.sleep(1.0)


async def _run(service: AnalyticsService, ctx: AppContext, params: dict[str, Any], org: int,
               kind: str = "forecast") -> dict[str, Any]:
    async with ctx.db.transaction() as s:
        job = await repository.enqueue(s, kind, params, created_by=ACTOR, organization_id=org)
        job_id = job.id
    await service.run_next(job_id)
    async with ctx.db.sessions() as s:
        done = await repository.get_job(s, job_id)
    if done is None or done.state != "done" or done.result is None:
        raise RuntimeError(f"demo forecast job {job_id} did not finish: {done.message if done else 'missing'}")
    return dict(done.result)


async def demo_forecasts(ctx: AppContext, credentials: dict[str, Any], *, timeout_s: float = 300.0,
                         retry_s: float = 5.0, on_wait: Callable[[str], None] | None = None) -> bool:
    """Fit, promote and run the demo's forecast model once its data is stored; returns whether it did.

    A job that still fails (data stored a moment later than counted, a busy start) is tried again every
    ``retry_s`` until ``timeout_s`` has passed, instead of leaving the demo without forecasts.
    """
    service: AnalyticsService | None = ctx.extras.get(EXTRA_KEY)
    sensor = next((s for s in credentials.get("sensors", []) if s.get("location") == "longwall_outgoing"), None)
    if service is None or sensor is None:
        return False
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    if not await _history_ready(ctx, int(sensor["id"]), timeout_s, on_wait):
        log.warning("demo forecasts skipped: the backfill did not arrive in %.0f s", timeout_s)
        return False
    org = int(credentials["organization_id"])
    while True:
        try:
            first = await _run(service, ctx, {"sensor_id": sensor["id"], "method": "linear", "horizon": 60,
                                              "window_hours": WINDOW_HOURS, "folds": 2,
                                              "as_of": _first_as_of().isoformat()}, org)
            async with ctx.db.transaction() as s:
                model = await repository.get_model(s, int(first["model_id"]))
                if model is not None:
                    await promote(s, model, ACTOR)
            await _run(service, ctx, {"sensor_id": sensor["id"]}, org)
        except RuntimeError as exc:
            if loop.time() + retry_s > deadline:
                raise
            if on_wait is not None:
                on_wait(str(exc))
            log.info("demo forecasts not ready yet (%s); trying again in %.0f s", exc, retry_s)
            await asyncio.sleep(retry_s)
            continue
        log.info("demo forecasts: model %s promoted and forecasting", first["model_id"])
        return True


# Roles of the demo mine's sensors in the longwall forecast, by (location of a sensor of their source, kind).
_DEMO_ROLES = {
    ("longwall_outgoing", "air_velocity"): "air_velocity",
    ("drainage_pipeline", "methane"): "suction_methane",
    ("drainage_pipeline", "gas_flow"): "suction_mixture_flow",
    ("drainage_pipeline", "differential_pressure"): "pressure_differential",
    ("mine_outgoing", "air_flow"): "air_flow",
    ("mine_outgoing", "temperature"): "temperature",
    ("mine_outgoing", "pressure"): "barometric_pressure",
    ("mine_outgoing", "methane"): "methane",
}
DEMO_MAPPING = "Longwall 5-1 outgoing air CH4"


def demo_mapping_inputs(sensors: list[dict[str, Any]]) -> tuple[int, list[dict[str, Any]]] | None:
    """The longwall CH4 sensor and the inputs of its forecast among the demo credentials' sensors: the longwall's
    air velocity, the gas-suction (drainage) unit's CH4, mixture flow and depression, and the shaft's air flow,
    temperature, barometric pressure and CH4 (each source's role is that of its located sensor)."""
    target = next((s for s in sensors if s.get("location") == "longwall_outgoing"), None)
    if target is None:
        return None
    where: dict[str, str] = {}
    for s in sensors:
        if s.get("location") and s.get("source") is not None:
            where.setdefault(str(s["source"]), str(s["location"]))
    inputs: list[dict[str, Any]] = []
    taken: set[str] = set()
    for s in sensors:
        role = _DEMO_ROLES.get((where.get(str(s.get("source")), ""), str(s.get("kind"))))
        if s is target or role is None or role in taken:  # one sensor per role: the first shaft, station
            continue
        taken.add(role)
        inputs.append({"sensor_id": int(s["id"]), "role": role})
    return int(target["id"]), inputs


async def demo_longwall_forecast(ctx: AppContext, credentials: dict[str, Any], *, timeout_s: float = 300.0,
                                 on_wait: Callable[[str], None] | None = None) -> bool:
    """Create the demo mine's longwall forecast mapping (once), train it and forecast once its data is stored;
    the schedule then forecasts every interval. Returns whether a forecast was stored.

    The mapping keeps the default 72-hour window: the first fit has the day of backfill only, and a version that
    does not beat the naive forecast is not promoted; the schedule trains again until one does."""
    from ghgwatch.analytics import mapping
    from ghgwatch.demo.seed import ACTOR as SEED_ACTOR
    from ghgwatch.registry.models import Sensor

    service: AnalyticsService | None = ctx.extras.get(EXTRA_KEY)
    found = demo_mapping_inputs(list(credentials.get("sensors", [])))
    if service is None or found is None:
        return False
    target, inputs = found
    if not await _history_ready(ctx, target, timeout_s, on_wait):
        log.warning("demo longwall forecast skipped: the backfill did not arrive in %.0f s", timeout_s)
        return False
    async with ctx.db.transaction() as s:
        sensor = await s.get(Sensor, target)
        if sensor is None:
            return False
        rows = await mapping.listing(s, organization_id=None, facility_id=sensor.facility_id)
        row = next((r for r in rows if r.name == DEMO_MAPPING), None)
        if row is None:
            row = await mapping.create(s, SEED_ACTOR, mapping.MappingIn(
                facility_id=sensor.facility_id, name=DEMO_MAPPING, target_sensor_id=target,
                inputs=[mapping.MappingInput.model_validate(i) for i in inputs]))
        mapping_id, org = row.id, row.organization_id
    fit = await _run(service, ctx, {"mapping_id": mapping_id}, org, kind="mapping_fit")
    if not fit.get("promoted"):
        log.warning("demo longwall model v%s is worse than the naive forecast: not promoted", fit.get("version"))
        return False
    await _run(service, ctx, {"mapping_id": mapping_id}, org, kind="mapping_forecast")
    log.info("demo longwall forecast: mapping %s, model %s promoted and forecasting", mapping_id, fit["model_id"])
    return True
