from __future__ import annotations

import pandas as pd
import pytest

from ghgwatch.analytics._frequency import candidate_periods, infer_frequency, primary_period
from tests.analytics.conftest import seasonal_series


@pytest.mark.parametrize(
    ("freq", "expected"),
    [
        ("s", [60.0, 3600.0]),
        ("min", [60.0, 1440.0]),
        ("h", [24.0, 168.0]),
        ("D", [7.0, 365.25]),
        ("MS", [12.0]),
        ("QS", [4.0]),
        ("YS", []),
    ],
)
def test_candidate_periods_follow_the_step(freq: str, expected: list[float]) -> None:
    index = pd.date_range("2020-01-01", periods=50, freq=freq)
    assert candidate_periods(infer_frequency(index).step) == pytest.approx(expected)


def test_short_series_keeps_only_periods_seen_twice() -> None:
    step = pd.Timedelta(hours=1)
    assert candidate_periods(step, n=100) == [24.0]
    assert candidate_periods(step, n=40) == []


def test_median_step_survives_missing_rows_and_future_follows_month_ends() -> None:
    index = pd.date_range("2024-01-01", periods=20, freq="h").delete([3, 4, 11])
    freq = infer_frequency(index)
    assert freq.step == pd.Timedelta(hours=1)
    monthly = infer_frequency(pd.date_range("2023-01-01", periods=24, freq="MS"))
    assert list(monthly.future(pd.Timestamp("2024-12-01"), 2)) == [
        pd.Timestamp("2025-01-01"),
        pd.Timestamp("2025-02-01"),
    ]


def test_primary_period_picks_the_built_in_season() -> None:
    y = seasonal_series(24 * 30, period=168, noise=0.1).to_numpy()
    assert primary_period(y, [24.0, 168.0]) == 168
    assert primary_period(y, []) == 1
