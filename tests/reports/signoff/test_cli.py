"""``ghgwatch report prepare|review|approve|submit|list`` on a data folder (SQLite), acting as named users."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ghgwatch.cli import app

runner = CliRunner()


def invoke(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env=env)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_sign_off_from_the_command_line(tmp_path: Path) -> None:
    env = {"GHGWATCH_DATA_DIR": str(tmp_path / "data"), "GHGWATCH_NEW_PASSWORD": "password-123"}
    org = json.loads(invoke(env, "org", "create", "Kuzbass Coal")[1])["id"]
    facilities = tmp_path / "facilities.csv"
    facilities.write_text(f"organization_id,name,type\n{org},Mine 1,underground_mine\n")
    assert invoke(env, "import", "table", "facilities", str(facilities))[0] == 0
    activity = tmp_path / "activity.csv"
    activity.write_text("facility_id,activity_type,year,coal_t\n1,coal_mining_underground,2025,1000000\n")
    assert invoke(env, "import", "activity", str(activity), "--organization", str(org))[0] == 0
    for name, role in (("prep", "engineer"), ("rev", "engineer"), ("boss", "admin")):
        assert invoke(env, "user", "create", name, "--role", role, "--organization", str(org))[0] == 0

    code, out, err = invoke(env, "report", "prepare", "--organization", str(org), "--year", "2025", "--gwp", "ar5",
                            "--user", "prep")
    assert code == 0, err
    report = json.loads(out)
    # 1,000,000 t × 18 m3/t × 0.67 kg/m3 = 12,060 t CH4 × 28 (AR5) = 337,680 t CO2e (METHODOLOGY §6.1 factors)
    assert report["state"] == "draft" and report["total_co2e_t"] == pytest.approx(337_680, rel=1e-9)
    rid = str(report["id"])
    code, _, err = invoke(env, "report", "review", rid, "--user", "prep")
    assert code == 2 and "prepared this report and may not review it" in " ".join(err.split())
    assert json.loads(invoke(env, "report", "review", rid, "--user", "rev")[1])["state"] == "reviewed"
    code, _, err = invoke(env, "report", "approve", rid, "--user", "nobody")
    assert code == 2 and "no active user 'nobody'" in err
    code, out, err = invoke(env, "report", "approve", rid, "--user", "boss")
    assert code == 0, err
    approved = json.loads(out)
    assert approved["state"] == "approved" and set(approved["documents"]) >= {"annual-ru.pdf", "annual-en.xlsx"}
    code, out, _ = invoke(env, "report", "submit", rid, "--user", "boss")
    assert code == 0 and json.loads(out)["state"] == "submitted"
    listed = json.loads(invoke(env, "report", "list", "--user", "rev")[1])["reports"]
    assert [(r["id"], r["state"], r["approved_by"]) for r in listed] == [(report["id"], "submitted", "boss")]
