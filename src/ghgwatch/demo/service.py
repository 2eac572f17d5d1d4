"""The demo as a service of ``ghgwatch up --demo``: seed the site, then stream simulated telemetry."""

from __future__ import annotations

import asyncio
import logging

from ghgwatch.kit.aio import cancel_and_wait
from ghgwatch.web.context import AppContext

log = logging.getLogger(__name__)
BACKFILL_HOURS = 72.0
"""Hours of simulated history sent before the live stream (see ``start_demo``)."""


async def start_demo(ctx: AppContext) -> None:
    from ghgwatch.demo.seed import seed_demo
    from ghgwatch.simulator import run_simulation

    settings = ctx.settings
    credentials = await seed_demo(ctx.db, settings, api_url=f"http://{settings.api.host}:{settings.api.port}")
    stop = asyncio.Event()

    async def simulate() -> None:
        # The API answers only after start-up, so wait for it; then backfill three days of history and stream:
        # the longwall forecast mapping's model needs its 72-hour window to beat the naive forecast and to give
        # calibrated intervals (docs/analytics.md, "Accuracy on the demo mine"); one reading a minute is cheap.
        await asyncio.sleep(1.0)
        try:
            stats = await run_simulation(credentials, rate=50.0, backfill_hours=BACKFILL_HOURS, stop=stop, sign=False)
        except Exception:  # the platform goes on without demo data
            log.exception("demo simulator failed")
            return
        log.info("demo simulator stopped: %s", stats)

    async def forecast() -> None:
        from ghgwatch.analytics.demo import demo_forecasts, demo_longwall_forecast

        try:
            await demo_forecasts(ctx, credentials)
        except Exception:  # the demo goes on without forecasts
            log.exception("demo forecasts failed")
        try:
            await demo_longwall_forecast(ctx, credentials)
        except Exception:  # the demo goes on without the longwall forecast
            log.exception("demo longwall forecast failed")

    ctx.extras["demo_stop"] = stop
    ctx.extras["demo_task"] = asyncio.create_task(simulate(), name="demo-simulator")
    ctx.extras["demo_forecast_task"] = asyncio.create_task(forecast(), name="demo-forecasts")


async def stop_demo(ctx: AppContext) -> None:
    stop: asyncio.Event | None = ctx.extras.pop("demo_stop", None)
    tasks: list[asyncio.Task[None] | None] = [ctx.extras.pop("demo_task", None),
                                               ctx.extras.pop("demo_forecast_task", None)]
    if stop is not None:
        stop.set()
    await cancel_and_wait(tasks)  # the tasks log their own failures
