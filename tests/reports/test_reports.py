from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from typer.testing import CliRunner

from ghgwatch.cli import app
from ghgwatch.inventory import calculate
from ghgwatch.reports import build_annual_report, build_detail_report, render

FIXTURES = Path(__file__).parents[1] / "fixtures" / "inventory"
CALC_INPUT = FIXTURES / "calc-input.json"
runner = CliRunner()


@pytest.fixture(scope="module")
def result() -> dict[str, Any]:
    return calculate(json.loads(CALC_INPUT.read_text("utf-8"))).to_dict()


def pdf_text(path: Path) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(path).pages)


def test_annual_pdf_russian_text_extracts(tmp_path: Path, result: dict[str, Any]) -> None:
    path = tmp_path / "annual.pdf"
    render(build_annual_report(result, "ru"), "pdf", path)
    text = pdf_text(path)
    assert "Метан" in text
    assert "Отчет о выбросах парниковых газов за год" in text
    assert "296-ФЗ" in text
    assert result["inputs_sha256"] in text
    assert "2026-07-01" in text  # report deadline, 1 July of the following year
    assert len(PdfReader(path).pages[-1].images) + len(PdfReader(path).pages[0].images) >= 1  # the chart


def test_annual_pdf_english(tmp_path: Path, result: dict[str, Any]) -> None:
    path = tmp_path / "annual-en.pdf"
    render(build_annual_report(result, "en"), "pdf", path)
    text = pdf_text(path)
    assert "Methane (CH4)" in text
    assert "Status under Federal Law 296-FZ" in text


def test_xlsx_totals_read_back(tmp_path: Path, result: dict[str, Any]) -> None:
    path = tmp_path / "annual.xlsx"
    render(build_annual_report(result, "en"), "xlsx", path)
    wb = load_workbook(path)
    ws = wb["Summary"]
    cells = {r[0]: r[1] for r in ws.iter_rows(values_only=True) if r and r[0] is not None}
    assert cells["Total, t CO2e"] == pytest.approx(result["totals"]["co2e_t"])
    assert cells["CH4, t"] == pytest.approx(result["totals"]["ch4_t"])
    detail = tmp_path / "detail.xlsx"
    render(build_detail_report(result, "ru"), "xlsx", detail)
    wb = load_workbook(detail)
    # Sheet names in the report's language (issue 13 item 9).
    assert {"Сводка", "Детализация", "Коэффициенты"} <= set(wb.sheetnames)
    assert not {"Summary", "Detail", "Factors"} & set(wb.sheetnames)
    rows = [
        r for r in wb["Детализация"].iter_rows(values_only=True)
        if r and r[0] in {a["id"] for a in result["activities"]}
    ]
    assert sum(float(r[6]) for r in rows) == pytest.approx(result["totals"]["co2e_t"])  # type: ignore[arg-type]


def test_detail_lists_every_factor_with_source(tmp_path: Path, result: dict[str, Any]) -> None:
    doc = build_detail_report(result, "en")
    factors = next(s for s in doc.sections if s.key == "factors")
    assert len(factors.rows) == sum(len(a["factors"]) for a in result["activities"])
    assert all(r[4] for r in factors.rows)
    path = tmp_path / "detail.pdf"
    render(doc, "pdf", path)
    assert "METHODOLOGY" in pdf_text(path)


def test_json_and_csv_round_trip(tmp_path: Path, result: dict[str, Any]) -> None:
    doc = build_annual_report(result, "ru")
    render(doc, "json", tmp_path / "a.json")
    back = json.loads((tmp_path / "a.json").read_text("utf-8"))
    assert back == json.loads(json.dumps(doc.to_dict()))
    assert back["inputs_sha256"] == result["inputs_sha256"]
    render(doc, "csv", tmp_path / "a.csv")
    with (tmp_path / "a.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    total = next(r for r in rows if r["section"] == "total" and r["row"] == "1" and r["column"] == "Значение")
    assert float(total["value"]) == pytest.approx(result["totals"]["co2e_t"])
    assert any(r["value"] == "Метан (CH4)" for r in rows)


def test_cli_report_build(tmp_path: Path) -> None:
    out = tmp_path / "r.xlsx"
    res = runner.invoke(
        app,
        [
            "report",
            "build",
            "--input",
            str(CALC_INPUT),
            "--kind",
            "annual",
            "--format",
            "xlsx",
            "--lang",
            "en",
            "--output",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    assert out.stat().st_size > 0
    res = runner.invoke(app, ["report", "build", "--input", str(tmp_path / "missing.json"), "--output", str(out)])
    assert res.exit_code == 2
