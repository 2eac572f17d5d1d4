"""NAB scoring: labelled anomaly windows, the scaled sigmoid, the three profiles, threshold optimisation.

A re-implementation of the Numenta Anomaly Benchmark scorer (Lavin and Ahmad 2015, "Evaluating
Real-time Anomaly Detection Algorithms - the Numenta Anomaly Benchmark"; reference code
``nab/sweeper.py``, MIT licence, Numenta Inc.), used by ``benchmarks/nab.py`` and its tests.

Rules (all numbers from the paper / ``nab/sweeper.py``):

* Each point gets a weight. Inside a window of ``w`` points whose last point is ``r``, point ``i`` has
  relative position ``-(r - i + 1) / w`` (``-1`` at the window's first point) and weight
  ``A_TP * sigma(pos) / sigma(-1)``. Outside every window, a detection costs ``A_FP * sigma(pos)`` where
  ``pos = (i - r_prev) / (w_prev - 1)`` measures the distance after the previous window (``-A_FP`` if there
  is no previous window). ``sigma(y) = 2 / (1 + exp(5 y)) - 1`` for ``y <= 3``, else ``-1``.
* A window scores the weight of its earliest detection, or ``-A_FN`` if it has none.
* The first 15 % of each series, at most 750 points, is probationary: not scored.
* A detector's raw score is the sum over all files for one threshold shared by all files; the threshold
  is chosen to maximise it, and the result is normalised: ``100 * (raw - null) / (perfect - null)``
  where the null detector never fires (``-A_FN`` per window) and the perfect one detects every window at
  its first point (``A_TP`` per window).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Profile:
    """Application profile: weights of a true positive, a false positive and a false negative."""

    name: str
    a_tp: float
    a_fp: float
    a_fn: float


# NAB profiles (Lavin and Ahmad 2015, table 1; nab/config/profiles.json).
PROFILES: Final[dict[str, Profile]] = {
    "standard": Profile("standard", 1.0, 0.11, 1.0),
    "reward_low_fp": Profile("reward_low_fp", 1.0, 0.22, 1.0),
    "reward_low_fn": Profile("reward_low_fn", 1.0, 0.11, 2.0),
}
PROBATION_SHARE: Final = 0.15  # NAB probationary percent
PROBATION_MAX_POINTS: Final = 750  # 0.15 * 5000 (nab/util.py getProbationPeriod)


def probation_length(n: int) -> int:
    """Number of leading points that are not scored."""
    return int(min(math.floor(PROBATION_SHARE * n), PROBATION_SHARE * 5000))


def scaled_sigmoid(position: FloatArray | float) -> FloatArray:
    """NAB's scaled sigmoid: +0.987 at -1 (window start), 0 at 0 (window end), -> -1 far after it."""
    y = np.asarray(position, dtype=np.float64)
    val = 2.0 / (1.0 + np.exp(np.clip(5.0 * y, -700.0, 700.0))) - 1.0
    return np.where(y > 3.0, -1.0, val)


_MAX_TP: Final = float(scaled_sigmoid(-1.0))


@dataclass(frozen=True, slots=True)
class LabelledSeries:
    """Point weights of one series: ``tp_weight`` (unweighted sigmoid / sigma(-1)) inside windows,
    ``fp_weight`` (unweighted sigmoid, <= 0) outside, ``window`` = global window id or -1, and
    ``scored`` = past the probationary period."""

    tp_weight: FloatArray
    fp_weight: FloatArray
    window: IntArray
    scored: BoolArray
    n_windows: int


def label_points(timestamps: FloatArray, windows: Sequence[tuple[float, float]]) -> LabelledSeries:
    """Point weights for a series with the given ``[start, end]`` windows (inclusive, same clock).

    Window ids are local (0..k-1); windows without any scored point are dropped, as in NAB where only
    windows that appear among the scored points count.
    """
    t = np.asarray(timestamps, dtype=np.float64)
    n = t.shape[0]
    idx = np.arange(n, dtype=np.float64)
    window = np.full(n, -1, dtype=np.int64)
    tp = np.zeros(n, dtype=np.float64)
    fp = np.full(n, -1.0, dtype=np.float64)
    prob = probation_length(n)
    scored = idx >= prob
    kept = 0
    prev_right: int | None = None
    prev_width = 0
    bounds: list[tuple[int, int]] = []
    for start, end in sorted(windows):
        inside = np.nonzero((t >= start) & (t <= end))[0]
        if inside.size:
            bounds.append((int(inside[0]), int(inside[-1])))
    cursor = 0
    for left, right in bounds:
        width = right - left + 1
        # Points between the previous window (or the start) and this one are false-positive territory.
        if prev_right is not None:
            gap = np.arange(cursor, left)
            fp[gap] = scaled_sigmoid((gap - prev_right) / max(prev_width - 1, 1))
        pos = -(right - idx[left : right + 1] + 1) / width
        if scored[left : right + 1].any():
            window[left : right + 1] = kept
            tp[left : right + 1] = scaled_sigmoid(pos) / _MAX_TP
            kept += 1
        prev_right, prev_width, cursor = right, width, right + 1
    if prev_right is not None:
        gap = np.arange(cursor, n)
        fp[gap] = scaled_sigmoid((gap - prev_right) / max(prev_width - 1, 1))
    fp[window >= 0] = 0.0
    return LabelledSeries(tp, fp, window, scored, kept)


