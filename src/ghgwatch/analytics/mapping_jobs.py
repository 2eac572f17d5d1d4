"""Jobs of forecast mappings: train the multivariate model from stored 1-minute rollups, forecast with the
promoted version (and judge the early-warning rules), and check its drift.

Training registers every fit as a candidate of the mapping's model name with its backtest (held-out MAE of the
model and of persistence at every step, split-conformal coverage and Winkler score) and promotes it only when it
beats the naive (persistence) forecast both at the last step and over all steps: a model worse than naive is
never promoted (issue 14). Forecasts are stored in ``forecasts`` like the univariate ones, under the target sensor.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from ghgwatch.analytics import fitting, mapping, repository, series
from ghgwatch.analytics.drift import drift_report
from ghgwatch.analytics.flows import JobRun, forecast_errors
from ghgwatch.analytics.models import DriftReport, Forecast, ForecastMapping, ModelKind, RegisteredModel
from ghgwatch.analytics.multivariate import MultivariateForecaster
from ghgwatch.analytics.promotion import promote
from ghgwatch.kit.timeutil import ensure_utc, utcnow
from ghgwatch.registry.models import Sensor

log = logging.getLogger(__name__)
RESOLUTION = "1m"
MAX_GAP_MIN = 15
"""Missing minutes filled by time interpolation inside a series, at most this many in a row (ghgwatch choice);
longer gaps leave rows out of training."""
TAIL_FILL_MIN = 5
"""A sensor whose last minute is older than the others' by at most this is carried forward at the end."""
CONCENTRATION_UNITS = ("%", "% vol", "%vol", "vol%")
NON_NEGATIVE_KINDS = ("methane", "co2", "air_flow", "air_velocity", "gas_flow")


def column(sensor_id: int) -> str:
    return f"sensor_{sensor_id}"


def bounds(sensor: Sensor) -> tuple[float | None, float | None]:
    """Physical bounds of the target: 0-100 for a concentration in %, >= 0 for other non-negative kinds."""
    kind = sensor.kind.value
    if kind in NON_NEGATIVE_KINDS:
        return 0.0, 100.0 if sensor.unit in CONCENTRATION_UNITS else None
    return None, None


async def _mapping(run: JobRun, mapping_id: int) -> ForecastMapping:
    async with run.db.sessions() as s:
        row = await mapping.get(s, mapping_id)
    if row is None:
        raise ValueError(f"forecast mapping {mapping_id} does not exist")
    return row


async def load_table(run: JobRun, row: ForecastMapping, start: datetime, end: datetime) -> pd.DataFrame:
    """The target and input columns on one 1-minute grid; short gaps interpolated (see ``MAX_GAP_MIN``)."""
    ids = [row.target_sensor_id, *row.input_sensor_ids]
    columns: dict[str, pd.Series] = {}
    async with run.db.sessions() as s:
        for sensor_id in ids:
            raw = await series.rollup_series(s, sensor_id, start, end, RESOLUTION)
            if raw.empty:
                raise ValueError(f"sensor {sensor_id} of forecast mapping {row.id} has no 1-minute data between "
                                 f"{start:%Y-%m-%d %H:%M} and {end:%Y-%m-%d %H:%M}")
            columns[column(sensor_id)] = raw
    table = pd.DataFrame(columns)
    grid = pd.date_range(table.index.min(), table.index.max(), freq="1min", name="timestamp")
    table = table.reindex(grid).interpolate(method="time", limit=MAX_GAP_MIN, limit_area="inside")
    return table.ffill(limit=TAIL_FILL_MIN)


def _dump(model: MultivariateForecaster) -> bytes:
    return fitting.dump_model(model)


def _load(artifact: bytes) -> MultivariateForecaster:
    return fitting.load_artifact(artifact, MultivariateForecaster, "a multivariate forecaster")


