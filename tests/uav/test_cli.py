"""``ghgwatch uav quantify`` and ``ghgwatch uav simulate`` without a database."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from typer.testing import CliRunner

from ghgwatch.cli import app
from ghgwatch.uav import REQUIRED, Flight, flight_to_csv
from tests.uav.conftest import SMALL

runner = CliRunner()


def test_quantify_writes_the_issue_json(tmp_path: Path, small_flight: Flight) -> None:
    flight = tmp_path / "flight.csv"
    flight.write_text(flight_to_csv(small_flight), encoding="utf-8")
    out = tmp_path / "result.json"
    res = runner.invoke(app, ["uav", "quantify", "--input", str(flight), "--output", str(out)])
    assert res.exit_code == 0, res.output
    data = json.loads(out.read_text("utf-8"))
    assert set(data) == {"method", "rate_kg_h", "lower_kg_h", "upper_kg_h", "background_ppm", "source",
                         "transects", "warnings"}
    assert data["method"] == "mass-balance" and data["source"] is None
    assert data["lower_kg_h"] <= SMALL.rate_kg_h <= data["upper_kg_h"]


def test_quantify_refuses_with_exit_3_and_a_reason(tmp_path: Path, small_flight: Flight) -> None:
    calm = dataclasses.replace(small_flight, wind_speed_ms=small_flight.wind_speed_ms * 0.1)
    flight = tmp_path / "calm.csv"
    flight.write_text(flight_to_csv(calm), encoding="utf-8")
    out = tmp_path / "result.json"
    res = runner.invoke(app, ["uav", "quantify", "--input", str(flight), "--output", str(out)])
    assert res.exit_code == 3
    assert "wind_too_low" in res.output
    assert not out.exists()


def test_quantify_reports_bad_rows_with_exit_2(tmp_path: Path) -> None:
    flight = tmp_path / "bad.csv"
    flight.write_text(",".join(REQUIRED) + "\n2026-06-01T09:00:00Z,54.0,86.7,5,3,270,10,1000,x\n", encoding="utf-8")
    res = runner.invoke(app, ["uav", "quantify", "--input", str(flight)])
    assert res.exit_code == 2
    assert "row 2" in res.output and "ch4_ppm" in res.output


def test_simulate_then_quantify_with_the_plume_method(tmp_path: Path) -> None:
    flight = tmp_path / "sim.csv"
    res = runner.invoke(app, ["uav", "simulate", "--output", str(flight), "--rate", "50", "--distance", "40"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["uav", "quantify", "--input", str(flight), "--method", "plume"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["method"] == "plume" and data["source"] is not None
    assert 50 / 3 < data["rate_kg_h"] < 50 * 3
