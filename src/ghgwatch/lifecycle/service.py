"""Service hooks: the data lake for every role (history queries), the lifecycle job in the pipeline role."""

from __future__ import annotations

import logging

from ghgwatch.web.context import AppContext

log = logging.getLogger(__name__)


async def start_lake(ctx: AppContext) -> None:
    """Open the lake (if configured) and let every session's history queries read it (cold data)."""
    from ghgwatch.lake.reader import ColdReader
    from ghgwatch.lake.storage import open_lake

    lake = open_lake(ctx.settings.lake)
    if lake is None:
        return
    ctx.extras["lake"] = lake
    reader = ColdReader(lake, ctx.settings.retention)
    ctx.extras["cold_reader"] = reader
    ctx.db.sessions.configure(info={"cold_reader": reader})
    log.info("data lake at %s://%s", lake.protocol, lake.root)


async def stop_lake(ctx: AppContext) -> None:
    reader = ctx.extras.pop("cold_reader", None)
    if reader is not None:
        reader.close()
    ctx.extras.pop("lake", None)


async def start_lifecycle(ctx: AppContext) -> None:
    from ghgwatch.lifecycle.job import LifecycleJob

    job = LifecycleJob(ctx.db, ctx.settings, ctx.extras.get("lake"))
    ctx.extras["lifecycle"] = job
    job.start()


async def stop_lifecycle(ctx: AppContext) -> None:
    job = ctx.extras.pop("lifecycle", None)
    if job is not None:
        await job.stop()
