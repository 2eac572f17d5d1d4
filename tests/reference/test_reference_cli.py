"""``ghgwatch reference ...`` end to end: restoration and evaluation on files, the SYNTHETIC panel, and the
database (SQLite data folder and PostgreSQL) with the GEM seed, import, list, export and restore --apply."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterator
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


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def cli_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    env = {"GHGWATCH_DATA_DIR": str(tmp_path / "data")}
    if request.param != "postgres":
        yield env
        return
    from tests.support import postgres  # an empty database of its own: the CLI migrates (and seeds) it

    admin: str = request.getfixturevalue("pg_admin_url")
    name = f"ghgwatch_cli_{uuid.uuid4().hex[:8]}"
    env["GHGWATCH_DB__URL"] = postgres.asyncpg_url(postgres.create_database(admin, name))
    yield env
    postgres.drop_database(admin, name)


def _panel_file(path: Path, rows: list[tuple[str, int, float | None]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["mine_key", "year", "relative_m3_t"])
        writer.writerows([m, y, "" if v is None else v] for m, y, v in rows)
    return path


def test_restore_file_marks_each_filled_cell(tmp_path: Path) -> None:
    env = {"GHGWATCH_DATA_DIR": str(tmp_path / "data")}
    source = _panel_file(tmp_path / "panel.csv", [
        ("a", 2000, 10.0), ("a", 2001, None), ("a", 2003, 13.0),
        ("b", 2000, 20.0), ("b", 2001, 21.0), ("b", 2002, 22.0), ("b", 2003, 23.0)])
    out = tmp_path / "filled.csv"
    code, stdout, stderr = invoke(env, "reference", "restore", str(source), "--method", "interpolation",
                                  "--out", str(out))
    assert code == 0, stdout + stderr
    assert "2 cells filled by interpolation" in stdout  # a 2001 (empty cell) and a 2002 (no row)
    rows = {(r["mine_key"], int(r["year"])): r for r in csv.DictReader(out.open(encoding="utf-8"))}
    assert float(rows[("a", 2001)]["relative_m3_t"]) == 11.0  # a third of the way from 10 (2000) to 13 (2003)
    assert float(rows[("a", 2002)]["relative_m3_t"]) == 12.0
    assert rows[("a", 2001)]["relative_m3_t_method"] == "interpolation"
    assert rows[("a", 2000)]["relative_m3_t_method"] == "known"
    assert float(rows[("b", 2002)]["relative_m3_t"]) == 22.0
    # mean: a's known mean (10 + 13) / 2 = 11.5 in both gaps; to stdout when no --out
    code, stdout, _ = invoke(env, "reference", "restore", str(source), "--method", "mean")
    assert code == 0 and "a,2002,11.5,mean" in stdout
    code, _, stderr = invoke(env, "reference", "restore", str(source), "--method", "magic")
    assert code == 2 and "magic" in stderr and "knn" in stderr
    bad = tmp_path / "bad.csv"
    bad.write_text("mine_key,year,relative_m3_t\na,2000,10\na,two thousand,11\n", encoding="utf-8")
    code, _, stderr = invoke(env, "reference", "restore", str(bad))
    assert code == 2 and "row 3" in stderr


def test_evaluate_synthetic_and_thin_panels(tmp_path: Path) -> None:
    env = {"GHGWATCH_DATA_DIR": str(tmp_path / "data")}
    code, stdout, stderr = invoke(env, "reference", "evaluate", "--synthetic", "--repeats", "1")
    assert code == 0, stdout + stderr
    assert "SYNTHETIC" in stdout
    errors = {}
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 3 and cells[0] in ("mean", "interpolation", "regression", "knn"):
            errors[cells[0]] = float(cells[1])
    assert set(errors) == {"mean", "interpolation", "regression", "knn"}
    assert errors["knn"] < errors["mean"] and errors["interpolation"] < errors["mean"]
    code, stdout, _ = invoke(env, "--lang", "ru", "reference", "evaluate", "--synthetic", "--repeats", "1")
    assert code == 0 and "СИНТЕТИЧЕСКАЯ" in stdout and "средняя ошибка, %" in stdout
    # A one-year snapshot (like the GEM production figures) cannot be evaluated: the reason is named
    snapshot = _panel_file(tmp_path / "snapshot.csv", [(f"m{i}", 2024, 1.0 + i) for i in range(50)])
    code, _, stderr = invoke(env, "reference", "evaluate", str(snapshot))
    assert code == 2 and "0 known non-zero cells in 0 mines with at least 3 known years" in stderr
    code, _, stderr = invoke(env, "reference", "evaluate")
    assert code == 2 and "--synthetic" in stderr


def test_database_panel_import_restore_apply(cli_env: dict[str, str], tmp_path: Path) -> None:
    code, stdout, stderr = invoke(cli_env, "reference", "list", "mines", "--q", "raspadskaya coal")
    assert code == 0, stdout + stderr
    found = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    assert [m["gem_id"] for m in found] == ["M0836"]
    # the real GEM panel is one snapshot year: not enough for an evaluation, and the CLI says why
    code, _, stderr = invoke(cli_env, "reference", "evaluate", "--db", "--variable", "production_t")
    assert code == 2 and "at least 3 known years" in stderr

    years = tmp_path / "years.csv"
    years.write_text("mine_key,year,relative_m3_t,source,data_status\n"
                     "gem:M0836,2018,20.0,degassing survey,measured\n"
                     "gem:M0836,2019,22.0,degassing survey,measured\n"
                     "gem:M0836,2021,26.0,degassing survey,measured\n"
                     "gem:NOPE,2021,26.0,degassing survey,measured\n", encoding="utf-8")
    code, stdout, stderr = invoke(cli_env, "reference", "import", "mine-years", str(years))
    assert code == 1 and json.loads(stdout)["created"] == 3 and "row 5" in stderr and "mine_key" in stderr
    code, stdout, stderr = invoke(cli_env, "reference", "restore", "--db", "--method", "interpolation",
                                  "--year-from", "2018", "--year-to", "2021", "--apply")
    assert code == 0, stdout + stderr
    assert json.loads(stdout)["filled"] == 1
    code, stdout, _ = invoke(cli_env, "reference", "list", "mine-years", "--mine-key", "gem:M0836")
    rows = {r["year"]: r for r in (json.loads(line) for line in stdout.splitlines() if line.startswith("{"))}
    assert rows[2020]["relative_m3_t"] == 24.0 and rows[2020]["data_status"] == "restored"
    assert rows[2020]["cell_status"]["relative_m3_t"]["method"] == "interpolation"
    out = tmp_path / "export.csv"
    code, stdout, _ = invoke(cli_env, "reference", "export", "mine-years", str(out))
    assert code == 0
    exported = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert {"gem:M0836"} <= {r["mine_key"] for r in exported}
    assert any(r["year"] == "2020" and r["data_status"] == "restored" for r in exported)
