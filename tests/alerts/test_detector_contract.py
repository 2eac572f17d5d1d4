"""One contract, run over every streaming detector (the filtered ones and the unfiltered default)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from ghgwatch.alerts.detectors import (
    EWMA,
    AnomalyFilter,
    RobustZScore,
    SeasonalBaseline,
    StreamingDetector,
    make_detector,
    registry,
)
from ghgwatch.alerts.detectors.base import accept_mask

THR = 5.0
FACTORIES: dict[str, Callable[[], StreamingDetector]] = {
    "adaptive_default": make_detector,
    "robust_z": lambda: AnomalyFilter(RobustZScore(window=30), THR, max_skip=20, block=256),
    "ewma": lambda: AnomalyFilter(EWMA(alpha=0.1, min_periods=20), THR, max_skip=20, block=256),
    "ewma_slow_var": lambda: AnomalyFilter(EWMA(alpha=0.1, min_periods=20, beta=0.02), THR, max_skip=20),
    "seasonal": lambda: AnomalyFilter(SeasonalBaseline(bucket_s=3600, per_bucket=12), THR, max_skip=20, block=300),
    "seasonal_weekly": lambda: AnomalyFilter(SeasonalBaseline(bucket_s=21600, weekly=True, per_bucket=5), THR),
}
ids = list(FACTORIES)
FILTERED = [name for name in ids if name != "adaptive_default"]


def _series(n: int = 3000, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = 1_704_067_200.0 + 600.0 * np.arange(n)
    x = 1.0 + 0.3 * np.sin(2 * np.pi * t / 86400) + rng.normal(0, 0.05, n)
    x[rng.choice(n, min(40, n), replace=False)] += 2.0  # spikes
    x[2000:] += 0.8  # level shift
    return t, x


def _loop(det: StreamingDetector, t: np.ndarray, x: np.ndarray) -> np.ndarray:
    out = []
    for xi, ti in zip(x.tolist(), t.tolist(), strict=True):
        out.append(det.score_one(xi, ti))
        det.learn_one(xi, ti)
    return np.array(out)


@pytest.mark.parametrize("name", ids)
def test_scores_finite_non_negative_and_batch_equals_loop(name: str) -> None:
    t, x = _series()
    batch = FACTORIES[name]().score_many(x, t)
    loop = _loop(FACTORIES[name](), t, x)
    assert np.isfinite(batch).all()
    assert (batch >= 0).all()
    assert (batch > THR).sum() > 10  # the spikes are seen at all
    np.testing.assert_allclose(batch, loop, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("name", ids)
def test_batch_split_anywhere_equals_one_batch(name: str) -> None:
    t, x = _series(1500)
    whole = FACTORIES[name]().score_many(x, t)
    det = FACTORIES[name]()
    parts = [det.score_many(x[a:b], t[a:b]) for a, b in ((0, 1), (1, 377), (377, 1000), (1000, 1500))]
    np.testing.assert_allclose(np.concatenate(parts), whole, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("name", ids)
def test_deterministic(name: str) -> None:
    t, x = _series(800)
    np.testing.assert_array_equal(FACTORIES[name]().score_many(x, t), FACTORIES[name]().score_many(x, t))


@pytest.mark.parametrize("name", ids)
def test_constant_series_scores_zero_then_step_is_finite(name: str) -> None:
    t = 1_704_067_200.0 + 600.0 * np.arange(2000)
    x = np.full(2000, 0.42)
    det = FACTORIES[name]()
    with np.errstate(all="raise"):
        s = det.score_many(x, t)
        step = det.score_one(0.43, float(t[-1]) + 600.0 * 24 * 7)
    assert (s == 0).all()
    assert np.isfinite(step)
    assert step > THR


@pytest.mark.parametrize("name", ids)
def test_warm_up_scores_zero(name: str) -> None:
    t, x = _series(5)
    assert (FACTORIES[name]().score_many(x * 100, t) == 0).all()


@pytest.mark.parametrize("name", FILTERED)
def test_anomalies_are_not_learned(name: str) -> None:
    t, x = _series(1500)
    det = FACTORIES[name]()
    det.score_many(x[:1000], t[:1000])
    ref = FACTORIES[name]()
    ref.score_many(x[:1000], t[:1000])
    huge = float(np.max(x)) * 1000
    det.learn_one(huge, float(t[1000]))  # an anomaly: must leave the state unchanged
    probe_t, probe_x = t[1001:1200], x[1001:1200]
    np.testing.assert_allclose(det.score_many(probe_x, probe_t), ref.score_many(probe_x, probe_t))


def test_default_detector_forgets_a_gross_anomaly_after_one_window() -> None:
    # The default learns every point (a filter locked it in on real series, see docs/detection.md), so
    # a glitch may blind it while in its window, but never longer: the state is back to the reference.
    t, x = _series(2000)
    det, ref = make_detector(), make_detector()
    det.score_many(x[:1000], t[:1000])
    ref.score_many(x[:1000], t[:1000])
    det.learn_one(float(np.max(x)) * 1000, float(t[1000]))
    ref.learn_one(float(x[1000]), float(t[1000]))
    window = registry.DEFAULT_WINDOW + registry.DEFAULT_STEP  # statistics refresh every step points
    det.score_many(x[1001 : 1001 + window], t[1001 : 1001 + window])
    ref.score_many(x[1001 : 1001 + window], t[1001 : 1001 + window])
    probe_t, probe_x = t[1001 + window :], x[1001 + window :]
    got, want = det.score_many(probe_x, probe_t), ref.score_many(probe_x, probe_t)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
    assert (want > THR).any()  # the probe has anomalies to be blind to


@pytest.mark.parametrize("name", ["robust_z", "ewma", "ewma_slow_var", "adaptive_default"])
def test_long_level_shift_is_learned_after_max_skip(name: str) -> None:
    t, x = _series(2600)
    s = FACTORIES[name]().score_many(x, t)
    # Not flagged forever (the seasonal baseline adapts only as its buckets refill: documented).
    assert (s[2000:2600] > THR).mean() < 0.5


def test_accept_mask_learns_after_max_skip_consecutive_flags() -> None:
    flags = np.array([0, 1, 1, 1, 1, 0, 1], dtype=np.bool_)
    acc, run = accept_mask(flags, run_in=0, max_skip=2)
    assert acc.tolist() == [True, False, False, True, True, True, False]
    assert run == 1
    acc, run = accept_mask(np.array([1, 1], dtype=np.bool_), run_in=2, max_skip=2)
    assert acc.tolist() == [True, True]
    assert run == 4


def test_make_detector_rejects_unknown_method() -> None:
    with pytest.raises(ValueError, match="unknown"):
        make_detector("prophet")
