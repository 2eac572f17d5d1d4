from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ghgwatch.analytics.gaps import GAP_METHODS, evaluate_gaps, fill_gaps, fill_values, hide_mask


def _table(values: np.ndarray, **others: np.ndarray) -> pd.DataFrame:
    idx = pd.date_range("2024-01-01", periods=len(values), freq="h")
    return pd.DataFrame({"value": values, **others}, index=idx)


def _holes(n: int, seed: int = 0, k: int = 12) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mask = np.zeros(n, dtype=bool)
    mask[rng.choice(np.arange(1, n - 1), k, replace=False)] = True
    return mask


def test_linear_interpolation_is_exact_on_a_line() -> None:
    truth = 2.0 + 0.3 * np.arange(100)
    holes = _holes(100)
    holes[40:46] = True  # a block too
    filled = fill_values(_table(np.where(holes, np.nan, truth)), "interpolate")
    np.testing.assert_allclose(filled, truth, atol=1e-9)


def test_interpolation_uses_time_not_row_order() -> None:
    idx = pd.DatetimeIndex(["2024-01-01 00:00", "2024-01-01 01:00", "2024-01-01 04:00"])
    table = pd.DataFrame({"value": [0.0, np.nan, 4.0]}, index=idx)
    assert fill_values(table, "interpolate")[1] == pytest.approx(1.0)
    assert fill_values(table, "nearest")[1] == pytest.approx(0.0)


def test_mean_is_exact_on_a_constant() -> None:
    holes = _holes(50)
    filled = fill_values(_table(np.where(holes, np.nan, 7.5)), "mean")
    np.testing.assert_allclose(filled, 7.5)


def test_regression_is_exact_on_a_linear_relation_with_another_column() -> None:
    rng = np.random.default_rng(2)
    other = rng.normal(size=120).cumsum()
    truth = 4.0 - 1.5 * other
    holes = _holes(120, k=20)
    filled = fill_values(_table(np.where(holes, np.nan, truth), other=other), "regression")
    np.testing.assert_allclose(filled, truth, atol=1e-8)


def test_knn_restores_a_local_level_shift_that_the_global_regression_misses() -> None:
    rng = np.random.default_rng(4)
    other = rng.normal(size=300)
    truth = 1.0 + 2.0 * other + np.where(np.arange(300) >= 150, 5.0, 0.0)
    holes = _holes(300, seed=9, k=30)
    table = _table(np.where(holes, np.nan, truth), other=other)
    err = {m: np.abs(fill_values(table, m) - truth)[holes].mean() for m in ("regression", "knn")}
    assert err["knn"] < 0.5 * err["regression"]


def test_fill_flags_every_filled_value_with_its_method() -> None:
    values = np.array([1.0, np.nan, 3.0, np.nan, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0] * 5)
    out = fill_gaps(_table(values), "interpolate")
    assert list(out.columns) == ["value", "filled", "method"]
    assert out["filled"].tolist() == np.isnan(values).astype(int).tolist()
    assert set(out.loc[out["filled"] == 1, "method"]) == {"interpolate"}
    assert set(out.loc[out["filled"] == 0, "method"]) == {""}
    assert not out["value"].isna().any()
    auto = fill_gaps(_table(values), "auto")
    assert auto.attrs["chosen"] in GAP_METHODS
    assert set(auto.loc[auto["filled"] == 1, "method"]) == {auto.attrs["chosen"]}


def test_hide_mask_hides_whole_blocks_of_known_values_only() -> None:
    observed = np.ones(200, dtype=bool)
    observed[[10, 50, 51]] = False
    hidden = hide_mask(observed, 0.1, 4, np.random.default_rng(0))
    assert not (hidden & ~observed).any()
    assert 20 <= hidden.sum() <= 24
    starts = np.flatnonzero(np.diff(np.r_[0, hidden.astype(int)]) == 1)
    ends = np.flatnonzero(np.diff(np.r_[hidden.astype(int), 0]) == -1)
    assert set((ends - starts + 1).tolist()) == {4}


@pytest.mark.parametrize("block", [1, 5])
def test_evaluation_reports_all_four_methods(block: int) -> None:
    t = np.arange(24 * 20)
    rng = np.random.default_rng(1)
    values = 10 + 3 * np.sin(2 * np.pi * t / 24) + rng.normal(0, 0.2, len(t))
    report = evaluate_gaps(_table(values), fraction=0.1, block_length=block, seed=3)
    assert set(report["methods"]) == set(GAP_METHODS)
    for scores in report["methods"].values():
        assert set(scores) == {"mae", "rmse", "mape"}
        assert scores["rmse"] >= scores["mae"] > 0
    assert report["n_hidden"] >= int(0.1 * len(t))
    # A smooth seasonal series: interpolation must beat filling with the mean.
    assert report["methods"]["interpolate"]["mae"] < report["methods"]["mean"]["mae"]
    assert report["best"] != "mean"
