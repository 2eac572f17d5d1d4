"""The inventory CLI on a data folder: activity import, factor sets, a stored run and its report."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from ghgwatch.cli import app

runner = CliRunner()


def invoke(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env=env)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_import_run_report_and_factor_sets(tmp_path: Path) -> None:
    env = {"GHGWATCH_DATA_DIR": str(tmp_path / "data")}
    code, out, _ = invoke(env, "org", "create", "Kuzbass Coal")
    assert code == 0
    org = json.loads(out)["id"]
    facilities = tmp_path / "facilities.csv"
    facilities.write_text(f"organization_id,name,type\n{org},Mine 1,underground_mine\n")
    assert invoke(env, "import", "table", "facilities", str(facilities))[0] == 0

    activity = tmp_path / "activity.csv"
    activity.write_text("facility_id,activity_type,year,coal_t\n"
                        "1,coal_mining_underground,2025,2000000\n"
                        "1,coal_post_mining_underground,2025,oops\n"      # row 3
                        "1,coal_post_mining_underground,2025,2000000\n")
    code, out, err = invoke(env, "import", "activity", str(activity), "--organization", str(org))
    assert code == 1 and "row 3: data.coal_t" in " ".join(err.split())
    assert json.loads(out)["created"] == 2

    code, out, _ = invoke(env, "inventory", "run", "--organization", str(org), "--year", "2025", "--gwp", "ar5")
    assert code == 0, out
    run = json.loads(out)
    assert run["total_co2e_t"] == pytest.approx(769_160, rel=1e-3)  # METHODOLOGY §6.1, AR5
    # The 296-FZ total with 2979-r (CH4 25): 27,470 t × 25 = 686,750 t (METHODOLOGY §6.1); what was counted.
    assert run["fz296_total_co2e_t"] == pytest.approx(686_750, rel=1e-3)
    assert run["counted_period"] == {"start": "2025-01-01T00:00:00+00:00", "end": "2026-01-01T00:00:00+00:00"}
    assert run["activity_rows"] == 2 and run["pro_rated_rows"] == 0 and run["no_activity_data"] is False
    assert run["future_excluded"] is False and run["measured"] == []

    report = tmp_path / "annual.xlsx"
    code, out, _ = invoke(env, "report", "build", "--run", str(run["id"]), "--format", "xlsx", "--lang", "en",
                          "--output", str(report))
    assert code == 0 and run["inputs_sha256"] in out
    sheet = load_workbook(io.BytesIO(report.read_bytes()), read_only=True)["Summary"]
    total = next(r[1] for r in sheet.iter_rows(values_only=True) if r and r[0] == "Total, t CO2e")
    assert total == pytest.approx(run["total_co2e_t"], rel=1e-9)

    code, out, _ = invoke(env, "factors", "export", "kuzbass")
    assert code == 0 and json.loads(out)["name"] == "kuzbass"
    mine = json.loads(out) | {"name": "mine-1", "version": "2025.1"}
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(mine))
    assert invoke(env, "factors", "import", str(path), "--organization", str(org))[0] == 0
    code, out, _ = invoke(env, "factors", "list")
    assert "mine-1@2025.1" in out and "kuzbass" in out
    code, out, _ = invoke(env, "factors", "export", "mine-1@2025.1")
    assert json.loads(out)["factors"] == mine["factors"]
    code, out, _ = invoke(env, "inventory", "run", "--organization", str(org), "--year", "2025",
                          "--factor-set", "mine-1@2025.1", "--gwp", "ar5")
    # Kuzbass values 15.1 + 3.0 m3/t: 36.2e6 m3 → 24,254 t CH4 (METHODOLOGY §6.1), × 28.
    assert json.loads(out)["total_co2e_t"] == pytest.approx(24_254 * 28, rel=1e-3)
    assert invoke(env, "report", "build", "--output", str(report))[0] == 2


def test_run_errors_name_the_bad_value(tmp_path: Path) -> None:
    env = {"GHGWATCH_DATA_DIR": str(tmp_path / "data")}
    code, out, _ = invoke(env, "org", "create", "Kuzbass Coal")
    assert code == 0
    org = json.loads(out)["id"]
    code, _, err = invoke(env, "inventory", "run", "--organization", str(org), "--year", "2025", "--gwp", "ar9")
    text = " ".join(err.split())
    assert code == 2 and "gwp: unknown GWP set 'ar9'; known: ar4, ar5, ar6, ru2979r" in text
    assert "pydantic" not in text and "Value error" not in text and ": None" not in text
    code, _, err = invoke(env, "inventory", "run", "--organization", str(org), "--year", "2025",
                          "--gap-policy", "stretch")
    text = " ".join(err.split())
    assert code == 2 and text.count("gap_policy:") == 1 and "'mean', 'interpolate' or 'omit'" in text
    assert "pydantic" not in text
