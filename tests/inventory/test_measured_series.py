from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from ghgwatch.inventory.crosscheck import ff1_ventilation_ch4_t, m3_per_min_to_acfm
from ghgwatch.inventory.measured import integrate_ch4

DAY = 86_400.0


def minute_series(minutes: int = 1440) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ts = np.arange(minutes) * 60.0
    return ts, np.full(minutes, 5_000.0), np.full(minutes, 0.6)


def test_constant_flow_full_coverage() -> None:
    ts, q, c = minute_series()
    r = integrate_ch4(ts, q, c, start=0, end=DAY)
    assert r.ch4_m3 == pytest.approx(30 * 1440)  # 5,000 m3/min × 0.6 % = 30 m3/min CH4
    assert r.coverage == pytest.approx(1.0)
    assert r.gaps == []


def test_datetime64_input_and_ff1_agreement() -> None:
    ts, q, c = minute_series()
    stamps = np.datetime64("2025-03-01T00:00") + (ts * 1e9).astype("timedelta64[ns]")
    r = integrate_ch4(
        stamps, q, c, start=datetime(2025, 3, 1, tzinfo=UTC), end=np.datetime64("2025-03-02T00:00")
    )
    ipcc_t = r.ch4_m3 * 0.67 / 1000
    epa_t = ff1_ventilation_ch4_t(m3_per_min_to_acfm(5_000), 0.6, 1)
    assert abs(epa_t - ipcc_t) / ipcc_t < 0.02


def test_short_gap_bridged_linearly() -> None:
    ts, q, c = minute_series()
    c = c.copy()
    c[100:] = 1.2  # a step, so that the trapezoid over the gap matters
    keep = np.ones(ts.size, bool)
    keep[100:102] = False  # a 3-minute segment (99 → 102) ≤ 3 intervals
    r = integrate_ch4(ts[keep], q[keep], c[keep], start=0, end=DAY, max_gap_intervals=3)
    assert r.bridged_s == pytest.approx(180)
    assert r.coverage == pytest.approx(1 - 180 / DAY)
    # 99 min at 30, bridge 99→102 linear 30→60 (avg 45), then 60 for 1338 min
    assert r.ch4_m3 == pytest.approx(99 * 30 + 3 * 45 + 1338 * 60)
    assert [g.treatment for g in r.gaps] == ["bridged"]


@pytest.mark.parametrize(
    ("policy", "expected"), [("mean", 43_200.0), ("omit", 43_200.0 - 30 * 121), ("interpolate", 43_200.0)]
)
def test_long_gap_policies(policy: str, expected: float) -> None:
    ts, q, c = minute_series()
    keep = (ts < 600 * 60) | (ts >= 720 * 60)  # hole: samples 599 min → 720 min (121 min)
    r = integrate_ch4(ts[keep], q[keep], c[keep], start=0, end=DAY, gap_policy=policy)  # type: ignore[arg-type]
    assert r.ch4_m3 == pytest.approx(expected)
    assert r.coverage == pytest.approx(1 - 121 * 60 / DAY)
    assert (r.omitted_s > 0) == (policy == "omit")
    assert (
        r.gaps[0].treatment
        == {"mean": "filled_mean", "omit": "omitted", "interpolate": "interpolated"}[policy]
    )


def test_edges_nan_and_empty() -> None:
    ts, q, c = minute_series()
    q = q.copy()
    q[:60] = np.nan  # first hour missing → leading gap filled with the mean
    r = integrate_ch4(ts, q, c, start=0, end=DAY, gap_policy="mean")
    assert r.ch4_m3 == pytest.approx(43_200.0)
    assert r.filled_s == pytest.approx(3600)
    empty = integrate_ch4([], [], [], start=0, end=DAY)
    assert (empty.ch4_m3, empty.coverage, empty.omitted_s) == (0.0, 0.0, DAY)
    with pytest.raises(ValueError, match="after start"):
        integrate_ch4(ts, q, c, start=DAY, end=0)
