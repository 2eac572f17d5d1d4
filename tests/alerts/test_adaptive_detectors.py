"""Adaptive windowed detectors (batch equals the streaming loop; no lock-in on sparse series; a glitch
does not blind them) and the weekly seasonal baseline."""

from __future__ import annotations

import numpy as np
import pytest

from ghgwatch.alerts.detectors.adaptive import WindowedDetector, WindowedGaussian, WindowedRobust
from ghgwatch.alerts.detectors.methods import choose_method, make_detector
from ghgwatch.alerts.nab import alarms


def _loop(det: WindowedDetector, x: np.ndarray) -> np.ndarray:
    out = []
    for v in x.tolist():
        out.append(det.score_one(v, 0.0))
        det.learn_one(v, 0.0)
    return np.array(out)


@pytest.mark.parametrize("cls", [WindowedGaussian, WindowedRobust])
def test_batch_equals_loop_across_chunks(cls: type[WindowedDetector]) -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(0, 1, 700)
    x[400:] += 5
    t = np.zeros_like(x)
    ref = _loop(cls(window=50, step=7), x)
    det = cls(window=50, step=7)
    got = np.concatenate([det.score_many(x[a:b], t[a:b]) for a, b in ((0, 33), (33, 34), (34, 400), (400, 700))])
    np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-9)


def test_sparse_series_does_not_lock_in() -> None:
    # Mostly zeros with regular small bursts: the spread floor keeps the bursts' scores moderate.
    x = np.zeros(3000)
    x[::50] = 1.0
    s = WindowedRobust(window=500).score_many(x, np.zeros_like(x))
    assert s.max() < 1000.0
    assert float(s[-500:].max()) <= 100.0


def test_level_shift_gives_one_alarm() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(10, 0.5, 3000)
    x[2000:] += 20
    s = WindowedRobust(window=500).score_many(x, np.zeros_like(x))
    a = alarms(s, 6.0, holdoff=300)
    assert int(a[2000:].sum()) == 1
    assert bool(a[2000])
    assert int(a[:2000].sum()) == 0


def test_a_glitch_does_not_widen_the_range_for_good() -> None:
    # One reading 1000x the usual would set the spread floor (5 % of the range) for ever; it is kept
    # out of the range, so a later ordinary anomaly still scores high.
    rng = np.random.default_rng(4)
    x = rng.normal(10, 0.5, 3000)
    x[1000] = 10_000.0
    x[2500] += 6.0  # 12 sigma
    det = WindowedGaussian(window=300, step=5, floor_rel=0.05)
    s = det.score_many(x, np.zeros_like(x))
    assert s[1000] > 1000
    assert s[2500] > 8.0
    assert det._hi < 100.0


def _weekly_series(weeks: int, weekend_drop: float, seed: int = 5) -> tuple[np.ndarray, np.ndarray]:
    # 10-minute readings from Monday 2024-01-01 00:00 UTC: a daily cycle, lower at weekends.
    rng = np.random.default_rng(seed)
    t = 1_704_067_200.0 + 600.0 * np.arange(weeks * 7 * 144)
    day = (t - t[0]) // 86400 % 7
    x = 10 + 3 * np.sin(2 * np.pi * (t % 86400) / 86400) + rng.normal(0, 0.3, t.size)
    x[day >= 5] -= weekend_drop
    return t, x


def test_auto_choice_sees_a_weekly_pattern() -> None:
    t, x = _weekly_series(4, 6.0)
    assert choose_method(t, x) == "seasonal_weekly"
    t, x = _weekly_series(4, 0.0)
    assert choose_method(t, x) == "seasonal"
    t, x = _weekly_series(4, 6.0)
    assert choose_method(t[: 3 * 144], x[: 3 * 144]) == "adaptive"  # too short for any season


def test_weekly_baseline_does_not_flag_every_weekend() -> None:
    t, x = _weekly_series(5, 6.0)
    week = 7 * 144
    weekend = ((t - t[0]) // 86400 % 7) >= 5
    late = np.arange(t.size) >= 2 * week  # after the buckets are full
    weekly = make_detector("seasonal_weekly", interval_s=600.0).score_many(x, t) > 5.0
    daily = make_detector("seasonal", interval_s=600.0).score_many(x, t) > 5.0
    assert weekly[late & weekend].mean() < 0.01
    assert daily[late & weekend].mean() > 0.2  # what the daily profile did to city traffic
