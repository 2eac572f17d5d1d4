"""Which readings of a batch are *late* (no newer than a reading of their sensor judged before them), in numpy.

A batch is a sequence of runs: consecutive readings of one sensor (one ``SensorRows`` of the pipeline, one record
of the bus). The common cases cost one pass over the readings and a sort of the runs, not of the readings:

* every run rises and starts after what its sensor had judged before (live data): nothing is late;
* every reading is at or before what its sensor had judged before (the stored-lane pass over readings the live
  lane judged at accept time, a replay after a hand-over): everything is late.

Anything else (a backfill overtaken by live data, a gateway emptying its buffer) takes the exact path: a stable
sort by sensor and a running maximum per sensor. Timestamps must be finite (the pipeline's are integers).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ghgwatch.alerts.detectors.base import FloatArray

IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]


def run_starts(idx: IntArray) -> IntArray:
    """Positions where a run of readings of one sensor starts (``idx``: the sensor of each reading, non-empty)."""
    change = np.empty(idx.shape[0], dtype=np.bool_)
    change[0] = True
    np.not_equal(idx[1:], idx[:-1], out=change[1:])
    return np.flatnonzero(change)


def late_readings(idx: IntArray, ts: FloatArray, starts: IntArray, judged: FloatArray) -> BoolArray | None:
    """The late readings of a batch, ``None`` when none is.

    ``judged``: per run, the newest reading time of its sensor judged before this batch (NaN: none). A reading is
    late when its time is at or before that, or at or before a reading of its sensor earlier in the batch.
    """
    n = ts.shape[0]
    rises = np.empty(n, dtype=np.bool_)
    rises[0] = True
    np.greater(ts[1:], ts[:-1], out=rises[1:])
    rises[starts] = True
    if rises.all() and _runs_in_order(idx, ts, starts, judged):
        return None
    if (np.maximum.reduceat(ts, starts) <= judged).all():
        return np.ones(n, dtype=np.bool_)
    return _late_exact(idx, ts, np.repeat(judged, np.diff(starts, append=n)))


def _runs_in_order(idx: IntArray, ts: FloatArray, starts: IntArray, judged: FloatArray) -> bool:
    """Given that every run rises: whether each run starts after everything its sensor had before it (what was
    judged before the batch, or the last reading of the sensor's previous run in the batch)."""
    ends = np.empty_like(starts)
    ends[:-1] = starts[1:] - 1
    ends[-1] = ts.shape[0] - 1
    order = np.argsort(idx[starts], kind="stable")
    sensors = idx[starts][order]
    prior = judged[order]
    again = sensors[1:] == sensors[:-1]  # the run follows an earlier run of its sensor
    prior[1:][again] = ts[ends[order]][:-1][again]
    first = ts[starts][order]
    return bool(((first > prior) | np.isnan(prior)).all())


def _late_exact(idx: IntArray, ts: FloatArray, judged: FloatArray) -> BoolArray:
    """Exact, for any order: a running maximum of the times per sensor (in arrival order), compared with each
    reading. Times are replaced by their ranks, offset per sensor so one ``maximum.accumulate`` over the
    readings sorted by sensor never carries a maximum from one sensor into the next."""
    n = ts.shape[0]
    order = np.argsort(idx, kind="stable")
    io, to = idx[order], ts[order]
    first = np.empty(n, dtype=np.bool_)
    first[0] = True
    np.not_equal(io[1:], io[:-1], out=first[1:])
    group = np.cumsum(first) - 1
    times, rank = np.unique(to, return_inverse=True)
    base = group.astype(np.int64) * (times.shape[0] + 1)
    running = np.maximum.accumulate(base + rank.reshape(-1) + 1)
    before = np.zeros(n, dtype=np.int64)
    before[1:] = running[:-1]
    before -= base  # > 0: the rank (+1) of the newest earlier reading of the sensor in the batch; else none
    earlier = np.full(n, np.nan)
    seen = before > 0
    earlier[seen] = times[before[seen] - 1]
    newest = np.fmax(judged[order], earlier)
    late = np.empty(n, dtype=np.bool_)
    late[order] = ~((to > newest) | np.isnan(newest))
    return late
