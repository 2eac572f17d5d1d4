"""Issue 10: the demo's forecast job waits for the data it needs instead of failing at start.

The demo simulator backfills a day oldest first. The job used to start as soon as six hours of minutes of any
time were stored, i.e. the oldest hours of the backfill, and then failed on its 12-hour window before
``as_of`` ("sensor N has no 1m data between ...", "series too short"). Here the backfill arrives in the same
order, in two parts, and the job must wait for the second part and then store a forecast.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any, cast

import numpy as np
from sqlalchemy import func, select

from ghgwatch.analytics.demo import demo_forecasts
from ghgwatch.analytics.models import Forecast
from ghgwatch.analytics.service import EXTRA_KEY
from ghgwatch.web.context import AppContext

from .conftest import AnalyticsPlatform, pattern


async def test_demo_forecasts_wait_for_the_backfill_then_store_a_forecast(platform: AnalyticsPlatform) -> None:
    p = platform
    sensor = p.world.sensor_a
    credentials: dict[str, Any] = {"organization_id": p.world.org_a,
                   "sensors": [{"id": sensor, "location": "longwall_outgoing"}]}
    minutes = np.arange(-24 * 60, 1, dtype=np.float64)  # a day of history up to t0, one reading a minute
    values = pattern(minutes)
    oldest = minutes < -18 * 60  # six hours, all before the job's training window

    waiting: list[str] = []
    saw_wait = asyncio.Event()

    def on_wait(why: str) -> None:
        waiting.append(why)
        saw_wait.set()

    await p.post_minutes(sensor, minutes[oldest], values[oldest])
    ctx = cast(AppContext, SimpleNamespace(db=p.db, extras={EXTRA_KEY: p.analytics}))
    job = asyncio.create_task(demo_forecasts(ctx, credentials, timeout_s=240, retry_s=1.0, on_wait=on_wait))
    try:
        # The oldest six hours are stored: the old readiness count was met here, and the job failed.
        await asyncio.wait_for(saw_wait.wait(), timeout=120)
        assert not job.done(), job
        await p.post_minutes(sensor, minutes[~oldest], values[~oldest])
        assert await asyncio.wait_for(job, timeout=240) is True
    finally:
        job.cancel()
        await asyncio.gather(job, return_exceptions=True)
    assert waiting and "minutes stored in the training window" in waiting[0]
    async with p.db.sessions() as s:
        forecasts = (await s.execute(select(func.count()).select_from(Forecast)
                                     .where(Forecast.sensor_id == sensor))).scalar_one()
    assert forecasts == 2  # the first model's forecast as of 30 min ago, then the promoted model's from now
