from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ghgwatch.analytics import metrics
from ghgwatch.analytics.backtest import backtest, forecast_auto
from ghgwatch.analytics.forecast import GBDTForecaster, LinearForecaster, SeasonalNaiveForecaster
from tests.analytics.conftest import seasonal_series


@pytest.fixture(scope="module")
def trend_season() -> pd.Series:
    return seasonal_series(24 * 35, slope=0.02, noise=0.5, seed=3)


def test_models_beat_seasonal_naive_where_structure_exists(trend_season: pd.Series) -> None:
    report = backtest(trend_season, 24, n_folds=3, params={"max_iter": 100})
    naive = report.scores["naive"]
    assert report.season == 24
    for name in ("linear", "gbdt"):
        score = report.scores[name]
        assert score.error is None
        assert score.mase < 0.8 * naive.mase, (name, score.mase, naive.mase)
        assert score.mae < naive.mae
    assert report.best in ("linear", "gbdt")


@pytest.mark.parametrize("model", [LinearForecaster(max_horizon=12), GBDTForecaster(max_horizon=12, max_iter=60)])
def test_conformal_intervals_cover_close_to_nominal(model: LinearForecaster | GBDTForecaster) -> None:
    y = seasonal_series(24 * 80, slope=0.005, noise=1.0, seed=11)
    n_fit, H = 24 * 50, 12
    model.fit(y.iloc[:n_fit])
    values = y.to_numpy()
    origins = np.arange(n_fit, len(values) - H, 6)
    paths = model.predict_paths(values, origins, H)
    actual = values[origins[:, None] + np.arange(H)]
    q = model.half_widths(H)
    cov = metrics.coverage(actual, paths - q, paths + q)
    assert 0.8 <= cov <= 0.97, cov
    assert np.all(np.diff(q) >= 0)


def test_forecast_continues_the_timestamps_and_intervals_contain_the_point() -> None:
    y = seasonal_series(24 * 20, noise=0.2)
    fc = LinearForecaster(max_horizon=5).fit(y).predict(5, interval=0.8)
    assert list(fc.columns) == ["forecast", "lower", "upper"]
    assert fc.index[0] == y.index[-1] + pd.Timedelta(hours=1)
    assert len(fc) == 5
    assert (fc["lower"] < fc["forecast"]).all()
    assert (fc["forecast"] < fc["upper"]).all()
    wider = LinearForecaster(max_horizon=5).fit(y).predict(5, interval=0.98)
    assert (wider["upper"] - wider["lower"] > fc["upper"] - fc["lower"]).all()


def test_seasonal_naive_repeats_the_last_season_exactly() -> None:
    season = np.array([1.0, 5.0, 2.0, 7.0])
    y = pd.Series(np.tile(season, 10))
    fc = SeasonalNaiveForecaster(seasonal_periods=[4], max_horizon=6).fit(y).predict(6)
    np.testing.assert_allclose(fc["forecast"], np.r_[season, season[:2]])
    np.testing.assert_allclose(fc["upper"] - fc["lower"], 0.0)


def test_linear_model_is_exact_on_a_noiseless_line_and_extrapolates_the_trend() -> None:
    y = pd.Series(3.0 + 0.5 * np.arange(60), index=pd.date_range("2024-01-01", periods=60, freq="D"))
    fc = LinearForecaster(max_horizon=10).fit(y).predict(10)
    np.testing.assert_allclose(fc["forecast"], 3.0 + 0.5 * np.arange(60, 70), atol=1e-6)


def test_short_series_gives_a_clear_error_and_tiny_monthly_series_still_forecast() -> None:
    with pytest.raises(ValueError, match="too short"):
        LinearForecaster().fit(pd.Series([1.0, 2.0, 3.0, 4.0, 5.0]))
    monthly = pd.Series(
        np.arange(30, dtype=float) + np.tile([0.0, 1.0, 3.0], 10),
        index=pd.date_range("2020-01-01", periods=30, freq="MS"),
    )
    fc, used, _ = forecast_auto(monthly, 3, method="naive")
    assert used == "naive"
    assert fc.index[0] == pd.Timestamp("2022-07-01")


def test_missing_values_are_refused() -> None:
    with pytest.raises(ValueError, match="fill the gaps"):
        LinearForecaster().fit(pd.Series([1.0, np.nan] * 30))


