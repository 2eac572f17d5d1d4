"""Adaptive windowed detectors calibrated on labelled real series (NAB, see docs/detection.md).

``WindowedGaussian``: score = |x - mean| / sd over the last ``window`` points; ``WindowedRobust``: the
same with median and MAD. Unlike the filtered detectors of ``methods.py`` they learn every point (so a
level shift becomes the new normal within one window instead of locking the detector), and the spread
never falls below ``floor_rel`` times the range of the values seen so far, so a series that is mostly
zeros does not score 1e9 on its first nonzero value. A value scoring above ``range_guard`` does not
widen that range: one gross glitch (a reading 1000 times the usual) would otherwise set the floor, and
blind the detector, for good; as it is, the glitch only inflates the window's spread until it leaves
the window. On nab-dev the all-time range is worth about 8 points of NAB score over a windowed range
(docs/detection.md). Statistics are refreshed every ``step`` learned
points (NAB's windowed Gaussian does the same with step 100), which keeps the batch path fast.
Alarms are raised from the scores by ``ghgwatch.alerts.nab.alarms`` (threshold with hold-off: one alarm
per incident).
"""

from __future__ import annotations

from collections import deque

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ghgwatch.alerts.detectors._robust import MAD_TO_SIGMA, MEANAD_TO_SIGMA
from ghgwatch.alerts.detectors.base import FloatArray

_TINY = 1e-12
_CHUNK = 8192


def _robust_rows(w: FloatArray) -> tuple[FloatArray, FloatArray]:
    med = np.median(w, axis=1)
    dev = np.abs(w - med[:, None])
    scale = MAD_TO_SIGMA * np.median(dev, axis=1)
    zero = scale == 0.0
    if zero.any():
        scale[zero] = MEANAD_TO_SIGMA * dev[zero].mean(axis=1)
    return med, scale


def _gauss_rows(w: FloatArray) -> tuple[FloatArray, FloatArray]:
    return w.mean(axis=1), w.std(axis=1)


class WindowedDetector:
    """Shared state: a buffer of the last ``window`` values, the running min/max, refresh every ``step``."""

    robust = False

    def __init__(
        self, window: int = 500, step: int = 10, floor_rel: float = 0.01, range_guard: float = 50.0
    ) -> None:
        if window < 3 or step < 1 or not 0.0 <= floor_rel < 1.0 or range_guard <= 0:
            raise ValueError("window must be >= 3, step >= 1, floor_rel in [0, 1) and range_guard > 0")
        self.window = window
        self.step = step
        self.floor_rel = floor_rel
        self.range_guard = range_guard
        self._buf: deque[float] = deque(maxlen=window)
        self.n_ = 0
        self._lo = np.inf
        self._hi = -np.inf
        self._center = 0.0
        self._scale = 0.0
        self._ready = False

    def _rows(self, w: FloatArray) -> tuple[FloatArray, FloatArray]:
        return _robust_rows(w) if self.robust else _gauss_rows(w)

    def learn_one(self, x: float, ts: float) -> None:
        v = float(x)
        if self.score_one(v, ts) <= self.range_guard:
            self._lo, self._hi = min(self._lo, v), max(self._hi, v)
        self._buf.append(v)
        self.n_ += 1
        if self.n_ >= self.window and (self.n_ - self.window) % self.step == 0:
            c, s = self._rows(np.asarray(self._buf, dtype=np.float64)[None, :])
            self._center, self._scale, self._ready = float(c[0]), float(s[0]), True

    def score_one(self, x: float, ts: float) -> float:
        if not self._ready:
            return 0.0
        floor = self.floor_rel * (self._hi - self._lo) + _TINY
        return abs(float(x) - self._center) / max(self._scale, floor)

    def score_many(self, values: FloatArray, timestamps: FloatArray) -> FloatArray:
        """Exactly the ``score_one``/``learn_one`` loop over the points, vectorised."""
        x = np.asarray(values, dtype=np.float64)
        n = x.shape[0]
        if n == 0:
            return np.zeros(0, dtype=np.float64)
        if n > _CHUNK:  # bounds the worst case of the fixed-point iteration below
            t = np.asarray(timestamps, dtype=np.float64)
            return np.concatenate([self.score_many(x[a : a + _CHUNK], t[a : a + _CHUNK]) for a in range(0, n, _CHUNK)])
        hist = np.fromiter(self._buf, dtype=np.float64, count=len(self._buf))
        c = np.concatenate((hist, x))
        h = hist.shape[0]
        # Global learned count after learning block point j is n0 + j + 1; refreshes happen at counts
        # window, window + step, ...; the buffer then holds c[k - window : k] in local indexes.
        n0 = self.n_
        first = max(self.window, n0 + 1)
        rem = (first - self.window) % self.step
        if rem:
            first += self.step - rem
        counts = np.arange(first, n0 + n + 1, self.step)
        ends = counts - n0 + h  # exclusive end index into c
        # Refresh index used by point j: the last refresh with count <= n0 + j (learned before j).
        k = np.searchsorted(counts, n0 + np.arange(n), side="right") - 1
        center = np.full(n, self._center)
        scale = np.full(n, self._scale)
        ready = np.full(n, self._ready)
        if counts.size:
            wins = sliding_window_view(c, self.window)[ends - self.window]
            cc, ss = self._rows(wins)
            has = k >= 0
            center[has], scale[has], ready[has] = cc[k[has]], ss[k[has]], True
        dev = np.abs(x - center)
        # Which points widen the range depends on their scores, which depend on the range of the
        # points before them: solve by fixed-point iteration (causal, so each pass settles at least
        # one more point; in practice two or three passes).
        widen = np.ones(n, dtype=np.bool_)
        for _ in range(n + 1):
            lo = np.minimum.accumulate(np.r_[self._lo, np.where(widen, x, np.inf)])
            hi = np.maximum.accumulate(np.r_[self._hi, np.where(widen, x, -np.inf)])
            span = hi[:-1] - lo[:-1]
            floor = self.floor_rel * np.where(np.isfinite(span), span, 0.0) + _TINY
            out = np.where(ready, dev / np.maximum(scale, floor), 0.0)
            new = out <= self.range_guard
            if np.array_equal(new, widen):
                break
            widen = new
        # Carry the state forward.
        self._buf.extend(x[-self.window :].tolist())
        self.n_ = n0 + n
        self._lo, self._hi = float(lo[-1]), float(hi[-1])
        if counts.size:
            self._center, self._scale, self._ready = float(cc[-1]), float(ss[-1]), True
        return out


class WindowedGaussian(WindowedDetector):
    """Windowed Gaussian: |x - mean| / sd of the last ``window`` points."""

    robust = False


class WindowedRobust(WindowedDetector):
    """Windowed robust z-score: |x - median| / (1.4826 MAD) of the last ``window`` points."""

    robust = True
