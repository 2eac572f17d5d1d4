from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from ghgwatch.cli import app
from ghgwatch.reports import build_methane_safety_report, find_exceedances, read_readings_csv, render

READINGS = Path(__file__).parents[1] / "fixtures" / "inventory" / "readings.csv"
runner = CliRunner()


def test_exceedances_in_march() -> None:
    readings, digest = read_readings_csv(READINGS)
    assert len(digest) == 64
    exc = find_exceedances(readings, 1.0, "2025-03")
    assert [(e.sensor, e.duration_min, e.peak, e.ongoing) for e in exc] == [
        ("MM1", 15.0, 1.6, False),  # 10:05 → 10:20 (first reading back at/below 1 %)
        ("MM1", 5.0, 1.05, False),  # 12:00 is exactly 1.0: not an exceedance; 12:05 → 12:10
        ("MM2", 0.0, 1.3, True),  # the April reading is outside the month: ongoing
    ]
    assert exc[0].start == datetime(2025, 3, 10, 10, 5, tzinfo=UTC)
    assert exc[0].peak_at == datetime(2025, 3, 10, 10, 10, tzinfo=UTC)


def test_without_month_all_readings() -> None:
    readings, _ = read_readings_csv(READINGS)
    exc = find_exceedances(readings, 1.0)
    assert len(exc) == 4  # naive February timestamps taken as UTC
    assert exc[0].start == datetime(2025, 2, 28, 8, 0, tzinfo=UTC)
    assert exc[-1].duration_min == 5.0
    assert exc[-1].ongoing is False


def test_report_pdf_and_json(tmp_path: Path) -> None:
    readings, digest = read_readings_csv(READINGS)
    doc = build_methane_safety_report(find_exceedances(readings, 1.0, "2025-03"), 1.0, digest, "2025-03", "ru")
    render(doc, "pdf", tmp_path / "s.pdf")
    text = "\n".join(p.extract_text() for p in PdfReader(tmp_path / "s.pdf").pages)
    assert "Ежемесячный отчет по метановой безопасности" in text
    assert "MM1" in text
    assert digest in text
    render(doc, "json", tmp_path / "s.json")
    back = json.loads((tmp_path / "s.json").read_text("utf-8"))
    summary = next(s for s in back["sections"] if s["key"] == "summary")
    assert summary["rows"][0] == ["MM1", 2, 20.0, 1.6]


def test_cli_methane_safety(tmp_path: Path) -> None:
    out = tmp_path / "s.csv"
    res = runner.invoke(
        app,
        [
            "report",
            "methane-safety",
            "--input",
            str(READINGS),
            "--threshold",
            "1.0",
            "--month",
            "2025-03",
            "--format",
            "csv",
            "--lang",
            "en",
            "--output",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "3 exceedance(s)" in res.stdout
    assert "exceedances,1,Peak, % CH4" not in out.read_text("utf-8")  # csv-quoted column title
    assert '"Peak, % CH4",1.6' in out.read_text("utf-8")
    res = runner.invoke(
        app, ["report", "methane-safety", "--input", str(READINGS), "--month", "2025-13", "--output", str(out)]
    )
    assert res.exit_code == 2


def test_bad_csv(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("time,sensor,value\n", "utf-8")
    with pytest.raises(ValueError, match="header"):
        read_readings_csv(bad)


def test_month_and_times_in_the_report_time_zone() -> None:
    readings, digest = read_readings_csv(READINGS)
    # Kuzbass (UTC+7): MM2's 23:55Z reading of 31 March is 06:55 on 1 April locally, outside March.
    exc = find_exceedances(readings, 1.0, "2025-03", "Asia/Novokuznetsk")
    assert [(e.sensor, e.duration_min) for e in exc] == [("MM1", 15.0), ("MM1", 5.0)]
    doc = build_methane_safety_report(exc, 1.0, digest, "2025-03", "ru", tz="Asia/Novokuznetsk")
    rows = next(s for s in doc.sections if s.key == "exceedances").rows
    # 10:05Z → 17:05:00 local, to the second, without "T", offset or microseconds.
    assert rows[0][1:3] == ["2025-03-10 17:05:00", "2025-03-10 17:20:00"]
    assert rows[0][5] == "2025-03-10 17:10:00"
    assert ("Часовой пояс месяца и времени", "Asia/Novokuznetsk (UTC+07:00)") in doc.meta
    utc = build_methane_safety_report(find_exceedances(readings, 1.0, "2025-03"), 1.0, digest, "2025-03", "en")
    assert next(s for s in utc.sections if s.key == "exceedances").rows[0][1] == "2025-03-10 10:05:00"


def test_unknown_time_zone_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        find_exceedances([], 1.0, "2025-03", "Mars/Olympus")
    res = runner.invoke(app, ["report", "methane-safety", "--input", str(READINGS), "--month", "2025-03",
                              "--tz", "Mars/Olympus", "--output", str(tmp_path / "s.pdf")])
    assert res.exit_code == 2 and "unknown time zone 'Mars/Olympus'" in res.stderr
