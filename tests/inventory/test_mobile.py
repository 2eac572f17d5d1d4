"""Issue 13 item 13 (part): mobile combustion, road transport (IPCC 2006 Vol.2 Ch.3 §3.2, Tier 1).

Hand-computed from the cited tables: NCV of Table 1.2 (diesel 43.0, motor gasoline 44.3 TJ/Gg [V], LPG 47.3 [M];
natural gas 0.0338 TJ per thousand m3 at 20 °C [M]); CO2 of Table 1.4 = Table 3.2.1 (74.1, 69.3, 63.1, 56.1 t/TJ);
CH4 / N2O of Table 3.2.2 (kg/TJ) [M]. GWPs: AR5 28 / 265, 2979-r 25 / 298 (METHODOLOGY §3).
"""

from __future__ import annotations

import pytest

from ghgwatch.inventory import InventoryInputError, calculate
from ghgwatch.inventory.categories import category_of, scope_of
from ghgwatch.reports import build_annual_report

from .conftest import close, doc, one

DIESEL_TJ = 0.1 * 43.0  # 100 t = 0.1 kt × 43.0 TJ/kt = 4.3 TJ


def mobile(**fields: object) -> dict[str, object]:
    return {"type": "mobile_combustion", **fields}


@pytest.mark.parametrize(("gwp", "ch4_gwp", "n2o_gwp"), [("ar5", 28, 265), ("ru2979r", 25, 298)])
def test_100_t_diesel_truck_fleet(gwp: str, ch4_gwp: float, n2o_gwp: float) -> None:
    a = one(mobile(fuel="diesel", quantity=100, unit="t"), gwp=gwp)
    assert close(a.co2_t, 318.63, rel=1e-12)  # 4.3 TJ × 74.1 t/TJ
    assert close(a.ch4_t, 0.01677, rel=1e-12)  # 4.3 TJ × 3.9 kg/TJ
    assert close(a.n2o_t, 0.01677, rel=1e-12)  # 4.3 TJ × 3.9 kg/TJ
    # AR5: 318.63 + 0.01677 × 28 + 0.01677 × 265 = 323.54361; 2979-r: + × 25 + × 298 = 324.04671
    expected = {"ar5": 323.54361, "ru2979r": 324.04671}[gwp]
    assert close(a.co2e_t, expected, rel=1e-12)
    assert close(a.co2e_t, 318.63 + 0.01677 * ch4_gwp + 0.01677 * n2o_gwp, rel=1e-12)
    assert a.scope == 1 and a.category == "1.A.3.b"


@pytest.mark.parametrize(("vehicle", "ch4_kg_tj", "n2o_kg_tj"), [
    ("uncontrolled", 33, 3.2),
    ("oxidation_catalyst", 25, 8.0),
    ("low_mileage_ldv_1995_or_later", 3.8, 5.7),
])
def test_motor_gasoline_by_vehicle_technology(vehicle: str, ch4_kg_tj: float, n2o_kg_tj: float) -> None:
    a = one(mobile(fuel="motor_gasoline", vehicle=vehicle, quantity=10, unit="т"))
    tj = 0.01 * 44.3  # 10 t = 0.443 TJ
    assert close(a.co2_t, 30.6999, rel=1e-12)  # 0.443 TJ × 69.3 t/TJ
    assert close(a.ch4_t, tj * ch4_kg_tj / 1000, rel=1e-12)  # e.g. uncontrolled 0.443 × 33 = 14.619 kg
    assert close(a.n2o_t, tj * n2o_kg_tj / 1000, rel=1e-12)
    ch4 = next(f for f in a.factors if f.name.endswith(".ef_ch4"))
    assert ch4.name == f"mobile.road.motor_gasoline.{vehicle}.ef_ch4" and ch4.value == ch4_kg_tj


def test_lpg_and_cng() -> None:
    lpg = one(mobile(fuel="lpg", quantity=50, unit="t"))
    # 0.05 kt × 47.3 TJ/kt = 2.365 TJ; × 63.1 = 149.2315 t CO2; × 62 kg = 146.63 kg CH4; × 0.2 = 0.473 kg N2O
    assert close(lpg.co2_t, 149.2315, rel=1e-12)
    assert close(lpg.ch4_t, 0.14663, rel=1e-12)
    assert close(lpg.n2o_t, 0.000473, rel=1e-12)
    cng = one(mobile(fuel="natural_gas", quantity=100, unit="тыс. м3"))
    # 100 thousand m3 × 0.0338 TJ = 3.38 TJ; × 56.1 = 189.618 t CO2; × 92 kg = 310.96 kg CH4; × 3 = 10.14 kg N2O
    assert close(cng.co2_t, 189.618, rel=1e-12)
    assert close(cng.ch4_t, 0.31096, rel=1e-12)
    assert close(cng.n2o_t, 0.01014, rel=1e-12)


