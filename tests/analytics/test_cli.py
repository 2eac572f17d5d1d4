from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from ghgwatch.cli import app
from tests.analytics.conftest import longwall_table, seasonal_series

runner = CliRunner()


@pytest.fixture
def series_csv(tmp_path: Path) -> Path:
    path = tmp_path / "series.csv"
    seasonal_series(24 * 21, noise=0.3).rename_axis("timestamp").to_frame().to_csv(path)
    return path


def test_forecast_writes_h_rows_after_the_last_input_and_a_backtest(series_csv: Path, tmp_path: Path) -> None:
    out, bt = tmp_path / "f.csv", tmp_path / "bt.json"
    result = runner.invoke(
        app,
        [
            "forecast",
            "--input",
            str(series_csv),
            "--horizon",
            "6",
            "--output",
            str(out),
            "--method",
            "linear",
            "--interval",
            "0.8",
            "--backtest",
            str(bt),
        ],
    )
    assert result.exit_code == 0, result.output
    fc = pd.read_csv(out, parse_dates=["timestamp"])
    assert list(fc.columns) == ["timestamp", "forecast", "lower", "upper"]
    assert len(fc) == 6
    last = pd.read_csv(series_csv, parse_dates=["timestamp"])["timestamp"].iloc[-1]
    assert fc["timestamp"].iloc[0] == last + pd.Timedelta(hours=1)
    assert (fc["lower"] <= fc["forecast"]).all()
    report = json.loads(bt.read_text())
    assert set(report["scores"]) == {"linear", "naive"}
    assert report["chosen"] == "linear"


