"""Issue 13 item 5: the 296-FZ check uses the GWPs of order 2979-r whatever set the report uses."""

from __future__ import annotations

from ghgwatch.inventory import calculate

from .conftest import doc

# 5,500,000 m3 of CH4 at a given density of 1.0 kg/m3 = 5,500 t CH4.
MINE = {"id": "m", "type": "coal_mine_measured", "ventilation_ch4_m3": 5_500_000, "density_kg_m3": 1.0}


def test_ar6_report_is_checked_with_2979r() -> None:
    r = calculate(doc(MINE, gwp="ar6", year=2023)).to_dict()
    assert r["totals"]["co2e_t"] == 5_500 * 29.8  # 163,900 t with AR6 fossil CH4: above 150,000
    assert r["fz296"]["gwp"] == "ru2979r"
    assert r["fz296"]["total_co2e_t"] == 5_500 * 25  # 137,500 t with 2979-r: below
    assert r["fz296"]["report_gwp"] == "ar6"
    assert r["fz296"]["report_total_co2e_t"] == 5_500 * 29.8
    assert r["regulated_296fz"] is False


def test_same_answer_with_the_law_set() -> None:
    a = calculate(doc(MINE, gwp="ar5", year=2023)).to_dict()
    b = calculate(doc(MINE, gwp="ru2979r", year=2023)).to_dict()
    assert a["fz296"] == {**b["fz296"], "report_gwp": "ar5", "report_total_co2e_t": 5_500 * 28}
