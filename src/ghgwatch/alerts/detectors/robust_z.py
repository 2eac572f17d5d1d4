"""Robust z-score over a sliding window: |x - median| / (1.4826 * MAD)."""

from __future__ import annotations

from collections import deque

import numpy as np

from ghgwatch.alerts.detectors._robust import robust_scores, robust_stats_py
from ghgwatch.alerts.detectors.base import BoolArray, FloatArray, score_then_learn


class RobustZScore:
    """Sliding-window robust z-score.

    Scores 0 until ``window`` points have been learned. If the MAD is 0 (a mostly constant window)
    the mean absolute deviation is used, and the spread never goes below ``min_scale`` (in the
    series' units), so a constant series scores 0 and a step on it scores large but finite.
    """

    def __init__(self, window: int = 60, min_scale: float = 1e-9) -> None:
        if window < 3:
            raise ValueError("window must be >= 3")
        self.window = window
        self.min_scale = min_scale
        self._buf: deque[float] = deque(maxlen=window)

    def learn_one(self, x: float, ts: float) -> None:
        self._buf.append(float(x))

    def score_one(self, x: float, ts: float) -> float:
        if len(self._buf) < self.window:
            return 0.0
        med, scale = robust_stats_py(list(self._buf), self.min_scale)
        return abs(float(x) - med) / scale

    def score_block(self, values: FloatArray, timestamps: FloatArray, learned: BoolArray) -> FloatArray:
        hist = np.fromiter(self._buf, dtype=np.float64, count=len(self._buf))
        return robust_scores(hist, np.asarray(values, dtype=np.float64), learned, self.window, self.min_scale)

    def learn_many(self, values: FloatArray, timestamps: FloatArray) -> None:
        self._buf.extend(np.asarray(values, dtype=np.float64)[-self.window :].tolist())

    def score_many(self, values: FloatArray, timestamps: FloatArray) -> FloatArray:
        return score_then_learn(self, values, timestamps, chunk=65536)
