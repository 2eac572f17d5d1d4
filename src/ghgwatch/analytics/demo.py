"""Demo forecasts for ``ghgwatch up --demo``: a model of the longwall methane, promoted, forecasting live.

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


async def _run(service: AnalyticsService, ctx: AppContext, params: dict[str, Any], org: int) -> dict[str, Any]:
    async with ctx.db.transaction() as s:
        job = await repository.enqueue(s, "forecast", params, created_by=ACTOR, organization_id=org)
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