def test_correlate_writes_json(tmp_path: Path) -> None:
    table = longwall_table(n=400)
    path, out = tmp_path / "t.csv", tmp_path / "c.json"
    table.to_csv(path)
    result = runner.invoke(
        app,
        [
            "correlate",
            "--input",
            str(path),
            "--target",
            "ch4_outgoing",
            "--max-lag",
            "6",
            "--output",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    cols = {c["column"]: c for c in data["columns"]}
    assert set(cols) == {"air_flow", "gas_release", "drainage", "noise"}
    assert cols["gas_release"]["best_lag"] == 4


def test_gaps_fill_and_evaluate(tmp_path: Path) -> None:
    path = tmp_path / "g.csv"
    path.write_text(
        "timestamp,value\n"
        + "".join(f"2024-01-01T{h:02d}:00:00,{'' if h in (3, 7, 8) else 2 * h + 1}\n" for h in range(24))
    )
    out = tmp_path / "filled.csv"
    result = runner.invoke(app, ["gaps", "fill", "--input", str(path), "--method", "interpolate", "--output", str(out)])
    assert result.exit_code == 0, result.output
    filled = pd.read_csv(out, keep_default_na=False)
    assert list(filled.columns) == ["timestamp", "value", "filled", "method"]
    np.testing.assert_allclose(filled["value"].astype(float), 2 * np.arange(24) + 1)
    assert filled.loc[filled["filled"] == 1, "method"].tolist() == ["interpolate"] * 3
    assert set(filled.loc[filled["filled"] == 0, "method"]) == {""}
    report_path = tmp_path / "r.json"
    result = runner.invoke(
        app,
        [
            "gaps",
            "evaluate",
            "--input",
            str(path),
            "--fraction",
            "0.2",
            "--block-length",
            "2",
            "--seed",
            "3",
            "--output",
            str(report_path),
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(report_path.read_text())
    assert set(report["methods"]) == {"mean", "interpolate", "regression", "knn"}
    assert report["block_length"] == 2


def test_model_fit_predict_evaluate(tmp_path: Path) -> None:
    table = longwall_table(n=800)
    path, model = tmp_path / "t.csv", tmp_path / "m.pkl"
    table.to_csv(path)
    result = runner.invoke(
        app,
        [
            "model",
            "fit",
            "--input",
            str(path),
            "--target",
            "ch4_outgoing",
            "--output",
            str(model),
            "--kind",
            "linear",
            "--horizon",
            "3",
        ],
    )
    assert result.exit_code == 0, result.output
    pred = tmp_path / "p.csv"
    result = runner.invoke(
        app,
        [
            "model",
            "predict",
            "--model",
            str(model),
            "--input",
            str(path),
            "--horizon",
            "2",
            "--output",
            str(pred),
        ],
    )
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(pred)) == 2
    for suffix in ("csv", "json"):
        ev = tmp_path / f"e.{suffix}"
        result = runner.invoke(
            app, ["model", "evaluate", "--model", str(model), "--input", str(path), "--output", str(ev)]
        )
        assert result.exit_code == 0, result.output
    assert list(pd.read_csv(tmp_path / "e.csv").columns) == ["timestamp", "target", "forecast", "error_pct"]
    data = json.loads((tmp_path / "e.json").read_text())
    assert data["metrics"]["rows"] == len(data["rows"]) > 700
    result = runner.invoke(
        app,
        [
            "model",
            "predict",
            "--model",
            str(model),
            "--input",
            str(path),
            "--horizon",
            "9",
            "--output",
            str(pred),
        ],
    )
    assert result.exit_code == 2
    assert "horizon must be between 1 and 3" in result.output


def test_bad_inputs_exit_2_naming_file_row_or_column(fixtures_dir: Path, tmp_path: Path) -> None:
    bad = fixtures_dir / "bad_value.csv"
    out = str(tmp_path / "o.csv")
    result = runner.invoke(app, ["forecast", "--input", str(bad), "--horizon", "2", "--output", out])
    assert result.exit_code == 2
    assert "bad_value.csv, row 4, column 'value'" in result.output
    nocol = tmp_path / "nocol.csv"
    nocol.write_text("timestamp,level\n2024-01-01,1\n2024-01-02,2\n")
    result = runner.invoke(app, ["gaps", "fill", "--input", str(nocol), "--output", out])
    assert result.exit_code == 2
    assert "nocol.csv" in result.output
    assert "column 'value'" in result.output
    short = tmp_path / "short.csv"
    short.write_text("timestamp,value\n" + "".join(f"2024-01-0{d},{d}\n" for d in range(1, 6)))
    result = runner.invoke(
        app, ["forecast", "--input", str(short), "--horizon", "2", "--output", out, "--method", "linear"]
    )
    assert result.exit_code == 2
    assert "short.csv" in result.output
    assert "too short" in result.output
    result = runner.invoke(app, ["correlate", "--input", str(nocol), "--target", "ch4", "--output", out])
    assert result.exit_code == 2
    assert "column 'ch4'" in result.output


def _near_zero_csv(tmp_path: Path) -> Path:
    # A concentration that sits near zero (% CH4 in fresh air): noise reaches below the level's width.
    rng = np.random.default_rng(8)
    y = seasonal_series(24 * 21, noise=0.0)
    y[:] = np.clip(0.03 + 0.02 * np.sin(np.arange(len(y)) * 2 * np.pi / 24) + rng.normal(0, 0.03, len(y)), 0, None)
    path = tmp_path / "ch4.csv"
    y.rename_axis("timestamp").to_frame().to_csv(path)
    return path


def _forecast(path: Path, out: Path, *extra: str) -> pd.DataFrame:
    args = ["forecast", "-i", str(path), "--horizon", "12", "-o", str(out), "--method", "linear", *extra]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return pd.read_csv(out)


def test_forecast_of_a_non_negative_series_never_goes_below_zero(tmp_path: Path) -> None:
    path = _near_zero_csv(tmp_path)
    free = _forecast(path, tmp_path / "free.csv", "--allow-negative")
    assert (free["lower"] < 0).any()  # the case exists without the bound
    fc = _forecast(path, tmp_path / "f.csv")
    assert (fc[["forecast", "lower", "upper"]] >= 0).all().all()
    np.testing.assert_allclose(fc["upper"], free["upper"].clip(lower=0))
    capped = _forecast(path, tmp_path / "c.csv", "--upper-limit", "0.05")
    assert (capped[["forecast", "lower", "upper"]] <= 0.05).all().all()


def test_forecast_rejects_crossed_limits(series_csv: Path, tmp_path: Path) -> None:
    args = ["forecast", "-i", str(series_csv), "--horizon", "3", "-o", str(tmp_path / "x.csv")]
    result = runner.invoke(app, [*args, "--lower-limit", "5", "--upper-limit", "1"])
    assert result.exit_code == 2
    assert "--lower-limit 5 must be below --upper-limit 1" in result.output
