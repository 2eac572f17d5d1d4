from __future__ import annotations

import numpy as np
import pandas as pd

from ghgwatch.analytics.drift import RollingErrorTracker, drift_report, ks_test, psi


def test_psi_and_ks_separate_same_and_shifted_distributions() -> None:
    rng = np.random.default_rng(0)
    train = rng.normal(size=5000)
    assert psi(train, rng.normal(size=5000)) < 0.02
    assert psi(train, rng.normal(1.0, 1.0, 5000)) > 0.25
    assert ks_test(train, rng.normal(size=5000))[1] > 0.001
    assert ks_test(train, rng.normal(0.5, 1.0, 5000))[1] < 1e-6


def test_drift_report_flags_only_the_shifted_column() -> None:
    rng = np.random.default_rng(1)
    train = pd.DataFrame({"air": rng.normal(100, 5, 2000), "ch4": rng.normal(0.5, 0.1, 2000)})
    recent = pd.DataFrame({"air": rng.normal(100, 5, 500), "ch4": rng.normal(0.8, 0.1, 500)})
    report = drift_report(train, recent)
    assert report["ch4"]["drift"] is True
    assert report["air"]["drift"] is False


def test_rolling_error_tracker_detects_degradation_once_the_window_is_full() -> None:
    tracker = RollingErrorTracker(baseline_mae=1.0, window=10, ratio=1.5)
    for _ in range(9):
        tracker.update(5.0, 8.0)
    assert not tracker.degraded  # window not full yet
    tracker.update(5.0, 8.0)
    assert tracker.mae == 3.0
    assert tracker.degraded
    for _ in range(10):
        tracker.update(5.0, 5.5)
    assert not tracker.degraded
