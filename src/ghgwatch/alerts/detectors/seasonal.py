"""Seasonal baseline: a robust profile per time-of-day (× day-of-week) bucket.

Each bucket keeps the last ``per_bucket`` learned values that fell into it; a point is scored with the
robust z-score (median, MAD) against its own bucket. This catches departures from the usual daily
(or weekly) profile, for example a ventilation-shaft concentration that is normal at 14:00 but not at
03:00. It adapts to a level shift only as fast as its buckets refill, so for series without a daily
pattern the sliding-window robust z-score is the better choice (see ``choose_method``).
"""

from __future__ import annotations

from collections import deque

import numpy as np

from ghgwatch.alerts.detectors._robust import robust_scores, robust_stats_py
from ghgwatch.alerts.detectors.base import BoolArray, FloatArray, score_then_learn

_DAY = 86400
_EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday; Monday = 0


class SeasonalBaseline:
    """Profile by ``bucket_s``-long slots of the day, optionally also by day of week.

    ``utc_offset_s`` shifts timestamps to local time so that buckets follow the site's day (a Kuzbass
    mine is UTC+7, offset 25200). A bucket scores 0 until it holds ``per_bucket`` values.
    """

    def __init__(
        self,
        bucket_s: int = 3600,
        weekly: bool = False,
        per_bucket: int = 120,
        utc_offset_s: int = 0,
        min_scale: float = 1e-9,
    ) -> None:
        if bucket_s <= 0 or _DAY % bucket_s or per_bucket < 3:
            raise ValueError("bucket_s must divide a day and per_bucket must be >= 3")
        self.bucket_s = bucket_s
        self.weekly = weekly
        self.per_bucket = per_bucket
        self.utc_offset_s = utc_offset_s
        self.min_scale = min_scale
        self._buckets: dict[int, deque[float]] = {}

    def bucket_of(self, ts: float) -> int:
        local = int(ts // 1) + self.utc_offset_s
        slot = (local % _DAY) // self.bucket_s
        if not self.weekly:
            return slot
        weekday = (local // _DAY + _EPOCH_WEEKDAY) % 7
        return weekday * (_DAY // self.bucket_s) + slot

    def _buckets_of(self, t: FloatArray) -> np.ndarray:
        local = np.floor(t).astype(np.int64) + self.utc_offset_s
        slot = (local % _DAY) // self.bucket_s
        if not self.weekly:
            return slot
        weekday = (local // _DAY + _EPOCH_WEEKDAY) % 7
        return weekday * (_DAY // self.bucket_s) + slot

    def learn_one(self, x: float, ts: float) -> None:
        b = self.bucket_of(ts)
        buf = self._buckets.get(b)
        if buf is None:
            buf = self._buckets[b] = deque(maxlen=self.per_bucket)
        buf.append(float(x))

    def score_one(self, x: float, ts: float) -> float:
        buf = self._buckets.get(self.bucket_of(ts))
        if buf is None or len(buf) < self.per_bucket:
            return 0.0
        med, scale = robust_stats_py(list(buf), self.min_scale)
        return abs(float(x) - med) / scale

    def score_block(self, values: FloatArray, timestamps: FloatArray, learned: BoolArray) -> FloatArray:
        x = np.asarray(values, dtype=np.float64)
        lrn = np.asarray(learned, dtype=np.bool_)
        b = self._buckets_of(np.asarray(timestamps, dtype=np.float64))
        out = np.zeros(x.shape[0], dtype=np.float64)
        order = np.argsort(b, kind="stable")
        uniq, starts = np.unique(b[order], return_index=True)
        ends = np.append(starts[1:], order.shape[0])
        for bucket, lo, hi in zip(uniq.tolist(), starts.tolist(), ends.tolist(), strict=True):
            pos = order[lo:hi]
            buf = self._buckets.get(bucket)
            hist = np.fromiter(buf, dtype=np.float64) if buf else np.empty(0, dtype=np.float64)
            out[pos] = robust_scores(hist, x[pos], lrn[pos], self.per_bucket, self.min_scale)
        return out

    def learn_many(self, values: FloatArray, timestamps: FloatArray) -> None:
        x = np.asarray(values, dtype=np.float64)
        b = self._buckets_of(np.asarray(timestamps, dtype=np.float64))
        order = np.argsort(b, kind="stable")
        uniq, starts = np.unique(b[order], return_index=True)
        ends = np.append(starts[1:], order.shape[0])
        for bucket, lo, hi in zip(uniq.tolist(), starts.tolist(), ends.tolist(), strict=True):
            buf = self._buckets.get(bucket)
            if buf is None:
                buf = self._buckets[bucket] = deque(maxlen=self.per_bucket)
            buf.extend(x[order[lo:hi]][-self.per_bucket :].tolist())

    def score_many(self, values: FloatArray, timestamps: FloatArray) -> FloatArray:
        return score_then_learn(self, values, timestamps, chunk=65536)
