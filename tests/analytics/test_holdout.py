"""Held-out backtest on a real public series: the Mauna Loa CO2 record shipped with statsmodels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ghgwatch.analytics.holdout import evaluate_cuts, summarise


@pytest.fixture(scope="module")
def co2() -> pd.Series:
    from statsmodels.datasets import co2 as dataset

    weekly = dataset.load_pandas().data["co2"]
    return weekly.resample("MS").mean().interpolate("time")


def test_auto_never_promotes_a_model_worse_than_naive_on_mauna_loa(co2: pd.Series) -> None:
    cuts = [len(co2) - 12 * k for k in range(4, 0, -1)]
    rows = evaluate_cuts(co2, 12, cuts, bounds=(0.0, None))
    for cut in cuts:
        auto = next(r for r in rows if r.cut == cut and r.model == "auto")
        naive = next(r for r in rows if r.cut == cut and r.model == "naive")
        assert auto.chosen in {"linear", "gbdt", "naive"}
        # In the backtest that chose it, the promoted model is no worse than the seasonal naive ...
        assert auto.backtest_mase <= naive.backtest_mase
    table = summarise(rows)
    # ... and on the months it never saw it beats both naive forecasts by a wide margin (trend + season).
    assert table["auto"]["mae"] <= table["naive"]["mae"]
    assert table["auto"]["rel_naive"] < 0.5
    assert table["auto"]["rel_snaive"] < 0.6
    assert table["naive"]["rel_snaive"] == pytest.approx(1.0)
    assert 0.75 <= table["auto"]["coverage"] <= 1.0
    assert np.isfinite(table["auto"]["winkler"])
    assert sum(table["auto"]["chosen"].values()) == len(cuts)


def test_a_cut_without_a_full_horizon_after_it_is_refused(co2: pd.Series) -> None:
    with pytest.raises(ValueError, match="fewer than 12 values"):
        evaluate_cuts(co2, 12, [len(co2) - 6])
