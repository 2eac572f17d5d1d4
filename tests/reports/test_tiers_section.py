"""Issue 13 items 2 and 10: the report section "Tiers and measurements side by side" from a run's ``comparison``
(hand-made, one entry of each kind, tests/fixtures/inventory/comparison.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from pypdf import PdfReader
from sqlalchemy import update

from ghgwatch.inventory import calculate
from ghgwatch.reference.minedb.models import RefMine, RefMineYear
from ghgwatch.registry.models import Facility
from ghgwatch.reports import build_annual_report, build_detail_report, render
from ghgwatch.reports.document import Section
from ghgwatch.security.models import Role
from tests.conftest import World

FIXTURES = Path(__file__).parents[1] / "fixtures" / "inventory"
FACILITIES = {"a1": "Шахта Северная", "a3": "Шахта Северная", "a2": "Разрез Южный", "a5": "Котельная",
              "a6": "Котельная"}


def load_comparison() -> dict[str, Any]:
    return dict(json.loads((FIXTURES / "comparison.json").read_text("utf-8")))


@pytest.fixture(scope="module")
def result() -> dict[str, Any]:
    doc = json.loads((FIXTURES / "calc-input.json").read_text("utf-8"))
    for a in doc["activities"]:
        if a["id"] in FACILITIES:
            a["facility"] = FACILITIES[a["id"]]
    doc["activities"].append({"id": "uav-8", "type": "measured_leak", "facility": "ЦОФ", "ch4_kg": 50.0,
                              "lower_kg": 30.0, "upper_kg": 80.0, "hours": 4.5, "provenance": "flight 32"})
    return calculate(doc).to_dict()


def _tiers(result: dict[str, Any], lang: str, comparison: dict[str, Any] | None) -> Section:
    doc = build_annual_report(result, lang, comparison=comparison)  # type: ignore[arg-type]
    return next(s for s in doc.sections if s.key == "tiers")


def _rows(section: Section, kind: str) -> list[list[Any]]:
    return [r for r in section.rows if r[0] == kind]


def test_english_rows_of_each_comparison(result: dict[str, Any]) -> None:
    sec = _tiers(result, "en", load_comparison())
    assert sec.title == "9. Tiers and measurements side by side"
    assert sec.columns == ["Comparison", "Facility", "Variant", "CH4, t", "CO2, t", "In the total", "Why"]
    t3 = _rows(sec, "Measured vs factor-based (Tier 3 vs Tier 1/2)")
    assert [r[1:6] for r in t3] == [["Шахта Северная", "Measured (Tier 3)", 11871.5, None, "yes"],
                                    ["Шахта Северная", "Tier 2 (mine reference database)", 24120.0, None, "no"]]
    assert "not counted twice" in str(t3[0][6]) and "-50.8%" in str(t3[0][6])
    t2 = _rows(sec, "Tier 2 vs Tier 1 (coal mining)")
    assert [r[1:6] for r in t2] == [["Шахта Северная", "Tier 2 (mine reference database)", 10050.0, 0.0, "yes"],
                                    ["Шахта Северная", "Tier 1 (default factor)", 24120.0, 0.0, "no"],
                                    ["Разрез Южный", "Tier 1 (default factor)", 804.0, 0.0, "yes"]]
    why = str(t2[0][6])
    assert "7.5 m3/t of Raspadskaya for 2025" in why and "status: estimated" in why
    assert "source: GEM Global Coal Mine Tracker (record gem-M0001-2025, version 2)" in why
    assert "use with caution" in why
    assert str(t2[2][6]).startswith("Stayed Tier 1: no reference mine is linked")
    lab = _rows(sec, "Lab composition vs Order 371 Table 3.1")
    assert [r[2:6] for r in lab] == [["Lab sample composition", 137.6, 1.2, "yes"],
                                     ["Order 371 Table 3.1 default", 100.1, 1.2, "no"],
                                     ["Order 371 Table 3.1 default", 13.4, 1843.0, "yes"],
                                     ["Order 371 Table 3.1 default", None, None, "no"]]
    assert "CH4 41.25 % from lab sample ПР-117 of Mar 14, 2025" in str(lab[0][6])
    assert "certificate: № 45/25" in str(lab[0][6]) and "CO2: given in the activity data" in str(lab[0][6])
    assert "names no source" in str(lab[2][6])
    assert lab[3][1] == "facility No. 3" and str(lab[3][6]) == ("CH4: not given, taken as 0 (no usable lab sample "
                                                                "within 365 days); CO2: not given, taken as 0 (no "
                                                                "usable lab sample within 365 days)")
    leaks = _rows(sec, "Measured leak (UAV)")
    assert [r[1:6] for r in leaks] == [["Шахта Северная", "Measured leak", 0.312, None, "no"],
                                       ["Шахта Северная", "Facility figure for the same hours", 8.131, None, "yes"],
                                       ["ЦОФ", "Measured leak", 0.05, None, "yes"]]
    assert "UAV flight 31 (mass balance), 6 h" in str(leaks[0][6]) and "3.8%" in str(leaks[0][6])
    assert "0.210 – 0.430 t CH4" in str(leaks[0][6]) and "Not added" in str(leaks[0][6])
    assert "11,871.5 t CH4" in str(leaks[1][6])
    assert "added to the total" in str(leaks[2][6]) and "plume model" in str(leaks[2][6])


def test_russian_rows_of_each_comparison(result: dict[str, Any]) -> None:
    sec = _tiers(result, "ru", load_comparison())
    assert sec.title == "9. Уровни расчета и измерения в сопоставлении"
    assert sec.columns[-2:] == ["Учтено в итоге", "Обоснование выбора"]
    kinds = [r[0] for r in sec.rows]
    assert kinds.count("Измерения и расчет по коэффициентам (уровень 3 и уровни 1/2)") == 2
    assert kinds.count("Уровень 2 и уровень 1 (добыча угля)") == 3
    assert kinds.count("Лабораторный состав и таблица 3.1 Приказа 371") == 4
    assert kinds.count("Измеренная утечка (БПЛА)") == 3
    assert [r[5] for r in sec.rows] == ["да", "нет", "да", "нет", "да", "да", "нет", "да", "нет", "нет", "да",
                                          "да"]
    text = " ".join(str(r[6]) for r in sec.rows).replace("\u00a0", " ").replace("\u202f", " ")
    assert "7,5 м3/т (Распадская, 2025 год)" in text and "статус: оценка" in text
    assert "CH4 41,25 % по лабораторной пробе ПР-117 от 14 мар. 2025 г." in text
    assert "Полет БПЛА 31 (метод баланса массы)" in text and "3,8 %" in text and "11 871,5 т CH4" in text
    assert "Остался уровень 1" in text and "добавлена к итогу" in text and sec.rows[8][1] == "объект № 3"
    assert "CH4: не задано, принято 0" in text


@pytest.mark.parametrize("comparison", [None, {}, {"tier3_vs_tier1": [], "tier2_vs_tier1": [], "lab_vs_table": [],
                                                   "measured_leaks": [], "measured": []}])
def test_no_comparison_no_section(result: dict[str, Any], comparison: dict[str, Any] | None) -> None:
    for lang in ("en", "ru"):
        doc = build_annual_report(result, lang, comparison=comparison)
        assert "tiers" not in [s.key for s in doc.sections]
        assert doc.sections[-1].title.startswith("9. ")  # the signatures keep their number, no gap
        assert "tiers" not in [s.key for s in build_detail_report(result, lang, comparison=comparison).sections]


def test_signatures_follow_the_section(result: dict[str, Any]) -> None:
    doc = build_annual_report(result, "ru", comparison=load_comparison())
    assert [s.key for s in doc.sections][-2:] == ["tiers", "sign_off"]
    assert doc.sections[-1].title == "10. Подписи"


def test_detail_report_and_every_format(tmp_path: Path, result: dict[str, Any]) -> None:
    doc = build_detail_report(result, "en", comparison=load_comparison())
    sec = next(s for s in doc.sections if s.key == "tiers")
    assert sec.title == "Tiers and measurements side by side" and len(sec.rows) == 12
    annual = build_annual_report(result, "ru", comparison=load_comparison())
    for fmt in ("pdf", "xlsx", "csv", "json"):
        render(annual, fmt, tmp_path / f"a.{fmt}")  # type: ignore[arg-type]
    csv = (tmp_path / "a.csv").read_text("utf-8")
    assert "tiers,3,Обоснование выбора,\"Уровень 2: относительная метанообильность 7,5" in csv.replace("\u00a0", " ")
    assert json.loads((tmp_path / "a.json").read_text("utf-8"))["sections"][8]["key"] == "tiers"
    pdf = " ".join(p.extract_text() for p in PdfReader(tmp_path / "a.pdf").pages)
    assert "Распадская" in pdf and "Tier" not in pdf


async def test_stored_run_report_prints_tier2(client: httpx.AsyncClient, world: World) -> None:
    """End to end: a Tier 2 run of a mine linked to the reference database; its report (API) prints the section
    with the m3/t value, its status and source; a run without comparisons has none."""
    async with world.db.transaction() as s:
        s.add_all([RefMine(record_key="m-rep", name_en="Report mine", name_ru="Шахта Отчетная", source="GEM"),
                   RefMineYear(record_key="y-rep", mine_key="m-rep", year=2025, relative_m3_t=12.5,
                               data_status="measured", source="газовая съемка 2025", organization_id=world.org_a)])
        await s.execute(update(Facility).where(Facility.id == world.facility_a)
                        .values(attributes={"ref_mine_key": "m-rep"}))
    eng = await world.login(Role.ENGINEER, world.org_a)
    answer = await client.post("/api/v1/activity-data", headers=eng, json={
        "facility_id": world.facility_a, "period_start": "2025-01-01", "period_end": "2025-12-31",
        "activity_type": "coal_mining_underground", "data": {"coal_t": 1_000_000}})
    assert answer.status_code == 201, answer.text
    ids = []
    for extra in ({"coal_mining_tier": "tier2"}, {}):
        run = await client.post("/api/v1/inventory/runs", headers=eng,
                                json={"organization_id": world.org_a, "year": 2025, "gwp": "ar5", **extra})
        assert run.status_code == 201, run.text
        ids.append(run.json()["id"])

    async def report(run_id: int, kind: str, lang: str) -> dict[str, Any]:
        got = await client.get(f"/api/v1/inventory/runs/{run_id}/report", headers=eng,
                               params={"kind": kind, "format": "json", "lang": lang})
        assert got.status_code == 200, got.text
        return dict(got.json())

    doc = await report(ids[0], "annual", "ru")
    (sec,) = [s for s in doc["sections"] if s["key"] == "tiers"]
    assert sec["title"] == "9. Уровни расчета и измерения в сопоставлении"
    # 1e6 t × 12.5 m3/t × 0.67 kg/m3 = 8,375 t CH4 (Tier 2) beside 1e6 × 18 × 0.67 = 12,060 t (Tier 1)
    assert [r[2:6] for r in sec["rows"]] == [["Уровень 2 (справочная база шахт)", pytest.approx(8_375), 0.0, "да"],
                                             ["Уровень 1 (коэффициент по умолчанию)", pytest.approx(12_060), 0.0,
                                              "нет"]]
    assert "12,5 м3/т (Шахта Отчетная, 2025 год)" in sec["rows"][0][6]
    assert "статус: измерено; источник: газовая съемка 2025" in sec["rows"][0][6]
    detail = await report(ids[0], "detail", "en")
    assert "Tiers and measurements side by side" in [s["title"] for s in detail["sections"]]
    plain = await report(ids[1], "annual", "en")
    assert "tiers" not in [s["key"] for s in plain["sections"]]