def test_energy_units_and_user_ncv() -> None:
    by_energy = one(mobile(fuel="diesel", quantity=4300, unit="GJ"))
    assert close(by_energy.co2_t, 318.63, rel=1e-12)
    assert "fuel.diesel.ncv" not in {f.name for f in by_energy.factors}  # energy given: no NCV needed
    # Fleet cards count litres: the user gives the NCV per litre (here 43.0 TJ/kt × 0.84 kg/l, a user value).
    litres = one(mobile(fuel="diesel", quantity=100_000, unit="l", ncv_tj_per_unit=43.0e-6 * 0.84))
    assert close(litres.co2_t, 100_000 * 43.0e-6 * 0.84 * 74.1, rel=1e-12)
    ncv = next(f for f in litres.factors if f.name == "fuel.diesel.ncv")
    assert ncv.source == "user input" and ncv.unit == "TJ/l"


def test_user_factors_override_the_table() -> None:
    a = one(mobile(fuel="diesel", quantity=100, unit="t", ef_co2_t_per_tj=70, ef_ch4_kg_per_tj=1,
                   ef_n2o_kg_per_tj=2))
    assert close(a.co2_t, DIESEL_TJ * 70, rel=1e-12)
    assert close(a.ch4_t, DIESEL_TJ * 1 / 1000, rel=1e-12)
    assert close(a.n2o_t, DIESEL_TJ * 2 / 1000, rel=1e-12)
    assert all(f.source == "user input" for f in a.factors if f.name.startswith(("mobile.", "fuel.diesel.ef")))


def test_every_factor_names_its_table_and_status() -> None:
    a = one(mobile(fuel="diesel", quantity=100, unit="t"))
    by_name = {f.name: f.source for f in a.factors}
    assert "Tables 1.2, 1.4" in by_name["fuel.diesel.ef_co2"] and "Table 3.2.1" in by_name["fuel.diesel.ef_co2"]
    assert "[V: S25]" in by_name["fuel.diesel.ef_co2"]
    for gas in ("ch4", "n2o"):
        source = by_name[f"mobile.road.diesel.ef_{gas}"]
        assert "Table 3.2.2" in source and source.endswith("[M]")
    lpg = one(mobile(fuel="lpg", quantity=1, unit="t"))
    assert all(f.source.endswith("[M]") for f in lpg.factors)


def test_ru371_uses_the_ipcc_road_factors_without_oxidation() -> None:
    a = one(mobile(fuel="diesel", quantity=100, unit="t"), methodology="ru371", gwp="ru2979r")
    assert close(a.co2_t, 318.63, rel=1e-12)  # Eq. 3.2.1 has no oxidation factor (ru371 would apply 0.99)
    assert close(a.co2e_t, 324.04671, rel=1e-12)


@pytest.mark.parametrize(("fields", "field", "words"), [
    ({"fuel": "kerosene"}, "fuel", "'motor_gasoline', 'diesel', 'lpg' or 'natural_gas'"),
    ({"fuel": "motor_gasoline"}, "", "needs vehicle, one of: uncontrolled, oxidation_catalyst, "
                                     "low_mileage_ldv_1995_or_later"),
    ({"fuel": "motor_gasoline", "vehicle": "truck"}, "vehicle",
     "'uncontrolled', 'oxidation_catalyst' or 'low_mileage_ldv_1995_or_later'"),
    ({"fuel": "diesel", "vehicle": "uncontrolled"}, "", "applies to motor_gasoline only"),
    ({"fuel": "diesel", "unit": "m3"}, "unit", "fuel 'diesel' is measured by mass"),
    ({"fuel": "natural_gas", "unit": "t"}, "unit", "fuel 'natural_gas' is measured by volume"),
    ({"fuel": "diesel", "mode": "rail"}, "mode", "'road'"),
])
def test_bad_fuel_vehicle_or_unit_names_the_accepted_values(fields: dict[str, object], field: str,
                                                           words: str) -> None:
    with pytest.raises(InventoryInputError) as info:
        calculate(doc({"id": "m", "type": "mobile_combustion", "quantity": 1, "unit": "t", **fields}))
    (item,) = info.value.items
    assert item.activity_id == "m" and item.field == field and words in item.message


def test_category_scope_and_report() -> None:
    assert scope_of("mobile_combustion") == 1
    assert category_of("mobile_combustion").name("ru") == "Передвижные источники: автомобильный транспорт"
    result = calculate(doc({"id": "trucks", **mobile(fuel="diesel", quantity=100, unit="t")},
                           {"id": "boiler", "type": "stationary_combustion", "fuel": "diesel", "quantity": 100,
                            "unit": "t"}))
    out = result.to_dict()
    assert [(a["category"], a["scope"]) for a in out["activities"]] == [("1.A.3.b", 1), ("1.A", 1)]
    # Stationary diesel: 4.3 TJ × 74.1 = 318.63 t CO2 as well; both in the direct total
    assert close(out["totals"]["co2_t"], 2 * 318.63, rel=1e-12)
    for lang, name in (("en", "Mobile combustion: road transportation"),
                       ("ru", "Передвижные источники: автомобильный транспорт")):
        rows = next(s for s in build_annual_report(out, lang).sections if s.key == "by_category").rows
        road = next(r for r in rows if r[0] == "1.A.3.b")
        assert road[1] == name and road[-1] == pytest.approx(323.54361, rel=1e-12)
