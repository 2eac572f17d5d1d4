"""Lag, trend and seasonal (Fourier or dummy) features on an integer time grid."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

Seasonal = Literal["fourier", "dummy"]


@dataclass(frozen=True)
class FeatureSpec:
    """How to build the design matrix; positions are integer steps from the first training value."""

    lags: tuple[int, ...]
    periods: tuple[float, ...]
    fourier_order: int = 3
    seasonal: Seasonal = "fourier"
    trend: bool = True
    trend_scale: float = 1.0

    @property
    def max_lag(self) -> int:
        return max(self.lags) if self.lags else 0

    def time_features(self, positions: np.ndarray) -> np.ndarray:
        """Trend and seasonal columns for the given positions."""
        t = np.asarray(positions, dtype=float)
        cols: list[np.ndarray] = []
        if self.trend:
            cols.append(t / self.trend_scale)
        for i, p in enumerate(self.periods):
            if self.seasonal == "dummy" and i == 0 and float(p).is_integer() and p <= 400:
                phase = np.mod(t, p).astype(int)
                # p - 1 dummies; phase 0 is the reference level absorbed by the intercept.
                cols.extend((phase == k).astype(float) for k in range(1, int(p)))
                continue
            order = max(1, min(self.fourier_order, int(p // 2)))
            for k in range(1, order + 1):
                angle = 2.0 * np.pi * k * t / p
                cols.append(np.sin(angle))
                cols.append(np.cos(angle))
        if not cols:
            return np.empty((len(t), 0))
        return np.column_stack(cols)

    def design(self, y: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Feature rows for targets ``y[rows]`` (all ``rows >= max_lag``)."""
        lag_cols = [y[rows - lag] for lag in self.lags]
        lagged = np.column_stack(lag_cols) if lag_cols else np.empty((len(rows), 0))
        return np.hstack([lagged, self.time_features(rows)])

    def n_features(self) -> int:
        return len(self.lags) + int(self.time_features(np.zeros(1)).shape[1])
