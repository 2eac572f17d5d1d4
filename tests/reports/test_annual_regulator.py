"""Issue 13 item 9: the annual report as a regulator reads it (Russian throughout, one number format per
locale, numeric XLSX cells, organisation details, numbered sections, a signature block)."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from ghgwatch.i18n import format_number
from ghgwatch.inventory import calculate
from ghgwatch.reports import build_annual_report, render

FIXTURES = Path(__file__).parents[1] / "fixtures" / "inventory"
ORG = {"name": "АО «Шахта Тестовая»", "inn": "4212000000", "description": "Кемеровская обл., г. Тестовск"}
TODAY = date(2026, 3, 2)


@pytest.fixture(scope="module")
def result() -> dict[str, Any]:
    doc = json.loads((FIXTURES / "calc-input.json").read_text("utf-8"))
    return calculate({**doc, "organization": "АО «Шахта Тестовая»"}).to_dict()


def _plain(text: str) -> str:
    """Babel's no-break spaces as plain spaces (PDF text extraction gives plain ones)."""
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def _pdf(tmp_path: Path, result: dict[str, Any], lang: str, comparison: dict[str, Any] | None = None) -> str:
    path = tmp_path / f"annual-{lang}.pdf"
    render(build_annual_report(result, lang, org=ORG, today=TODAY, comparison=comparison),  # type: ignore[arg-type]
           "pdf", path)
    return _plain("\n".join(p.extract_text() for p in PdfReader(path).pages))


def test_russian_report_has_no_english_labels(tmp_path: Path, result: dict[str, Any]) -> None:
    # With every kind of side-by-side comparison (tests/fixtures/inventory/comparison.json), so that the section
    # "Tiers and measurements side by side" is checked too.
    comparison = json.loads((FIXTURES / "comparison.json").read_text("utf-8"))
    text = _pdf(tmp_path, result, "ru", comparison)
    assert "Уровни расчета и измерения в сопоставлении" in text and "Распадская" in text
    for english in ("Tier", "Measured", "measured", "Lab sample", "Table 3.1 default", "leak", "UAV", "flight",
                    "Stayed", "mass balance", "estimated", "m3/t", "Facility figure"):
        assert english not in text, english
    assert "296-FZ" not in text and "Art." not in text and "296-ФЗ, ст." in text
    assert "IPCC" not in text
    assert "МГЭИК" in text or "2979-р" in text  # the GWP set's description and source in Russian
    assert "100-yr" not in text and "feedback" not in text
    assert "yes" not in text.split() and "no" not in text.split()


def test_one_number_format_per_locale(tmp_path: Path, result: dict[str, Any]) -> None:
    total = result["totals"]["co2e_t"]
    assert total >= 1000  # the fixture's total needs a thousands separator
    ru, en = _pdf(tmp_path, result, "ru"), _pdf(tmp_path, result, "en")
    assert _plain(format_number(total, "ru", 1)) in ru and format_number(total, "en", 1) in en
    # Never the English grouping in Russian (the issue saw "97,207.2" beside "2 721 800" on one page).
    assert not re.search(r"\d,\d{3}\.\d", ru)
    assert format_number(total, "en", 1) not in ru


def test_organisation_details_date_and_signatures(tmp_path: Path, result: dict[str, Any]) -> None:
    doc = build_annual_report(result, "ru", org=ORG, today=TODAY)
    org = {r[0]: r[1] for r in next(s for s in doc.sections if s.key == "organisation").rows}
    assert org["Организация"] == ORG["name"] and org["ИНН"] == ORG["inn"]
    assert org["Сведения"] == ORG["description"]
    assert org["Отчетный год"] == 2025 and _plain(str(org["Дата составления отчета"])) == "2 марта 2026 г."
    titles = [s.title for s in doc.sections]
    assert [int(x.split(".")[0]) for x in titles] == list(range(1, len(titles) + 1))  # numbered 1..n
    sign = next(s for s in doc.sections if s.key == "sign_off")
    assert [r[0] for r in sign.rows] == ["Составил", "Утвердил"]
    assert "Подпись" in sign.columns and "Дата" in sign.columns
    text = _pdf(tmp_path, result, "ru")
    assert "9. Подписи" in text and "ИНН" in text and "4212000000" in text
    no_org = build_annual_report(result, "en", today=TODAY)
    rows = {r[0]: r[1] for r in next(s for s in no_org.sections if s.key == "organisation").rows}
    assert rows["INN (taxpayer number)"] == "not given"


def test_xlsx_numbers_are_numbers_with_a_format(tmp_path: Path, result: dict[str, Any]) -> None:
    path = tmp_path / "annual-ru.xlsx"
    render(build_annual_report(result, "ru", org=ORG, today=TODAY), "xlsx", path)
    wb = load_workbook(path)
    assert wb.sheetnames[0] == "Сводка"
    ws = wb["Сводка"]
    cells = {r[0].value: r[1] for r in ws.iter_rows() if r[0].value is not None and len(r) > 1}
    year = cells["Отчетный год"]
    assert year.value == 2025 and isinstance(year.value, int) and year.number_format == "0"
    total = cells["Итого, т CO2-экв."]
    assert total.value == pytest.approx(result["totals"]["co2e_t"]) and total.number_format == "#,##0.0"
