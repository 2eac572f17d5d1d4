"""Adaptive windowed detectors: batch equals the streaming loop; no lock-in on sparse series."""

from __future__ import annotations

import numpy as np
import pytest

from ghgwatch.alerts.detectors.adaptive import WindowedDetector, WindowedGaussian, WindowedRobust
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
