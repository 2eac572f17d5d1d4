"""Real-looking files through every file command (``detect``, ``forecast``, ``gaps fill``, ``correlate``): one reader,
one behaviour. Each case is a small file as sensor exports write them; each command must read it the same way."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from ghgwatch.cli import app

runner = CliRunner()
N = 48  # 5-minute readings: 4 hours


def _value(k: int) -> float:
    return round(0.40 + 0.05 * math.sin(2 * math.pi * k / 12) + 0.003 * ((k * 7) % 5), 4)


def _flow(k: int) -> float:
    return round(1500 + 40 * math.sin(2 * math.pi * k / 12) + (k * 3) % 7, 1)


def _iso(k: int, tz: str = "") -> str:
    return (pd.Timestamp("2026-11-29T14:00:00") + pd.Timedelta(minutes=5 * k)).strftime("%Y-%m-%dT%H:%M:%S") + tz


def _ru(k: int, seconds: bool = False) -> str:
    t = pd.Timestamp("2026-11-29T14:00:00") + pd.Timedelta(minutes=5 * k)
    return t.strftime("%d.%m.%Y %H:%M:%S" if seconds else "%d.%m.%Y %H:%M")


def _dec(x: float) -> str:
    return str(x).replace(".", ",")


def _lines(kind: str) -> tuple[list[str], str]:
    """The lines of a file of ``kind`` and the first output timestamp every command must write."""
    rows = range(N)
    if kind == "russian":  # what Excel saves in a Russian locale: ';', decimal commas, DD.MM.YYYY HH:MM, BOM
        body = [f"{_ru(k)};{_dec(_value(k))};{_dec(_flow(k))}" for k in rows]
        return ["\ufeffВремя;Значение;Расход воздуха", *body], "2026-11-29T14:00:00"
    if kind == "russian_seconds_split":  # separate date and time columns, seconds, tab-separated
        return ["дата\tвремя\tзначение\tрасход"] + [
            "\t".join((*_ru(k, True).split(" "), _dec(_value(k)), _dec(_flow(k)))) for k in rows
        ], "2026-11-29T14:00:00"
    if kind == "utc":
        body = [f"{_iso(k, 'Z')},{_value(k)},{_flow(k)}" for k in rows]
        return ["timestamp,value,flow", *body], "2026-11-29T14:00:00Z"
    if kind == "offset":
        return ["timestamp,value,flow"] + [f"{_iso(k, '+03:00')},{_value(k)},{_flow(k)}" for k in rows], (
            "2026-11-29T14:00:00+03:00"
        )
    if kind == "blank_lines":
        lines = ["timestamp,value,flow"] + [f"{_iso(k)},{_value(k)},{_flow(k)}" for k in rows]
        return [*lines[:5], "", *lines[5:20], "", "", *lines[20:], ""], "2026-11-29T14:00:00"
    raise AssertionError(kind)


def _write(path: Path, lines: list[str], encoding: str = "utf-8") -> Path:
    path.write_bytes("\n".join(lines).encode(encoding) + b"\n")
    return path


COMMANDS: dict[str, Callable[[Path, Path], list[str]]] = {
    "detect": lambda i, o: ["detect", "-i", str(i), "-o", str(o)],
    "forecast": lambda i, o: ["forecast", "-i", str(i), "-o", str(o), "--horizon", "3", "--method", "naive"],
    "gaps fill": lambda i, o: ["gaps", "fill", "-i", str(i), "-o", str(o), "--method", "interpolate"],
    "correlate": lambda i, o: ["correlate", "-i", str(i), "-o", str(o), "--target", "value", "--max-lag", "2"],
}


def _run(command: str, src: Path, out: Path) -> tuple[int, str, str]:
    res = runner.invoke(app, COMMANDS[command](src, out))
    return res.exit_code, res.stdout, res.stderr


def _times(out: Path) -> list[str]:
    with out.open(encoding="utf-8") as fh:
        return [r["timestamp"] for r in csv.DictReader(fh)]


@pytest.mark.parametrize("kind", ["russian", "russian_seconds_split", "utc", "offset", "blank_lines"])
@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_command_reads_real_files_alike(tmp_path: Path, command: str, kind: str) -> None:
    lines, first = _lines(kind)
    src, out = _write(tmp_path / f"{kind}.csv", lines), tmp_path / "out.csv"
    code, stdout, stderr = _run(command, src, out)
    assert code == 0, stdout + stderr
    assert "Warning" not in stderr
    if command == "correlate":
        with out.open(encoding="utf-8") as fh:
            table = list(csv.DictReader(fh))
        assert len(table) == 1 and table[0]["target"] == "value"
        assert float(table[0]["pearson"]) > 0.9  # the flow follows the same cycle
        return
    times = _times(out)
    if command == "forecast":
        last = first[:11] + "17:55:00" + first[19:]  # the last input row, 47 × 5 min after 14:00
        assert times[0] == (last[:14] + "00:00" + last[19:]).replace("T17:", "T18:")
        assert len(times) == 3
    else:
        assert times[0] == first
        assert times[-1][:19] == "2026-11-29T17:55:00" and times[-1][19:] == first[19:]
        assert len(times) == N


def test_windows_1251_file_is_read(tmp_path: Path) -> None:
    lines, _ = _lines("russian")
    src = _write(tmp_path / "cp1251.csv", [lines[0].lstrip("\ufeff"), *lines[1:]], encoding="cp1251")
    code, stdout, stderr = _run("detect", src, tmp_path / "o.csv")
    assert code == 0, stdout + stderr


@pytest.mark.parametrize("command", list(COMMANDS))
def test_errors_name_row_and_column_alike_and_blank_lines_keep_row_numbers(tmp_path: Path, command: str) -> None:
    lines, _ = _lines("russian")
    lines[10] = f"{_ru(9)};abc;1500"  # file line 11
    lines = [*lines[:3], "", *lines[3:]]  # a blank line before it: the bad row is line 12 of the file
    src = _write(tmp_path / "bad.csv", lines)
    code, stdout, stderr = _run(command, src, tmp_path / "o.csv")
    assert code == 2
    assert f"Error: {src}, row 12, column 'Значение': 'abc' is not a number" in stdout + stderr
    lines[11] = f"{_ru(9)};0,4;1500"
    lines[12] = "29.13.2026 14:50;0,4;1500"  # month 13
    _write(src, lines)
    code, stdout, stderr = _run(command, src, tmp_path / "o.csv")
    assert code == 2
    assert f"{src}, row 13, column 'Время': '29.13.2026 14:50' is not a time" in stdout + stderr


@pytest.mark.parametrize("command", list(COMMANDS))
def test_clock_stepping_back_and_repeated_times_warn_alike_then_time_order(tmp_path: Path, command: str) -> None:
    lines = ["timestamp;value;flow"] + [f"{_ru(k)};{_dec(_value(k))};{_dec(_flow(k))}" for k in range(N)]
    lines.insert(11, f"{_ru(3)};0,41;1501")  # line 12: the clock steps back 30 min to 14:15 (a repeat of line 5)
    src = _write(tmp_path / "back.csv", lines)
    code, stdout, stderr = _run(command, src, tmp_path / "o.csv")
    assert code == 0, stdout + stderr
    where = f"Warning: {src}, row 12, column 'timestamp'"
    assert f"{where}: the clock steps back by 1800 s to 2026-11-29T14:15:00" in stderr
    assert f"{where}: repeats the time of row 5; the first is kept" in stderr
    if command != "correlate":
        times = _times(tmp_path / "o.csv")
        assert times == sorted(times)
        assert command == "forecast" or len(times) == N


def test_gaps_fill_inserts_missing_times_of_a_regular_series(tmp_path: Path) -> None:
    lines = ["время;значение"] + [f"{_ru(k)};{_dec(1 + 0.5 * k)}" for k in range(N) if k not in (7, 20, 21)]
    lines[3] = f"{_ru(2)};"  # and one empty value
    src, out = _write(tmp_path / "holes.csv", lines), tmp_path / "filled.csv"
    code, stdout, stderr = _run("gaps fill", src, out)
    assert code == 0, stdout + stderr
    assert "4 gaps filled by interpolate (3 of them missing times)" in stdout
    table = pd.read_csv(out, keep_default_na=False)
    assert len(table) == N
    assert table["value"].tolist() == pytest.approx([1 + 0.5 * k for k in range(N)])
    assert table.loc[table["filled"] == 1, "timestamp"].tolist() == [_iso(k) for k in (2, 7, 20, 21)]


def test_output_format_follows_the_extension(tmp_path: Path) -> None:
    lines, _ = _lines("utc")
    src = _write(tmp_path / "s.csv", lines)
    code, stdout, stderr = _run("correlate", src, tmp_path / "corr.csv")
    assert code == 0, stdout + stderr
    assert (tmp_path / "corr.csv").read_text().startswith("target,max_lag,")
    code, *_ = _run("correlate", src, tmp_path / "corr.json")
    assert json.loads((tmp_path / "corr.json").read_text())["target"] == "value"
    for command in ("forecast", "detect", "gaps fill"):
        code, *_ = _run(command, src, tmp_path / "o.json")
        assert code == 0
        rows = json.loads((tmp_path / "o.json").read_text())
        assert rows[0]["timestamp"].endswith("Z")
        assert ("forecast" if command == "forecast" else "value") in rows[0]
        code, *_ = _run(command, src, tmp_path / "o.xlsx")
        assert code == 0
        sheet = pd.read_excel(tmp_path / "o.xlsx")
        assert sheet.columns[0] == "timestamp" and str(sheet["timestamp"].iloc[0]).endswith("Z")
    res = runner.invoke(app, ["gaps", "evaluate", "-i", str(src), "-o", str(tmp_path / "ev.csv")])
    assert res.exit_code == 0, res.output
    ev = pd.read_csv(tmp_path / "ev.csv")
    assert set(ev["name"]) == {"mean", "interpolate", "regression", "knn"}


@pytest.mark.parametrize(
    ("args", "summary", "label"),
    [
        (["forecast", "--horizon", "3", "--method", "linear"], "linear: 3 steps written to", "forecast"),
        (["detect", "--method", "iforest"], "alarms,", "detect (iforest)"),
        (["gaps", "fill", "--method", "auto"], "gaps filled by", "gaps fill"),
    ],
)
def test_progress_goes_to_stderr_on_a_terminal_and_nowhere_when_piped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], summary: str, label: str
) -> None:
    lines, _ = _lines("utc")
    src = _write(tmp_path / "s.csv", lines)
    command = [*args, "-i", str(src), "-o", str(tmp_path / "o.csv")]
    piped = runner.invoke(app, command)
    assert piped.exit_code == 0, piped.output
    assert piped.stderr == ""
    assert summary in piped.stdout and len(piped.stdout.splitlines()) == 1
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    shown = runner.invoke(app, command)
    assert shown.exit_code == 0, shown.output
    assert label in shown.stderr
    assert shown.stdout == piped.stdout


def test_a_target_is_found_by_its_name_as_written(tmp_path: Path) -> None:
    lines, _ = _lines("russian")
    src, out = _write(tmp_path / "ru.csv", lines), tmp_path / "c.json"
    res = runner.invoke(app, ["correlate", "-i", str(src), "-o", str(out), "--target", "Расход  воздуха"])
    assert res.exit_code == 0, res.output
    data = json.loads(out.read_text())
    assert data["target"] == "расход воздуха"
    assert [c["column"] for c in data["columns"]] == ["value"]