def detection_score(labels: LabelledSeries, detections: BoolArray, profile: Profile) -> float:
    """Raw NAB score of one series for the given detections (only scored points count)."""
    det = np.asarray(detections, dtype=np.bool_) & labels.scored
    out = -profile.a_fn * labels.n_windows
    inwin = det & (labels.window >= 0)
    if inwin.any():
        best = np.full(labels.n_windows, -np.inf)
        np.maximum.at(best, labels.window[inwin], labels.tp_weight[inwin])
        hit = np.isfinite(best)
        out += float(np.sum(profile.a_tp * best[hit] + profile.a_fn))
    out += profile.a_fp * float(np.sum(labels.fp_weight[det & (labels.window < 0)]))
    return out


def null_and_perfect(labels: Sequence[LabelledSeries], profile: Profile) -> tuple[float, float]:
    windows = sum(lab.n_windows for lab in labels)
    return -profile.a_fn * windows, profile.a_tp * windows


def normalise(raw: float, null: float, perfect: float) -> float:
    if perfect == null:
        return 0.0
    return 100.0 * (raw - null) / (perfect - null)


@dataclass(frozen=True, slots=True)
class SweepResult:
    threshold: float
    raw: float
    normalised: float


def sweep_scores(
    labels: Sequence[LabelledSeries], scores: Sequence[FloatArray], profile: Profile
) -> SweepResult:
    """NAB's threshold optimisation when every point scoring ``>= threshold`` is a detection.

    Exact: sorts all scored points of all series by score (descending) and evaluates the total at every
    distinct score, as ``nab/sweeper.py`` does. Returns the best threshold (``inf`` = never fire).
    """
    null, perfect = null_and_perfect(labels, profile)
    s_parts: list[FloatArray] = []
    offset = 0
    wins: list[IntArray] = []
    tpw: list[FloatArray] = []
    fpd: list[FloatArray] = []
    for lab, sc in zip(labels, scores, strict=True):
        m = lab.scored
        s_parts.append(np.asarray(sc, dtype=np.float64)[m])
        w = lab.window[m]
        wins.append(np.where(w >= 0, w + offset, -1))
        tpw.append(lab.tp_weight[m])
        fpd.append(np.where(w >= 0, 0.0, profile.a_fp * lab.fp_weight[m]))
        offset += lab.n_windows
    if not s_parts:
        return SweepResult(math.inf, null, 0.0)
    s = np.concatenate(s_parts)
    win = np.concatenate(wins)
    tp = np.concatenate(tpw)
    fp = np.concatenate(fpd)
    order = np.argsort(-s, kind="stable")
    s, win, tp, fp = s[order], win[order], tp[order], fp[order]
    delta = fp.copy()
    inw = np.nonzero(win >= 0)[0]
    if inw.size:
        # Per window, running max of the TP weight in sweep order; the score gains its increments.
        grp = win[inw]
        o2 = np.argsort(grp, kind="stable")
        pos_sorted, grp_sorted = inw[o2], grp[o2]
        vals = profile.a_tp * tp[pos_sorted]
        starts = np.r_[0, np.nonzero(np.diff(grp_sorted))[0] + 1]
        run = np.empty_like(vals)
        ends = [*starts[1:].tolist(), vals.shape[0]]
        for a, b in zip(starts.tolist(), ends, strict=True):
            run[a:b] = np.maximum.accumulate(vals[a:b])
        prev = np.r_[-profile.a_fn, run[:-1]]
        prev[starts] = -profile.a_fn
        delta[pos_sorted] = run - prev
    del_parts = np.cumsum(delta)
    total = null + del_parts
    # Only the last point of each run of equal scores is a valid cut (ties fire together).
    last = np.r_[s[1:] != s[:-1], True]
    cand = np.nonzero(last)[0]
    best_i = int(cand[np.argmax(total[cand])])
    if total[best_i] <= null:
        return SweepResult(math.inf, null, 0.0)
    raw = float(total[best_i])
    return SweepResult(float(s[best_i]), raw, normalise(raw, null, perfect))


def alarms(scores: FloatArray, threshold: float, holdoff: int) -> BoolArray:
    """Alarm economy: one alarm per incident.

    Points scoring ``>= threshold`` belong to one incident while each follows the previous such point
    by at most ``holdoff`` points; an incident raises one alarm, at its first point. ``holdoff = 0``
    makes every point above the threshold an alarm (plain NAB detections).
    """
    s = np.asarray(scores, dtype=np.float64)
    out = np.zeros(s.shape[0], dtype=np.bool_)
    above = np.nonzero(s >= threshold)[0]
    if holdoff <= 0 or above.size == 0:
        out[above] = True
        return out
    gaps = np.diff(above, prepend=above[0] - holdoff - 1)
    out[above[gaps > holdoff]] = True
    return out


def score_with_holdoff(
    labels: Sequence[LabelledSeries],
    scores: Sequence[FloatArray],
    profile: Profile,
    holdoff: int,
    thresholds: FloatArray,
) -> SweepResult:
    """Best threshold from ``thresholds`` when detections are the alarms of :func:`alarms`."""
    null, perfect = null_and_perfect(labels, profile)
    best = SweepResult(math.inf, null, 0.0)
    for thr in np.asarray(thresholds, dtype=np.float64).tolist():
        raw = sum(
            detection_score(lab, alarms(sc, thr, holdoff), profile)
            for lab, sc in zip(labels, scores, strict=True)
        )
        if raw > best.raw:
            best = SweepResult(thr, raw, normalise(raw, null, perfect))
    return best
