"""The detector interface (river style) and the filter that keeps anomalies from being learned.

Conventions shared by every streaming detector:

* ``score_one(x, ts)`` scores a point against what has been learned so far; it never changes state.
* ``learn_one(x, ts)`` updates the state with one point.
* ``score_many(values, timestamps)`` is the vectorised equivalent of ``for each point: score_one;
  learn_one`` (streaming semantics: each point is scored with past data only) and returns the scores.
* Scores are finite and ``>= 0``, in units of the detector's robust spread ("how many sigmas"), so one
  threshold (for example 5) means roughly the same for every method. During warm-up the score is 0.
* Timestamps are Unix seconds (UTC) as floats.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@runtime_checkable
class StreamingDetector(Protocol):
    """What the pipeline and ``ghgwatch detect`` use."""

    def learn_one(self, x: float, ts: float) -> None: ...

    def score_one(self, x: float, ts: float) -> float: ...

    def score_many(self, values: FloatArray, timestamps: FloatArray) -> FloatArray: ...


class BlockDetector(StreamingDetector, Protocol):
    """A streaming detector that can also score a block given which of its points are learned.

    ``score_block`` returns, for each point ``i`` of the block, the score it would get from the current
    state plus the block's points ``j < i`` with ``learned[j]``; it does not change state.
    ``learn_many`` learns the given points in order. These two make exact vectorised filtering possible.
    """

    def score_block(self, values: FloatArray, timestamps: FloatArray, learned: BoolArray) -> FloatArray: ...

    def learn_many(self, values: FloatArray, timestamps: FloatArray) -> None: ...


def score_then_learn(
    det: BlockDetector, values: FloatArray, timestamps: FloatArray, chunk: int
) -> FloatArray:
    """``score_many`` for an unfiltered detector: every point is learned after it is scored."""
    x = np.asarray(values, dtype=np.float64)
    t = np.asarray(timestamps, dtype=np.float64)
    out = np.empty(x.shape[0], dtype=np.float64)
    for start in range(0, x.shape[0], chunk):
        xs, ts = x[start : start + chunk], t[start : start + chunk]
        out[start : start + chunk] = det.score_block(xs, ts, np.ones(xs.shape[0], dtype=np.bool_))
        det.learn_many(xs, ts)
    return out


def accept_mask(flags: BoolArray, run_in: int, max_skip: int) -> tuple[BoolArray, int]:
    """Which points the filter learns, and the run of consecutive flagged points carried out.

    A flagged point is not learned, unless it is the ``max_skip + 1``-th or later flagged point in a row:
    a run that long is taken as a new regime (level shift) and learned so the detector adapts.
    """
    n = flags.shape[0]
    idx = np.arange(n)
    last_clear = np.maximum.accumulate(np.where(~flags, idx, -1))
    run = idx - last_clear + np.where(last_clear < 0, run_in, 0)
    accepted = ~flags | (run > max_skip)
    run_out = int(run[-1]) if n and bool(flags[-1]) else (run_in if n == 0 else 0)
    return accepted, run_out


class AnomalyFilter:
    """Wraps a detector so that points scoring above ``threshold`` are not learned.

    Equivalent to river's ``ThresholdFilter``, plus ``max_skip``: after that many consecutive
    anomalous points the detector learns again (a level shift becomes the new normal instead of being
    flagged forever). ``score_many`` gives exactly the scores of the ``score_one``/``learn_one`` loop:
    blocks are solved by fixed-point iteration on the learned mask, which converges because the score of
    point ``i`` depends only on decisions about points before ``i``.
    """

    def __init__(
        self, detector: BlockDetector, threshold: float, max_skip: int = 60, block: int = 2048
    ) -> None:
        if threshold <= 0 or max_skip < 0 or block < 1:
            raise ValueError("threshold must be > 0, max_skip >= 0 and block >= 1")
        self.detector = detector
        self.threshold = float(threshold)
        self.max_skip = int(max_skip)
        self.block = int(block)
        self._run = 0

    def score_one(self, x: float, ts: float) -> float:
        return self.detector.score_one(x, ts)

    def learn_one(self, x: float, ts: float) -> None:
        if self.detector.score_one(x, ts) > self.threshold:
            self._run += 1
            if self._run <= self.max_skip:
                return
        else:
            self._run = 0
        self.detector.learn_one(x, ts)

    def is_anomaly(self, score: float) -> bool:
        return score > self.threshold

    def score_many(self, values: FloatArray, timestamps: FloatArray) -> FloatArray:
        x = np.asarray(values, dtype=np.float64)
        t = np.asarray(timestamps, dtype=np.float64)
        out = np.empty(x.shape[0], dtype=np.float64)
        for start in range(0, x.shape[0], self.block):
            xs, ts = x[start : start + self.block], t[start : start + self.block]
            learned = np.ones(xs.shape[0], dtype=np.bool_)
            # Each pass fixes at least one more decision, so at most len(block) + 1 passes.
            for _ in range(xs.shape[0] + 1):
                scores = self.detector.score_block(xs, ts, learned)
                new_learned, run_out = accept_mask(scores > self.threshold, self._run, self.max_skip)
                if np.array_equal(new_learned, learned):
                    break
                learned = new_learned
            out[start : start + self.block] = scores
            self._run = run_out
            self.detector.learn_many(xs[learned], ts[learned])
        return out