async def fit(run: JobRun, mapping_id: int, params: dict[str, Any]) -> dict[str, Any]:
    """Train on the mapping's window up to ``as_of`` (default now), register, promote when it beats naive."""
    row = await _mapping(run, mapping_id)
    async with run.db.sessions() as s:
        target = await s.get(Sensor, row.target_sensor_id)
    if target is None:
        raise ValueError(f"the target sensor {row.target_sensor_id} of mapping {row.id} no longer exists")
    end = datetime.fromisoformat(str(params["as_of"])) if params.get("as_of") else utcnow()
    start = end - timedelta(hours=float(params.get("window_hours", row.window_hours)))
    table = await load_table(run, row, start, end)
    run.report(0.1, f"{len(table)} minutes of {len(table.columns)} sensors loaded")
    model = MultivariateForecaster(column(row.target_sensor_id), kind=row.method, horizon=row.horizon_min,
                                   lags=row.lags, interval=row.interval, bounds=bounds(target), max_iter=100,
                                   n_repeats=2)
    fitted: MultivariateForecaster = await run.in_thread(model.fit, table)
    artifact = await asyncio.to_thread(_dump, fitted)
    chosen = fitted.metrics_[fitted.kind_]
    naive = fitted.metrics_["persistence"]
    model_metrics = {
        # ``mae`` (all steps) is the baseline the drift job compares the live forecast errors with.
        "mae": chosen["mae_all_steps"], "mae_last_step": chosen["mae"], "naive_mae": naive["mae_all_steps"],
        "naive_mae_last_step": naive["mae"], "beats_naive": fitted.beats_naive_,
        "backtest": fitted.metrics_, "interval": fitted.interval_metrics_,
        "column_importance": {str(k): float(v) for k, v in fitted.column_importance_.items()},
    }
    model_metrics = fitting.clean(model_metrics)
    async with run.db.transaction() as s:
        registered = await repository.add_model(
            s, name=row.model_name, kind=ModelKind.MULTIVARIATE.value, organization_id=row.organization_id,
            sensor_id=row.target_sensor_id, input_sensor_ids=row.input_sensor_ids, method=fitted.kind_,
            resolution=RESOLUTION, data_start=table.index[0].to_pydatetime(),
            data_end=table.index[-1].to_pydatetime(),
            parameters={"mapping_id": row.id, "horizon": row.horizon_min, "lags": row.lags,
                        "interval": row.interval, "columns": list(fitted.columns_), "job_id": run.job_id,
                        "test_window_start": fitted.test_window_start_},
            metrics=model_metrics, artifact=artifact, trained_by=run.actor)
        promoted = bool(fitted.beats_naive_ and params.get("promote", True))
        if promoted:
            await promote(s, registered, run.actor)
        model_id, version = registered.id, registered.version
    if not fitted.beats_naive_:
        log.warning("mapping %s: model v%s is worse than the naive forecast; not promoted", row.id, version)
    return {"mapping_id": row.id, "model_id": model_id, "name": row.model_name, "version": version,
            "method": fitted.kind_, "promoted": promoted, "beats_naive": fitted.beats_naive_,
            "metrics": {k: model_metrics[k] for k in ("mae", "mae_last_step", "naive_mae", "naive_mae_last_step",
                                                      "interval")}}


