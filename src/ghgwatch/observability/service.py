"""The observability service of the pipeline role: bounded per-sensor gauges fed by stored batches.

Registered in :data:`ghgwatch.roles.SERVICES` before the pipeline, so the hook it appends to
``ctx.extras["stored_hooks"]`` is in place when the pipeline starts.
"""

from __future__ import annotations

from ghgwatch.observability.gauges import SensorGauges
from ghgwatch.observability.sensors import SensorSeries
from ghgwatch.web.context import AppContext


async def start_observability(ctx: AppContext) -> None:
    """Build the process's :class:`SensorSeries` (``ctx.extras["sensor_series"]``) and the gauge hook.

    Needs ``ctx.extras["sensors"]`` (the sensor cache of the bus service). Other services that export
    per-sensor series (forecasts) should use the same ``sensor_series`` so one limit covers them all.
    """
    series = ctx.extras.get("sensor_series")
    if series is None:
        series = SensorSeries(ctx.settings.observability.max_sensor_series)
        ctx.extras["sensor_series"] = series
    gauges = SensorGauges(series, ctx.extras["sensors"])
    ctx.extras["sensor_gauges"] = gauges
    ctx.extras.setdefault("stored_hooks", []).append(gauges)


async def stop_observability(ctx: AppContext) -> None:
    gauges = ctx.extras.pop("sensor_gauges", None)
    hooks = ctx.extras.get("stored_hooks")
    if gauges is not None and hooks is not None and gauges in hooks:
        hooks.remove(gauges)
