from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ghgwatch.cli import app

FIXTURE = Path(__file__).parents[1] / "fixtures" / "inventory" / "calc-input.json"
runner = CliRunner()


def test_calc_json_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    res = runner.invoke(app, ["calc", "--input", str(FIXTURE), "--output", str(out)])
    assert res.exit_code == 0, res.output
    data = json.loads(out.read_text("utf-8"))
    by_id = {a["id"]: a for a in data["activities"]}
    assert by_id["a1"]["ch4_t"] == pytest.approx(24_120)
    assert by_id["a3"]["ch4_t"] == pytest.approx(11_973.168)
    assert by_id["a4"]["co2_t"] == pytest.approx(24_406.8)
    assert data["totals"]["co2e_t"] == pytest.approx(sum(a["co2e_t"] for a in data["activities"]))
    assert data["regulated_296fz"] is True
    assert len(data["inputs_sha256"]) == 64


def test_calc_stdout_and_table() -> None:
    res = runner.invoke(app, ["calc", "--input", str(FIXTURE)])
    assert res.exit_code == 0
    assert json.loads(res.stdout)["gwp"]["name"] == "ar5"
    res = runner.invoke(app, ["calc", "--input", str(FIXTURE), "--format", "table"])
    assert res.exit_code == 0
    assert "coal_mining_underground" in res.stdout
    assert "2026-07-01" in res.stdout


def test_calc_errors_exit_2_with_all_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {
                "methodology": "ipcc2006",
                "year": 2025,
                "activities": [{"id": "a", "type": "nope"}, {"id": "b", "type": "flaring", "ch4_m3": -1}],
            }
        ),
        "utf-8",
    )
    res = runner.invoke(app, ["calc", "--input", str(bad)])
    assert res.exit_code == 2
    assert "activity 'a' (index 0), field 'type'" in res.stderr
    assert "activity 'b' (index 1), field 'ch4_m3'" in res.stderr


def test_calc_unreadable_input(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", "utf-8")
    res = runner.invoke(app, ["calc", "--input", str(bad)])
    assert res.exit_code == 2
    assert "cannot read" in res.stderr
