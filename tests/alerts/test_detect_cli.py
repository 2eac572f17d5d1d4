from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import typer
from alerts_synth import Injected, evaluate, make_series
from typer.testing import CliRunner

from ghgwatch.cli.detect import register

try:
    from ghgwatch.cli import app
except ModuleNotFoundError:  # other command groups are still being written; test ours alone
    app = typer.Typer()
    app.callback()(lambda: None)
    register(app)

runner = CliRunner()


def _write(path: Path, s: Injected) -> None:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(("timestamp", "value"))
        w.writerows((datetime.fromtimestamp(t, UTC).isoformat(), f"{v:.5f}") for t, v in zip(s.t, s.x, strict=True))


def _rows(tmp_path: Path, s: Injected, *args: str) -> list[dict[str, str]]:
    src, dst = tmp_path / "series.csv", tmp_path / "flags.csv"
    _write(src, s)
    res = runner.invoke(app, ["detect", "--input", str(src), "--output", str(dst), *args])
    assert res.exit_code == 0, res.output
    with dst.open() as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["timestamp", "value", "score", "is_anomaly", "alarm"]
    assert len(rows) == s.x.shape[0]
    return rows


def _run(tmp_path: Path, s: Injected, *args: str) -> np.ndarray:
    return np.array([r["is_anomaly"] == "1" for r in _rows(tmp_path, s, *args)])


@pytest.mark.parametrize(("kind", "min_detection"), [("spike", 1.0), ("shift", 1.0), ("drift", 0.75)])
@pytest.mark.parametrize("method", ["auto", "adaptive", "robust_z"])
def test_detects_injected_events_with_few_false_alarms(
    tmp_path: Path, kind: str, min_detection: float, method: str
) -> None:
    rates = [evaluate(s, _run(tmp_path, s, "--method", method)) for s in (make_series(kind, seed) for seed in (1, 2))]
    assert min(d for d, _ in rates) >= min_detection
    assert max(f for _, f in rates) < 0.01


def test_ewma_finds_spikes_and_shifts(tmp_path: Path) -> None:
    for kind in ("spike", "shift"):
        s = make_series(kind, 5)
        det, far = evaluate(s, _run(tmp_path, s, "--method", "ewma"))
        assert det == 1.0 and far < 0.01


def test_auto_picks_seasonal_for_daily_pattern_and_it_finds_spikes_after_warm_up(tmp_path: Path) -> None:
    s = make_series("spike", 4, n=8 * 1440, daily=True)
    src = tmp_path / "s.csv"
    _write(src, s)
    res = runner.invoke(app, ["detect", "-i", str(src), "-o", str(tmp_path / "f.csv")])
    assert "method seasonal" in res.output
    flags = _run(tmp_path, s, "--method", "seasonal")
    late = [o for o in s.onsets if o > 2 * 1440]  # buckets hold two days before scoring
    assert all(flags[o] for o in late)
    assert flags[2 * 1440 :].mean() < 0.01


def test_iforest_finds_spikes(tmp_path: Path) -> None:
    s = make_series("spike", 6, n=3000)
    det, far = evaluate(s, _run(tmp_path, s, "--method", "iforest"))
    assert det == 1.0 and far < 0.02


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("when,value\n1,2\n", "row 1, column 'timestamp': missing column (found: when, value)"),
        ("timestamp,value\n2024-01-01T00:00:00,1\n2024-01-01T00:01:00,abc\n", "row 3, column 'value'"),
        ("timestamp,value\nyesterday,1\n", "row 2, column 'timestamp'"),
        ("timestamp,value\n100,1,3\n", "row 2"),
        ("timestamp,value\n100,inf\n", "row 2, column 'value': 'inf' is not a finite number"),
        ("timestamp,value\n100,\n", "no data rows with a value"),
        ("timestamp,value\n", "too few rows: 0"),
    ],
)
def test_bad_input_exits_2_with_location(tmp_path: Path, content: str, message: str) -> None:
    src = tmp_path / "bad.csv"
    src.write_text(content)
    res = runner.invoke(app, ["detect", "-i", str(src), "-o", str(tmp_path / "o.csv")])
    assert res.exit_code == 2
    assert message in res.output
    assert str(src) in res.output


def test_missing_file_exits_2(tmp_path: Path) -> None:
    res = runner.invoke(app, ["detect", "-i", str(tmp_path / "nope.csv"), "-o", str(tmp_path / "o.csv")])
    assert res.exit_code == 2
    assert "nope.csv: file not found" in res.output


def test_default_is_the_calibrated_adaptive_detector(tmp_path: Path) -> None:
    s = make_series("spike", 7, n=2000)
    src = tmp_path / "s.csv"
    _write(src, s)
    res = runner.invoke(app, ["detect", "-i", str(src), "-o", str(tmp_path / "f.csv")])
    assert res.exit_code == 0, res.output
    assert "method adaptive" in res.output
    assert "hold-off 100 points" in res.output


def test_one_alarm_per_incident(tmp_path: Path) -> None:
    # A level shift flags a few points in a row; with the hold-off they are one alarm, at the onset.
    s = make_series("shift", 3)
    rows = _rows(tmp_path, s)
    flags = np.array([r["is_anomaly"] == "1" for r in rows])
    alarm = np.array([r["alarm"] == "1" for r in rows])
    assert all(alarm[o : o + s.detect_within].any() for o in s.onsets)
    assert int(alarm.sum()) == len(s.onsets)
    assert int(flags.sum()) > int(alarm.sum())  # several flagged points per shift, merged
    # Without hold-off every flagged point is an alarm.
    no_hold = np.array([r["alarm"] == "1" for r in _rows(tmp_path, s, "--holdoff", "0")])
    assert np.array_equal(no_hold, flags)


def test_clock_stepping_back_is_a_warning_then_rows_are_used_in_time_order(tmp_path: Path) -> None:
    src, dst = tmp_path / "back.csv", tmp_path / "o.csv"
    lines = ["timestamp,value"]
    lines += [f"2024-03-31T0{h}:00:00,{v}" for h, v in ((0, 1.0), (1, 1.1), (2, 0.9))]
    lines += ["2024-03-31T01:30:00,1.0", "2024-03-31T02:30:00,1.2"]  # row 5 steps back 30 min
    src.write_text("\n".join(lines) + "\n")
    res = runner.invoke(app, ["detect", "-i", str(src), "-o", str(dst)])
    assert res.exit_code == 0, res.output
    assert f"Warning: {src}, row 5, column 'timestamp': the clock steps back by 1800 s" in res.output
    with dst.open() as fh:
        out = [(r["timestamp"], r["value"]) for r in csv.DictReader(fh)]
    assert out == [
        ("2024-03-31T00:00:00", "1"),
        ("2024-03-31T01:00:00", "1.1"),
        ("2024-03-31T01:30:00", "1"),
        ("2024-03-31T02:00:00", "0.9"),
        ("2024-03-31T02:30:00", "1.2"),
    ]