async def forecast(run: JobRun, mapping_id: int, params: dict[str, Any]) -> dict[str, Any]:
    """Forecast from the latest stored minutes with the promoted model; store it and judge the early warning."""
    from ghgwatch.alerts.early_warning import judge_forecast

    row = await _mapping(run, mapping_id)
    async with run.db.sessions() as s:
        promoted = await mapping.promoted_model(s, row)
        model = None if promoted is None else await repository.get_model(s, promoted.id, with_artifact=True)
    if model is None or model.artifact is None:
        raise ValueError(f"forecast mapping {row.id} has no promoted model (train it first: a model worse than "
                         "the naive forecast is never promoted)")
    stored = await asyncio.to_thread(_load, model.artifact)
    end = datetime.fromisoformat(str(params["as_of"])) if params.get("as_of") else utcnow()
    start = end - timedelta(minutes=max(60, 4 * (stored.lags + 1)))
    table = await load_table(run, row, start, end)
    frame: pd.DataFrame = await run.in_thread(stored.predict, table)
    origin = table.index[-1]
    async with run.db.transaction() as s:
        fc = Forecast(model_id=model.id, sensor_id=row.target_sensor_id, organization_id=row.organization_id,
                      issued_at=utcnow(), origin=origin.to_pydatetime(), interval=stored.interval,
                      points=fitting.points(frame))
        s.add(fc)
        await s.flush()
        forecast_id = fc.id
        changes = await judge_forecast(s, sensor_id=row.target_sensor_id, origin=origin.to_pydatetime(),
                                       points=fc.points, forecast_id=forecast_id)
    await run.publish_alerts(changes)
    return {"mapping_id": row.id, "model_id": model.id, "forecast_id": forecast_id, "origin": origin.isoformat(),
            "alerts": [{"action": action, "alert_id": alert["id"], "rule_id": alert["rule_id"]}
                       for action, alert, _ in changes]}


async def drift(run: JobRun, model: RegisteredModel, params: dict[str, Any]) -> dict[str, Any]:
    """Inputs (PSI, KS per column) of the recent window against the training window, and the rolling error of the
    stored forecasts against the backtest MAE; stored as a drift report like the univariate models'."""
    mapping_id = int(model.parameters.get("mapping_id", 0))
    row = await _mapping(run, mapping_id)
    cfg = run.settings
    end = utcnow()
    start = max(ensure_utc(model.data_end) + timedelta(minutes=1),
                end - timedelta(hours=float(params.get("window_hours", cfg.drift_window_hours))))
    train = await load_table(run, row, model.data_start, model.data_end + timedelta(minutes=1))
    features: dict[str, Any] = {}
    try:
        recent = await load_table(run, row, start, end)
    except ValueError:
        recent = pd.DataFrame()
    if len(recent) >= 10 and len(train) >= 10:
        features = await run.in_thread(drift_report, train, recent)
    async with run.db.sessions() as s:
        target = await s.get(Sensor, model.sensor_id)
    if target is None:
        raise ValueError(f"the target sensor {model.sensor_id} of model {model.id} no longer exists")
    errors = await forecast_errors(run.db, model, target, start)
    baseline = model.metrics.get("mae")
    rolling, degraded = fitting.error_drift(errors, baseline, cfg.drift_error_window, cfg.drift_error_ratio)
    features = fitting.clean(features)
    flagged = bool(degraded or any(f.get("drift") for f in features.values()))
    async with run.db.transaction() as s:
        report = DriftReport(model_id=model.id, at=end, window_start=start, window_end=end, features=features,
                             rolling_mae=rolling, baseline_mae=fitting.finite(baseline), n_errors=len(errors),
                             flagged=flagged)
        s.add(report)
        await s.flush()
        report_id = report.id
    return {"report_id": report_id, "flagged": flagged, "features": features, "rolling_mae": rolling,
            "n_errors": len(errors), "n_recent": len(recent), "mapping_id": row.id}


def evaluation_table(model: MultivariateForecaster, table: pd.DataFrame, steps: tuple[int, ...]) -> pd.DataFrame:
    """Per forecast interval (minutes ahead): mean target, mean forecast, MAE, mean absolute error % and the
    coverage of the interval, over the rows of ``table`` (the mine platform's evaluation table, issue 14)."""
    rows = []
    for h in steps:
        ev = model.evaluate(table, horizon=h)
        rows.append({"minutes_ahead": h, "n": len(ev), "target": float(ev["target"].mean()),
                     "forecast": float(ev["forecast"].mean()),
                     "mae": float(np.mean(np.abs(ev["forecast"] - ev["target"]))),
                     "error_pct": float(ev["error_pct"].abs().mean())})
    return pd.DataFrame(rows)
