"""EWMA with control limits: exponentially weighted mean and variance, score = |x - mean| / sigma.

The control limits are ``mean ± L·sigma`` with ``L`` the filter threshold (Roberts 1959; the
exponentially weighted variance recurrence is West 1979 / Finch 2009, "Incremental calculation of
weighted mean and variance", eq. 143). Vectorised with ``scipy.signal.lfilter`` on the same
recurrences, so batch and streaming results agree to rounding.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from ghgwatch.alerts.detectors._robust import scale_floor
from ghgwatch.alerts.detectors.base import BoolArray, FloatArray, score_then_learn


class EWMA:
    """EWMA control chart; ``alpha`` smooths the mean (span ≈ 2/alpha - 1 points), ``beta`` the
    variance (default ``alpha``, West's recurrence). A ``beta`` well below ``alpha`` keeps the spread
    from inflating while a slow drift is being learned, so drifts stand out (our choice for
    ``ghgwatch detect``)."""

    def __init__(
        self, alpha: float = 0.05, min_periods: int = 30, min_scale: float = 1e-9, beta: float | None = None
    ) -> None:
        if not 0.0 < alpha < 1.0 or min_periods < 1:
            raise ValueError("alpha must be in (0, 1) and min_periods >= 1")
        self.alpha = alpha
        self.beta = alpha if beta is None else beta
        if not 0.0 < self.beta < 1.0:
            raise ValueError("beta must be in (0, 1)")
        self.min_periods = min_periods
        self.min_scale = min_scale
        self.n_ = 0
        self.mean_ = 0.0
        self.var_ = 0.0

    def learn_one(self, x: float, ts: float) -> None:
        if self.n_ == 0:
            self.mean_, self.var_ = float(x), 0.0
        else:
            d = float(x) - self.mean_
            self.mean_ += self.alpha * d
            self.var_ = (1.0 - self.beta) * (self.var_ + self.beta * d * d)
        self.n_ += 1

    def score_one(self, x: float, ts: float) -> float:
        if self.n_ < self.min_periods:
            return 0.0
        scale = max(math.sqrt(self.var_), float(scale_floor(self.mean_, self.min_scale)))
        return abs(float(x) - self.mean_) / scale

    def limits(self, threshold: float) -> tuple[float, float]:
        """Current lower and upper control limits for ``threshold`` sigmas."""
        sd = math.sqrt(self.var_)
        return self.mean_ - threshold * sd, self.mean_ + threshold * sd

    def _states(self, c: FloatArray) -> tuple[FloatArray, FloatArray, int]:
        """Mean and variance after 0..len(c) learned points of ``c`` (index 0 = current state)."""
        from scipy.signal import lfilter

        a = self.alpha
        n0, m0, v0 = self.n_, self.mean_, self.var_
        head_m, head_v = [m0], [v0]
        if n0 == 0 and c.shape[0]:
            m0, v0 = float(c[0]), 0.0
            head_m.append(m0)
            head_v.append(v0)
            c = c[1:]
        means = lfilter([a], [1.0, -(1.0 - a)], c, zi=[(1.0 - a) * m0])[0]
        prev = np.concatenate(([m0], means[:-1]))
        d2 = (c - prev) ** 2
        b = self.beta
        variances = lfilter([(1.0 - b) * b], [1.0, -(1.0 - b)], d2, zi=[(1.0 - b) * v0])[0]
        return (np.concatenate((head_m, means)), np.concatenate((head_v, variances)), n0)

    def score_block(self, values: FloatArray, timestamps: FloatArray, learned: BoolArray) -> FloatArray:
        x = np.asarray(values, dtype=np.float64)
        lrn = np.asarray(learned, dtype=np.bool_)
        means, variances, n0 = self._states(x[lrn])
        k: npt.NDArray[np.int64] = np.cumsum(lrn, dtype=np.int64) - lrn
        mean, sd = means[k], np.sqrt(variances[k])
        scale = np.maximum(sd, scale_floor(mean, self.min_scale))
        out = np.abs(x - mean) / scale
        out[n0 + k < self.min_periods] = 0.0
        return out

    def learn_many(self, values: FloatArray, timestamps: FloatArray) -> None:
        c = np.asarray(values, dtype=np.float64)
        if c.shape[0] == 0:
            return
        means, variances, _ = self._states(c)
        self.mean_, self.var_ = float(means[-1]), float(variances[-1])
        self.n_ += int(c.shape[0])

    def score_many(self, values: FloatArray, timestamps: FloatArray) -> FloatArray:
        return score_then_learn(self, values, timestamps, chunk=65536)
