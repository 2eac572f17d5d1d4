"""Shared fit/predict machinery of the univariate forecasters: set-up and conformal intervals.

Interval method (documented in ``docs/analytics.md``): *split conformal calibration with horizon-specific
absolute residual quantiles from rolling origins*. The last ``calibration_fraction`` of the series is held
out; the model is fitted on the part before it and makes recursive forecasts of ``max_horizon`` steps from
up to ``max_origins`` origins spread over the held-out window. For each step ahead ``h`` the interval
half-width is the conformal quantile ``ceil((n_h + 1) * level) / n_h`` of the ``n_h`` absolute errors at
that step (Vovk et al. 2005; Lei et al. 2018, eq. 5). The model is then refitted on the whole series.

Caveat: residuals from overlapping rolling origins are not exchangeable, so the coverage guarantee of
split conformal prediction holds only approximately for time series; tests check it empirically.
"""

from __future__ import annotations

import math
from typing import Any, Self

import numpy as np
import pandas as pd

from ghgwatch.analytics._frequency import Frequency, candidate_periods, infer_frequency, primary_period


def as_values(y: Any, timestamps: Any = None) -> tuple[np.ndarray, pd.DatetimeIndex | None]:
    """Split a series (or array plus optional timestamps) into float values and a DatetimeIndex."""
    index: pd.DatetimeIndex | None = None
    if isinstance(y, pd.Series):
        if isinstance(y.index, pd.DatetimeIndex):
            index = y.index
        values = y.to_numpy(dtype=float, na_value=np.nan)
    else:
        values = np.asarray(y, dtype=float)
    if timestamps is not None:
        index = pd.DatetimeIndex(timestamps)
    if values.ndim != 1:
        raise ValueError("a univariate series is expected")
    if index is not None and len(index) != len(values):
        raise ValueError("timestamps and values differ in length")
    if not np.all(np.isfinite(values)):
        raise ValueError("the series has missing or infinite values; fill the gaps first")
    return values, index


def conformal_quantile(residuals: np.ndarray, level: float) -> float:
    """The ``ceil((n + 1) level)``-th smallest residual (the largest one when that exceeds ``n``)."""
    r = np.sort(residuals[np.isfinite(residuals)])
    if len(r) == 0:
        return float("nan")
    k = min(len(r), math.ceil((len(r) + 1) * level))
    return float(r[max(k, 1) - 1])


class ConformalForecaster:
    """Base class: subclasses implement ``_setup``, ``_fit_core``, ``_paths`` and ``_min_train``."""

    def __init__(
        self,
        *,
        seasonal_periods: list[float] | None = None,
        interval: float = 0.9,
        max_horizon: int = 48,
        calibration_fraction: float = 0.2,
        max_origins: int = 60,
    ) -> None:
        self.seasonal_periods = seasonal_periods
        self.interval = interval
        self.max_horizon = max_horizon
        self.calibration_fraction = calibration_fraction
        self.max_origins = max_origins

    # -- hooks ---------------------------------------------------------------------------------
    def _setup(self, values: np.ndarray) -> None:
        """Choose features from the whole series (periods are already known)."""

    def _min_train(self) -> int:
        raise NotImplementedError

    def _fit_core(self, values: np.ndarray) -> None:
        raise NotImplementedError

    def _paths(self, values: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
        """Point forecasts ``(len(origins), horizon)``, each from the history ``values[:origin]``."""
        raise NotImplementedError

    # -- public API ----------------------------------------------------------------------------
    def fit(self, y: Any, timestamps: Any = None) -> Self:
        """Fit on a series; a pandas Series with a DatetimeIndex (or ``timestamps``) enables seasonality."""
        if not 0 < self.interval < 1:
            raise ValueError("interval must be between 0 and 1")
        values, index = as_values(y, timestamps)
        n = len(values)
        self.frequency_: Frequency | None = infer_frequency(index) if index is not None else None
        self.last_timestamp_: pd.Timestamp | None = index[-1] if index is not None else None
        if self.seasonal_periods is not None:
            periods = [float(p) for p in self.seasonal_periods if p >= 2 and n >= 2 * p]
        elif self.frequency_ is not None:
            periods = candidate_periods(self.frequency_.step, n)
        else:
            periods = []
        self.periods_ = periods
        self.period_ = primary_period(values, periods)
        self._setup(values)
        n_cal = max(int(self.calibration_fraction * n), min(n // 3, 20))
        min_train = self._min_train()
        if n - n_cal < min_train:
            n_cal = n - min_train
        if n_cal < 3:
            raise ValueError(f"series too short: {n} values, at least {min_train + 3} are needed")
        origins = np.unique(np.linspace(n - n_cal, n - 1, min(self.max_origins, n_cal)).astype(int))
        self._fit_core(values[: n - n_cal])
        horizon = max(1, self.max_horizon)
        paths = self._paths(values, origins, horizon)
        pos = origins[:, None] + np.arange(horizon)[None, :]
        valid = pos < n
        actual = values[np.minimum(pos, n - 1)]
        self.calibration_residuals_ = np.where(valid, np.abs(actual - paths), np.nan)
        self._fit_core(values)
        self.values_ = values
        self.n_train_ = n
        return self

    def half_widths(self, horizon: int, interval: float | None = None) -> np.ndarray:
        """Interval half-width for each step ahead; non-decreasing in the step.

        Steps beyond ``max_horizon`` (or without calibration errors) extend the last calibrated
        half-width by ``sqrt(h / h_last)``, a random-walk assumption; calibrate with a larger
        ``max_horizon`` to avoid it.
        """
        level = self.interval if interval is None else interval
        res = self.calibration_residuals_
        q = np.full(horizon, np.nan)
        for h in range(min(horizon, res.shape[1])):
            col = res[:, h]
            if np.isfinite(col).sum() >= 5:
                q[h] = conformal_quantile(col, level)
        known = np.flatnonzero(np.isfinite(q))
        if len(known) == 0:
            q[:] = conformal_quantile(res[:, 0], level)
            return np.maximum.accumulate(np.nan_to_num(q))
        last = known[-1]
        for h in range(last + 1, horizon):
            q[h] = q[last] * math.sqrt((h + 1) / (last + 1))
        q[: known[0]] = q[known[0]]
        q = pd.Series(q).ffill().to_numpy()
        return np.maximum.accumulate(q)

    def predict_paths(self, values: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
        """Point forecasts ``(len(origins), horizon)`` of the fitted model from ``values[:origin]``.

        For evaluation on later data without refitting; positions continue the training positions, so
        ``values`` must start where the training series started.
        """
        return self._paths(np.asarray(values, dtype=float), np.asarray(origins, dtype=int), horizon)

    def predict(self, horizon: int, interval: float | None = None) -> pd.DataFrame:
        """Forecast ``horizon`` steps after the training data: columns ``forecast, lower, upper``."""
        if horizon < 1:
            raise ValueError("horizon must be at least 1")
        n = self.n_train_
        point = self._paths(self.values_, np.array([n]), horizon)[0]
        q = self.half_widths(horizon, interval)
        if self.frequency_ is not None and self.last_timestamp_ is not None:
            index: pd.Index = self.frequency_.future(self.last_timestamp_, horizon)
            index.name = "timestamp"
        else:
            index = pd.RangeIndex(1, horizon + 1, name="step")
        return pd.DataFrame({"forecast": point, "lower": point - q, "upper": point + q}, index=index)
