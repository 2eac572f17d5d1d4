"""The analytics jobs: load stored series, run the CPU work in a thread, store models, forecasts, reports.

Each handler gets a :class:`JobRun` (database, settings, progress) and the job's parameters, and returns
the job's result (JSON). Every database write happens in a short transaction of its own, so progress is
visible while the job runs; the CPU work runs in ``asyncio.to_thread``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import select

from ghgwatch.analytics import fitting, repository, series
from ghgwatch.analytics.models import DriftReport, Forecast, JobKind, ModelKind, RegisteredModel
from ghgwatch.kit.timeutil import ensure_utc, utcnow
from ghgwatch.observability import metrics
from ghgwatch.observability.sensors import SensorSeries
from ghgwatch.registry.models import Sensor
from ghgwatch.settings import AnalyticsSettings
from ghgwatch.store import Database

log = logging.getLogger(__name__)


@dataclass
class JobRun:
    """What a job handler may use; ``fraction``/``message`` are written to the job row by :meth:`watch`."""

    db: Database
    settings: AnalyticsSettings
    job_id: int
    actor: str
    gauges: SensorSeries | None = None
    extras: dict[str, Any] | None = None
    """The process's shared objects (the alert service or hub): alerts opened by a job are published there."""
    fraction: float = 0.0
    message: str = ""
    _written: tuple[float, str] = field(default=(0.0, ""))

    def report(self, fraction: float, message: str) -> None:
        """Thread-safe enough for a float and a string: the watcher only reads them."""
        self.fraction, self.message = fraction, message[:500]

    async def flush(self) -> None:
        if (self.fraction, self.message) == self._written:
            return
        self._written = (self.fraction, self.message)
        async with self.db.transaction() as s:
            await repository.set_job(s, self.job_id, progress=round(self.fraction, 4), message=self.message)

    async def publish_alerts(self, changes: list[tuple[str, dict[str, Any], str]]) -> None:
        """After the commit: alert changes to the SSE streams and the bus, like the rule engine's."""
        if not changes or self.extras is None:
            return
        from ghgwatch.alerts.early_warning import ACTOR
        from ghgwatch.alerts.store import event_payload
        from ghgwatch.lab.alerting import publish

        await publish(self.extras, [event_payload(a, alert, actor=ACTOR, reason=r) for a, alert, r in changes])

    async def in_thread(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run CPU work in a thread while writing its progress to the job row every half second."""
        work = asyncio.ensure_future(asyncio.to_thread(fn, *args, **kwargs))
        while not work.done():
            await asyncio.wait({work}, timeout=0.5)
            await self.flush()
        return work.result()


async def _sensor(db: Database, sensor_id: int) -> Sensor:
    async with db.sessions() as s:
        sensor = (await s.execute(select(Sensor).where(Sensor.id == sensor_id))).scalar_one_or_none()
    if sensor is None:
        raise ValueError(f"sensor {sensor_id} does not exist")
    return sensor


async def _regular_series(db: Database, sensor_id: int, start: datetime, end: datetime, resolution: str,
                          grid_start: datetime | None = None) -> pd.Series:
    async with db.sessions() as s:
        raw = await series.rollup_series(s, sensor_id, start, end, resolution)
    if raw.empty:
        raise ValueError(f"sensor {sensor_id} has no {resolution} data between {start:%Y-%m-%d %H:%M} and "
                         f"{end:%Y-%m-%d %H:%M}")
    filled, _ = series.interpolated(series.regular(raw, resolution, grid_start))
    return filled


def _gauge(run: JobRun, sensor: Sensor, frame: pd.DataFrame) -> None:
    if run.gauges is not None and len(frame):
        run.gauges.set_forecast(str(sensor.id), sensor.kind.value, str(sensor.facility_id),
                                float(frame["forecast"].iloc[0]))


def _target(sensor: Sensor) -> str:
    return "methane_concentration" if sensor.kind.value == "methane" else sensor.kind.value


async def _store_forecast(run: JobRun, model: RegisteredModel, sensor: Sensor, frame: pd.DataFrame,
                          origin: pd.Timestamp, interval: float) -> int:
    from ghgwatch.alerts.early_warning import judge_forecast
    from ghgwatch.analytics.mapping import is_mapped_target

    async with run.db.transaction() as s:
        row = Forecast(model_id=model.id, sensor_id=sensor.id, organization_id=sensor.organization_id,
                       issued_at=utcnow(), origin=origin.to_pydatetime(), interval=interval,
                       points=fitting.points(frame))
        s.add(row)
        await s.flush()
        forecast_id = row.id
        # The early-warning rule judges this forecast unless a forecast mapping forecasts the sensor (its
        # forecasts are judged instead: two forecasts of one sensor would open and resolve the alert in turn).
        changes = [] if await is_mapped_target(s, sensor.id) else await judge_forecast(
            s, sensor_id=sensor.id, origin=origin.to_pydatetime(), points=row.points, forecast_id=forecast_id)
    await run.publish_alerts(changes)
    _gauge(run, sensor, frame)
    return forecast_id


async def fit_and_register(run: JobRun, params: dict[str, Any], *, with_forecast: bool) -> dict[str, Any]:
    """Fit a forecaster on the sensor's recent series, register it as a candidate, optionally store a forecast."""
    cfg = run.settings
    if "model_id" in params:  # a refit of a registered model: same name, target, method and settings
        async with run.db.sessions() as s:
            base = await repository.get_model(s, int(params["model_id"]))
        if base is None or base.sensor_id is None:
            raise ValueError(f"model {params['model_id']} does not exist or has no target sensor")
        params = {"sensor_id": base.sensor_id, "name": base.name, "method": base.method,
                  "resolution": base.resolution, **base.parameters, **params}
    sensor = await _sensor(run.db, int(params["sensor_id"]))
    resolution = str(params.get("resolution", cfg.resolution))
    horizon = int(params.get("horizon", cfg.forecast_horizon))
    interval = float(params.get("interval", cfg.interval))
    # ``as_of`` fits on the data up to a past moment (a forecast issued then can be checked against what
    # happened since); default: now.
    end = datetime.fromisoformat(str(params["as_of"])) if params.get("as_of") else utcnow()
    start = end - timedelta(hours=float(params.get("window_hours", cfg.training_window_hours)))
    y = await _regular_series(run.db, sensor.id, start, end, resolution)
    run.report(0.05, f"{len(y)} values loaded")
    fit: fitting.FitResult = await run.in_thread(
        fitting.fit_forecaster, y, horizon, method=str(params.get("method", "auto")), interval=interval,
        n_folds=int(params.get("folds", 3)), progress=lambda f, m: run.report(0.05 + 0.9 * f, m))
    artifact = await asyncio.to_thread(fitting.dump_model, fit.model)
    name = str(params.get("name") or f"sensor-{sensor.id}-forecast")
    async with run.db.transaction() as s:
        if await repository.name_taken_elsewhere(s, name, sensor.organization_id):
            raise ValueError(f"model name {name!r} belongs to another organisation")
        model = await repository.add_model(
            s, name=name, kind=ModelKind.FORECAST.value, organization_id=sensor.organization_id,
            sensor_id=sensor.id, input_sensor_ids=[], method=fit.method, resolution=resolution,
            data_start=y.index[0].to_pydatetime(), data_end=y.index[-1].to_pydatetime(),
            parameters={"horizon": horizon, "interval": interval, "periods": fit.model.periods_,
                        "season": fit.model.period_, "n_train": int(fit.model.n_train_), "job_id": run.job_id},
            metrics=fit.metrics, artifact=artifact, trained_by=run.actor)
        model_id, version = model.id, model.version
    result: dict[str, Any] = {"model_id": model_id, "name": name, "version": version, "method": fit.method,
                              "metrics": fit.metrics}
    if with_forecast:
        result["forecast_id"] = await _store_forecast(run, model, sensor, fit.forecast, y.index[-1], interval)
    return result


async def forecast_with_model(run: JobRun, model_id: int, params: dict[str, Any]) -> dict[str, Any]:
    """Forecast from the latest data with a stored model (no refit); checks the previous forecast's error."""
    async with run.db.sessions() as s:
        model = await repository.get_model(s, model_id, with_artifact=True)
    if model is None or model.sensor_id is None or model.artifact is None:
        raise ValueError(f"model {model_id} does not exist or has no stored forecaster")
    sensor = await _sensor(run.db, model.sensor_id)
    horizon = int(params.get("horizon", model.parameters.get("horizon", run.settings.forecast_horizon)))
    interval = float(params.get("interval", model.parameters.get("interval", run.settings.interval)))
    y = await _regular_series(run.db, sensor.id, model.data_start, utcnow(), model.resolution, model.data_start)
    stored = await asyncio.to_thread(fitting.load_model, model.artifact)
    step = pd.Timedelta(series.step_us(model.resolution), unit="us")
    frame = await run.in_thread(fitting.predict_from, stored, model.method, y.to_numpy(), y.index[-1], step, horizon,
                                interval)
    errors = await forecast_errors(run.db, model, sensor, model.data_end)
    if errors:
        metrics.set_forecast_abs_error(model.method, _target(sensor), abs(errors[-1][0] - errors[-1][1]))
    forecast_id = await _store_forecast(run, model, sensor, frame, y.index[-1], interval)
    return {"model_id": model.id, "forecast_id": forecast_id, "method": model.method, "origin": y.index[-1].isoformat()}


async def forecast_errors(db: Database, model: RegisteredModel, sensor: Sensor, since: datetime
                          ) -> list[tuple[float, float]]:
    """``(actual, forecast)`` of every stored forecast point of ``model`` after ``since`` with an actual value."""
    async with db.sessions() as s:
        issued = await repository.forecasts_since(s, model.id, since)
        if not issued:
            return []
        actual = await series.rollup_series(s, sensor.id, since, utcnow(), model.resolution)
    pairs: list[tuple[pd.Timestamp, float, float]] = []
    for fc in issued:
        for p in fc.points:
            ts = pd.Timestamp(p["ts"])
            if ts in actual.index and p["forecast"] is not None:
                pairs.append((ts, float(actual[ts]), float(p["forecast"])))
    pairs.sort(key=lambda t: t[0])
    return [(a, f) for _, a, f in pairs]


async def drift(run: JobRun, model_id: int, params: dict[str, Any]) -> dict[str, Any]:
    """Compare recent inputs and forecast errors of a model with its training window; store a report."""
    cfg = run.settings
    async with run.db.sessions() as s:
        model = await repository.get_model(s, model_id)
    if model is None or model.sensor_id is None:
        raise ValueError(f"model {model_id} does not exist or has no target sensor")
    if model.kind == ModelKind.MULTIVARIATE.value and "mapping_id" in model.parameters:
        from ghgwatch.analytics import mapping_jobs

        return await mapping_jobs.drift(run, model, params)
    sensor = await _sensor(run.db, model.sensor_id)
    end = utcnow()
    start = max(ensure_utc(model.data_end) + timedelta(microseconds=1),
                end - timedelta(hours=float(params.get("window_hours", cfg.drift_window_hours))))
    async with run.db.sessions() as s:
        train = await series.rollup_series(s, sensor.id, model.data_start, model.data_end + timedelta(seconds=1),
                                           model.resolution)
        recent = await series.rollup_series(s, sensor.id, start, end, model.resolution)
    features: dict[str, Any] = {}
    if len(recent) >= 10 and len(train) >= 10:
        features = await run.in_thread(fitting.input_drift, train.to_numpy(), recent.to_numpy())
    errors = await forecast_errors(run.db, model, sensor, start)
    baseline = model.metrics.get("mae")
    rolling, degraded = fitting.error_drift(errors, baseline, cfg.drift_error_window, cfg.drift_error_ratio)
    if errors:
        metrics.set_forecast_abs_error(model.method, _target(sensor), abs(errors[-1][0] - errors[-1][1]))
    flagged = degraded or any(f.get("drift") for f in features.values())
    async with run.db.transaction() as s:
        row = DriftReport(model_id=model.id, at=end, window_start=start, window_end=end, features=features,
                          rolling_mae=rolling, baseline_mae=fitting.finite(baseline), n_errors=len(errors),
                          flagged=flagged)
        s.add(row)
        await s.flush()
        report_id = row.id
    if flagged:
        log.warning("drift flagged for model %s (%s v%s)", model.id, model.name, model.version)
    return {"report_id": report_id, "flagged": flagged, "features": features, "rolling_mae": rolling,
            "n_errors": len(errors), "n_recent": len(recent)}


async def gap_report(run: JobRun, params: dict[str, Any], organization_id: int | None) -> dict[str, Any]:
    """Coverage and long silences of each (chosen or active) sensor's raw readings over the window."""
    cfg = run.settings
    end = utcnow()
    start = end - timedelta(hours=float(params.get("window_hours", cfg.gap_window_hours)))
    factor = float(params.get("factor", cfg.gap_factor))
    stmt = select(Sensor).where(Sensor.active.is_(True)).order_by(Sensor.id)
    if ids := params.get("sensor_ids"):
        stmt = stmt.where(Sensor.id.in_([int(i) for i in ids]))
    if organization_id is not None:
        stmt = stmt.where(Sensor.organization_id == organization_id)
    async with run.db.sessions() as s:
        sensors = (await s.execute(stmt)).scalars().all()
    out = []
    for i, sensor in enumerate(sensors):
        async with run.db.sessions() as s:
            ts = await series.reading_times(s, sensor.id, start, end)
        summary = series.gap_summary(ts, start, end, sensor.expected_interval_s, factor)
        out.append({"sensor_id": sensor.id, "name": sensor.name, "expected_interval_s": sensor.expected_interval_s,
                    **summary})
        run.report((i + 1) / max(len(sensors), 1), f"sensor {sensor.id}")
        await run.flush()
    return {"from": start.isoformat(), "to": end.isoformat(), "factor": factor, "sensors": out}


async def backtest_only(run: JobRun, params: dict[str, Any]) -> dict[str, Any]:
    from ghgwatch.analytics.backtest import backtest
    from ghgwatch.analytics.forecast import MODEL_NAMES

    cfg = run.settings
    sensor_id = int(params["sensor_id"])
    # ``as_of`` fits on the data up to a past moment (a forecast issued then can be checked against what
    # happened since); default: now.
    end = datetime.fromisoformat(str(params["as_of"])) if params.get("as_of") else utcnow()
    start = end - timedelta(hours=float(params.get("window_hours", cfg.training_window_hours)))
    y = await _regular_series(run.db, sensor_id, start, end, str(params.get("resolution", cfg.resolution)))
    models = tuple(params.get("methods", MODEL_NAMES))
    folds = int(params.get("folds", 3))
    total = len(models) * folds
    counter = iter(range(1, total + 1))
    report = await run.in_thread(
        backtest, y, int(params.get("horizon", cfg.forecast_horizon)), models, n_folds=folds,
        interval=float(params.get("interval", cfg.interval)),
        progress=lambda what: run.report(next(counter, total) / total, what))
    return {"sensor_id": sensor_id, **fitting.clean(report.to_dict())}


async def forecast(run: JobRun, params: dict[str, Any]) -> dict[str, Any]:
    """With ``model_id``, or without ``method`` for a sensor that has a promoted model: forecast with the
    stored model. Otherwise fit (``method``, default ``auto``), register a candidate and forecast."""
    if "model_id" in params:
        return await forecast_with_model(run, int(params["model_id"]), params)
    if "method" not in params:
        async with run.db.sessions() as s:
            promoted = await repository.promoted_for_sensor(s, int(params["sensor_id"]))
        if promoted is not None:
            return await forecast_with_model(run, promoted.id, params)
    return await fit_and_register(run, params, with_forecast=True)


async def _mapping_job(what: str, run: JobRun, params: dict[str, Any]) -> dict[str, Any]:
    from ghgwatch.analytics import mapping_jobs

    handler = mapping_jobs.fit if what == "fit" else mapping_jobs.forecast
    return await handler(run, int(params["mapping_id"]), params)


async def run_job(run: JobRun, kind: str, params: dict[str, Any], organization_id: int | None) -> dict[str, Any]:
    """Dispatch one job by kind."""
    handlers: dict[str, Callable[[], Awaitable[dict[str, Any]]]] = {
        JobKind.FORECAST: lambda: forecast(run, params),
        JobKind.REFIT: lambda: fit_and_register(run, params, with_forecast=False),
        JobKind.BACKTEST: lambda: backtest_only(run, params),
        JobKind.GAP_REPORT: lambda: gap_report(run, params, organization_id),
        JobKind.DRIFT: lambda: drift(run, int(params["model_id"]), params),
        JobKind.MAPPING_FIT: lambda: _mapping_job("fit", run, params),
        JobKind.MAPPING_FORECAST: lambda: _mapping_job("forecast", run, params),
    }
    if kind not in handlers:
        raise ValueError(f"unknown job kind {kind!r}")
    return await handlers[kind]()
