"""``ghgwatch lab import FILE --facility N`` on a data folder (SQLite): imports, then refuses bad rows by number."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from ghgwatch.cli import app
from tests.lab.conftest import T0

runner = CliRunner()
HEADER = "sample_id,source,sampled_at,gas,concentration,unit,method,laboratory,certificate"


def invoke(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env=env)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_lab_import_command(tmp_path: Path) -> None:
    env = {"GHGWATCH_DATA_DIR": str(tmp_path / "data")}
    code, out, _ = invoke(env, "org", "create", "Lab Org")
    assert code == 0, out
    org = json.loads(out)["id"]
    facilities = tmp_path / "facilities.csv"
    facilities.write_text(f"organization_id,name,type\n{org},Mine L,underground_mine\n", encoding="utf-8")
    code, out, err = invoke(env, "import", "table", "facilities", str(facilities))
    assert code == 0, out + err
    with sqlite3.connect(tmp_path / "data" / "ghgwatch.db") as con:
        (facility,) = con.execute("SELECT id FROM facilities WHERE name = 'Mine L'").fetchone()

    good = tmp_path / "lab.csv"
    good.write_text(f"{HEADER}\nL-1,,{T0.isoformat()},ch4,0.8,%,GC,Lab A,C-9\n", encoding="utf-8")
    code, out, err = invoke(env, "lab", "import", str(good), "--facility", str(facility))
    assert code == 0, out + err
    assert json.loads(out)["imported"] == 1 and "1 lab results imported" in err
    with sqlite3.connect(tmp_path / "data" / "ghgwatch.db") as con:
        stored = con.execute("SELECT sample_id, facility_id, file_name, file_row, created_by "
                             "FROM lab_results").fetchall()
    assert [row[:4] for row in stored] == [("L-1", facility, "lab.csv", 2)] and stored[0][4].startswith("cli:")

    bad = tmp_path / "bad.csv"
    bad.write_text(f"{HEADER}\nL-2,,{T0.isoformat()},ch4,0.8,%,,,\nL-3,,{T0.isoformat()},ch4,abc,%,,,\n"
                   f"L-1,,{T0.isoformat()},ch4,0.8,%,,,\n", encoding="utf-8")
    code, out, err = invoke(env, "lab", "import", str(bad), "--facility", str(facility))
    assert code == 2 and "row 3: concentration" in err and "nothing was imported" in err
    code, out, err = invoke(env, "--lang", "ru", "lab", "import", str(bad), "--facility", str(facility))
    assert code == 2 and "строка 3" in err and "ничего не импортировано" in err
    bad.write_text(f"{HEADER}\nL-2,,{T0.isoformat()},ch4,0.8,%,,,\nL-1,,{T0.isoformat()},ch4,0.8,%,,,\n",
                   encoding="utf-8")
    code, out, err = invoke(env, "lab", "import", str(bad), "--facility", str(facility))
    assert code == 2 and "row 3: sample_id: 'L-1' with gas ch4 is already stored" in err
    code, out, err = invoke(env, "lab", "import", str(good), "--facility", "999")
    assert code == 2 and "facility_id" in err
