"""Univariate forecasters: seasonal naive, linear regression and gradient-boosted trees.

The regression models use lags, a linear trend and seasonal terms (Fourier pairs, or dummies for the
first period) and forecast recursively: each step's prediction becomes the lag of the next step.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from ghgwatch.analytics._base import ConformalForecaster
from ghgwatch.analytics._features import FeatureSpec, Seasonal
from ghgwatch.analytics._threads import openmp_threads

ModelName = Literal["linear", "gbdt", "naive"]
MODEL_NAMES: tuple[ModelName, ...] = ("linear", "gbdt", "naive")
_MAX_SEASONAL_LAG = 10080


class SeasonalNaiveForecaster(ConformalForecaster):
    """Repeat the last observed season (period = ``period_``; plain naive when there is no season)."""

    def _min_train(self) -> int:
        return self.period_ + 1

    def _fit_core(self, values: np.ndarray) -> None:
        del values

    def _paths(self, values: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
        m = self.period_
        h = np.arange(horizon)
        back = m * (h // m + 1)
        idx = origins[:, None] + h[None, :] - back[None, :]
        return np.asarray(values[idx], dtype=float)


class _RegressionForecaster(ConformalForecaster):
    """Recursive regression on :class:`FeatureSpec` features; subclasses provide the estimator."""

    _detrend = False

    def __init__(
        self,
        *,
        n_lags: int = 3,
        seasonal_lags: bool = True,
        fourier_order: int = 3,
        seasonal: Seasonal = "fourier",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.n_lags = n_lags
        self.seasonal_lags = seasonal_lags
        self.fourier_order = fourier_order
        self.seasonal = seasonal

    def _make_estimator(self) -> Any:
        raise NotImplementedError

    def _setup(self, values: np.ndarray) -> None:
        n = len(values)
        lags = set(range(1, max(0, min(self.n_lags, n // 4)) + 1))
        if self.seasonal_lags:
            lags.update(round(p) for p in self.periods_ if 3 * p <= n and p <= _MAX_SEASONAL_LAG)
        self.spec_ = FeatureSpec(
            lags=tuple(sorted(lags)),
            periods=tuple(self.periods_),
            fourier_order=self.fourier_order,
            seasonal=self.seasonal,
            trend=not self._detrend,
            trend_scale=float(n),
        )

    def _min_train(self) -> int:
        return self.spec_.max_lag + max(10, 2 * self.spec_.n_features())

    def _trend(self, positions: np.ndarray) -> np.ndarray:
        if not self._detrend:
            return np.zeros(len(positions))
        return np.asarray(np.polyval(self.trend_coef_, positions), dtype=float)

    def _training_rows(self, rows: np.ndarray) -> np.ndarray:
        return rows

    def _fit_core(self, values: np.ndarray) -> None:
        n = len(values)
        pos = np.arange(n, dtype=float)
        self.trend_coef_ = np.polyfit(pos, values, 1) if self._detrend else np.zeros(2)
        r = values - self._trend(pos)
        rows = self._training_rows(np.arange(self.spec_.max_lag, n))
        X = self.spec_.design(r, rows)
        self.estimator_ = self._make_estimator().fit(X, r[rows])

    def _paths(self, values: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
        spec = self.spec_
        L = spec.max_lag
        buf = np.empty((len(origins), L + horizon))
        if L:
            hist = origins[:, None] + np.arange(-L, 0)[None, :]
            buf[:, :L] = values[hist] - self._trend(hist.ravel().astype(float)).reshape(hist.shape)
        for h in range(horizon):
            pos = origins + h
            lagged = [buf[:, L + h - lag] for lag in spec.lags]
            parts = [np.column_stack(lagged)] if lagged else []
            X = np.hstack([*parts, spec.time_features(pos)])
            buf[:, L + h] = self.estimator_.predict(X)
        steps = origins[:, None] + np.arange(horizon)[None, :]
        out = buf[:, L:] + self._trend(steps.ravel().astype(float)).reshape(steps.shape)
        return np.asarray(out, dtype=float)


class LinearForecaster(_RegressionForecaster):
    """Ordinary least squares on lags, a linear trend and seasonal terms."""

    def _make_estimator(self) -> Any:
        from sklearn.linear_model import LinearRegression

        return LinearRegression()


class GBDTForecaster(_RegressionForecaster):
    """HistGradientBoostingRegressor on the lag and seasonal features of the linearly detrended series.

    Trees cannot extrapolate a trend, so a straight line (least squares on time) is removed first and
    added back to the forecast. Training rows above ``max_train_rows`` are subsampled uniformly at random
    (seeded by ``random_state``), which keeps fitting on a year of 1-minute data to seconds.
    """

    _detrend = True

    def __init__(
        self,
        *,
        max_iter: int = 200,
        learning_rate: float = 0.1,
        max_leaf_nodes: int = 31,
        max_train_rows: int = 50_000,
        random_state: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.max_train_rows = max_train_rows
        self.random_state = random_state

    def _make_estimator(self) -> Any:
        from sklearn.ensemble import HistGradientBoostingRegressor

        return HistGradientBoostingRegressor(
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes,
            early_stopping=False,
            random_state=self.random_state,
        )

    def _training_rows(self, rows: np.ndarray) -> np.ndarray:
        if len(rows) <= self.max_train_rows:
            return rows
        rng = np.random.default_rng(self.random_state)
        return np.sort(rng.choice(rows, size=self.max_train_rows, replace=False))

    # One OpenMP thread for small fits and every predict (analytics/_threads.py says why).
    def _fit_core(self, values: np.ndarray) -> None:
        with openmp_threads(len(values)):
            super()._fit_core(values)

    def _paths(self, values: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
        with openmp_threads():
            return super()._paths(values, origins, horizon)


def make_forecaster(name: str, **params: Any) -> ConformalForecaster:
    """Build a forecaster by name (``linear``, ``gbdt`` or ``naive``) with common parameters."""
    if name == "naive":
        common = {k: v for k, v in params.items() if k in _COMMON}
        return SeasonalNaiveForecaster(**common)
    if name == "linear":
        return LinearForecaster(**{k: v for k, v in params.items() if k not in _GBDT_ONLY})
    if name == "gbdt":
        return GBDTForecaster(**params)
    raise ValueError(f"unknown model {name!r}; expected one of {', '.join(MODEL_NAMES)}")


_COMMON = {"seasonal_periods", "interval", "max_horizon", "calibration_fraction", "max_origins"}
_GBDT_ONLY = {"max_iter", "learning_rate", "max_leaf_nodes", "max_train_rows", "random_state"}