def test_auto_uses_the_backtest_winner(trend_season: pd.Series) -> None:
    fc, used, report = forecast_auto(trend_season, 12, method="auto", n_folds=2, params={"max_iter": 50})
    assert report is not None
    assert used == report.best
    assert set(report.scores) == {"linear", "gbdt", "naive"}
    assert len(fc) == 12


def test_gbdt_fits_and_predicts_on_one_thread_for_small_series() -> None:
    # OpenMP threads on a few thousand rows spin on a busy machine (442 s instead of 17 s measured).
    from threadpoolctl import threadpool_info

    seen: list[int] = []

    def openmp_threads() -> int:
        return min((p["num_threads"] for p in threadpool_info() if p["user_api"] == "openmp"), default=1)

    class Probe(GBDTForecaster):
        def _make_estimator(self) -> object:
            est = super()._make_estimator()
            fit, predict = est.fit, est.predict

            def fit_probe(*a: object, **k: object) -> object:
                seen.append(openmp_threads())
                return fit(*a, **k)

            def predict_probe(*a: object, **k: object) -> object:
                seen.append(openmp_threads())
                return predict(*a, **k)

            est.fit, est.predict = fit_probe, predict_probe
            return est

    Probe(max_horizon=4, max_iter=5).fit(seasonal_series(24 * 10)).predict(4)
    assert seen and set(seen) == {1}


def test_backtest_reports_interval_score_and_auto_shows_progress(trend_season: pd.Series) -> None:
    steps: list[str] = []
    _, used, report = forecast_auto(trend_season, 12, n_folds=2, params={"max_iter": 30}, progress=steps.append)
    assert report is not None
    assert [s.split(" @ ")[0] for s in steps[:-1]] == ["linear", "linear", "gbdt", "gbdt", "naive", "naive"]
    assert steps[-1] == f"fit {used}"
    for score in report.scores.values():
        assert score.winkler >= 0 and len(score.ratios) == 2 * 12
        assert all("winkler" in fold for fold in score.folds)
    assert "ratios" not in report.to_dict()["scores"]["naive"]
    assert report.calibration_factor is None  # off by default


def test_recalibration_rescales_by_the_conformal_quantile_of_backtest_ratios(trend_season: pd.Series) -> None:
    plain, _, _ = forecast_auto(trend_season, 12, method="linear", with_backtest=True)
    fc, _, report = forecast_auto(trend_season, 12, method="linear", with_backtest=True, recalibrate=True)
    assert report is not None and report.calibration_factor is not None
    r = np.sort(report.scores["linear"].ratios)
    k = int(np.ceil((len(r) + 1) * 0.9))
    assert report.calibration_factor == pytest.approx(r[min(k, len(r)) - 1])
    np.testing.assert_allclose(fc["forecast"], plain["forecast"])
    np.testing.assert_allclose(
        fc["upper"] - fc["lower"], report.calibration_factor * (plain["upper"] - plain["lower"])
    )


def test_bounds_clip_forecast_and_interval() -> None:
    y = seasonal_series(24 * 20, noise=0.5) - 10.5  # crosses zero
    fc, _, _ = forecast_auto(y, 6, method="linear", bounds=(0.0, 1.0))
    assert ((fc >= 0.0) & (fc <= 1.0)).all().all()


def test_platform_forecasts_of_a_non_negative_series_stay_at_or_above_zero() -> None:
    from ghgwatch.analytics.fitting import fit_forecaster, predict_from

    rng = np.random.default_rng(2)
    y = seasonal_series(24 * 20, noise=0.0)
    y[:] = np.clip(0.02 + rng.normal(0, 0.03, len(y)), 0, None)  # CH4 near zero, sensor floor at 0
    raw = LinearForecaster(max_horizon=6).fit(y).predict(6)
    assert (raw["lower"] < 0).any()  # without the bound the interval goes negative
    fit = fit_forecaster(y, 6, method="linear")
    assert (fit.forecast >= 0).all().all()
    again = predict_from(fit.model, "linear", y.to_numpy(), y.index[-1], pd.Timedelta(hours=1), 6, 0.9)
    assert (again >= 0).all().all()
    np.testing.assert_allclose(again["upper"], raw["upper"].clip(lower=0).to_numpy())
