"""Demo forecasts for ``ghgwatch up --demo``: a model of the longwall methane, promoted, forecasting live.

The first model is fitted on the history up to 30 minutes ago and forecasts from there, so that the next
forecast (from now, with the promoted model) can already report its predecessor's error against what happened.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from ghgwatch.analytics import repository
from ghgwatch.analytics.promotion import promote
from ghgwatch.analytics.service import EXTRA_KEY, AnalyticsService
from ghgwatch.kit.timeutil import utcnow
from ghgwatch.readings.models import Rollup1m
from ghgwatch.web.context import AppContext

log = logging.getLogger(__name__)
ACTOR = "demo"
HISTORY_MINUTES = 6 * 60


async def _history_ready(ctx: AppContext, sensor_id: int, timeout_s: float) -> bool:
    """Wait until the simulator's backfill has stored a few hours of the sensor's minutes."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while asyncio.get_running_loop().time() < deadline:
        async with ctx.db.sessions() as s:
            minutes = (await s.execute(select(func.count()).select_from(Rollup1m)
                                       .where(Rollup1m.sensor_id == sensor_id))).scalar_one()
        if minutes >= HISTORY_MINUTES:
            return True
        await asyncio.sleep(1.0)
    return False


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


async def demo_forecasts(ctx: AppContext, credentials: dict[str, Any], *, timeout_s: float = 180.0) -> None:
    service: AnalyticsService | None = ctx.extras.get(EXTRA_KEY)
    sensor = next((s for s in credentials.get("sensors", []) if s.get("location") == "longwall_outgoing"), None)
    if service is None or sensor is None:
        return
    if not await _history_ready(ctx, int(sensor["id"]), timeout_s):
        log.warning("demo forecasts skipped: the backfill did not arrive in %.0f s", timeout_s)
        return
    org = int(credentials["organization_id"])
    as_of = (utcnow() - timedelta(minutes=30)).isoformat()
    first = await _run(service, ctx, {"sensor_id": sensor["id"], "method": "linear", "horizon": 60,
                                      "window_hours": 12, "folds": 2, "as_of": as_of}, org)
    async with ctx.db.transaction() as s:
        model = await repository.get_model(s, int(first["model_id"]))
        if model is not None:
            await promote(s, model, ACTOR)
    await _run(service, ctx, {"sensor_id": sensor["id"]}, org)
    log.info("demo forecasts: model %s promoted and forecasting", first["model_id"])
