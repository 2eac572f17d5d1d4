from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ghgwatch.analytics.correlation import correlate, shifted


def _lagged_table(lag: int, n: int = 400, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    driver = np.convolve(rng.normal(size=n + 10), np.ones(3) / 3, mode="same")[:n]
    target = 2.0 * shifted(driver, lag) + rng.normal(0, 0.2, n)
    return pd.DataFrame({"target": target, "driver": driver, "unrelated": rng.normal(size=n)})


@pytest.mark.parametrize("lag", [7, 0, -3])
def test_best_lag_recovers_the_built_in_lag(lag: int) -> None:
    result = correlate(_lagged_table(lag), "target", max_lag=12)
    rows = {r["column"]: r for r in result["columns"]}
    assert rows["driver"]["best_lag"] == lag
    best = rows["driver"]["best"]
    assert best["pearson"] > 0.9
    assert best["spearman"] > 0.85
    assert best["kendall"] > 0.7
    assert best["pearson_p"] < 1e-10
    assert abs(rows["unrelated"]["best"]["pearson"]) < 0.25
    assert result["columns"][0]["column"] == "driver"


def test_lag_zero_coefficients_match_scipy_and_constant_columns_give_nan() -> None:
    from scipy import stats

    table = _lagged_table(0, n=200)
    table["flat"] = 1.0
    rows = {r["column"]: r for r in correlate(table, "target")["columns"]}
    expected = stats.kendalltau(table["target"], table["driver"])
    assert rows["driver"]["kendall"] == pytest.approx(expected.statistic)
    assert rows["driver"]["kendall_p"] == pytest.approx(expected.pvalue)
    assert np.isnan(rows["flat"]["pearson"])
