from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ghgwatch.analytics.multivariate import MultivariateForecaster, load_model, save_model
from tests.analytics.conftest import longwall_table


@pytest.fixture(scope="module")
def fitted() -> tuple[MultivariateForecaster, pd.DataFrame]:
    table = longwall_table()
    return MultivariateForecaster("ch4_outgoing", horizon=3, lags=4, max_iter=80).fit(table), table


def test_model_beats_persistence_and_ranks_drivers_above_noise(
    fitted: tuple[MultivariateForecaster, pd.DataFrame],
) -> None:
    model, _ = fitted
    assert model.kind_ in ("linear", "gbdt")
    assert model.metrics_[model.kind_]["mae"] < 0.7 * model.metrics_["persistence"]["mae"]
    importance = model.column_importance_
    assert importance["gas_release"] > importance["noise"]
    assert importance["drainage"] > importance["noise"]
    assert set(model.feature_importance_.columns) == {"feature", "importance", "std", "column"}


def test_predict_and_evaluate_tables(fitted: tuple[MultivariateForecaster, pd.DataFrame]) -> None:
    model, table = fitted
    pred = model.predict(table, horizon=2)
    assert list(pred.index) == [table.index[-1] + pd.Timedelta(minutes=10 * k) for k in (1, 2)]
    ev = model.evaluate(table.iloc[-200:])
    assert list(ev.columns) == ["target", "forecast", "error_pct"]
    assert len(ev) == 200 - 4 - 3  # lags 0..4 need 4 earlier rows, then the forecast is 3 steps ahead
    expected = 100 * (ev["forecast"] - ev["target"]) / ev["target"]
    np.testing.assert_allclose(ev["error_pct"], expected)
    assert ev["error_pct"].abs().median() < 5
    with pytest.raises(ValueError, match="horizon must be between 1 and 3"):
        model.predict(table, horizon=4)
    with pytest.raises(ValueError, match="lacks the model's columns: air_flow"):
        model.predict(table.drop(columns=["air_flow"]))


def test_save_and_load_keep_predictions_and_metadata(
    fitted: tuple[MultivariateForecaster, pd.DataFrame], tmp_path: Path
) -> None:
    model, table = fitted
    path = tmp_path / "model.pkl"
    meta = save_model(model, path)
    loaded, meta2 = load_model(path)
    assert meta2 == meta
    for key in ("ghgwatch_version", "created_at", "data_window", "params", "metrics", "kind", "inputs"):
        assert key in meta
    assert meta["data_window"]["rows"] == len(table)
    pd.testing.assert_frame_equal(loaded.predict(table), model.predict(table))
    (tmp_path / "other.pkl").write_bytes(b"not a model")
    with pytest.raises(Exception):  # noqa: B017, PT011 - joblib raises various errors on garbage
        load_model(tmp_path / "other.pkl")


def test_too_few_rows_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="too few complete rows"):
        MultivariateForecaster("ch4_outgoing").fit(longwall_table(n=30))
