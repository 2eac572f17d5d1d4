"""Issue 13 item 4: Order 371 tables (as encoded by a third party, [?]) under the ru371 methodology.

Every expected value is computed by hand from the rows of the encoded tables (their source: docs/sources.md).
"""

from __future__ import annotations

from typing import Any

import pytest

from ghgwatch.inventory import InventoryInputError, calculate, load_builtin_factor_set

from .conftest import close, doc, one

KUZ = "Рядовой уголь: кузнецкий"  # Table 1.1: k 0.867, NCV 25.4 TJ/kt, EF 2.69 t/t c.e., 91.9 t/TJ
GAS = "Газ горючий природный (естественный)"  # k 1.129, NCV 33.08 TJ/10^6 m3, EF 1.59 t/t c.e., 54.4 t/TJ


def ru(activity: dict[str, Any]) -> Any:
    return one(activity, methodology="ru371", gwp="ru2979r")


def test_every_table_1_1_fuel_is_shipped_with_both_routes() -> None:
    fs = load_builtin_factor_set("ru371")
    assert len(fs.fuels) == 77
    for name, fuel in fs.fuels.items():
        assert fuel.k_tce and fuel.ef_co2_tce is not None, name
        assert fuel.table.startswith("Table 1.1, row "), name
    sources = {f.source.document for f in fs.factors if f.name.startswith("fuel.")}
    assert sources == {"Minprirody Order No. 371 of 27.05.2022"}
    assert all(f.status == "?" for f in fs.factors)


def test_kuznetsk_coal_ncv_route() -> None:
    a = ru({"type": "stationary_combustion", "fuel": KUZ, "quantity": 1000, "unit": "т"})
    # 1 kt × 25.4 TJ/kt × 91.9 t/TJ × OF 0.98 (solid)
    assert close(a.co2_t, 25.4 * 91.9 * 0.98, rel=1e-9)
    assert a.ch4_t == 0 and a.n2o_t == 0  # formula 1.1: CO2 only
    assert any("Table 1.1, row 27" in f.source for f in a.factors)


def test_kuznetsk_coal_tce_route() -> None:
    a = ru({"type": "stationary_combustion", "fuel": KUZ, "quantity": 1000, "unit": "t", "route": "tce"})
    # 1000 t × 0.867 t c.e./t × 2.69 t CO2/t c.e. × 0.98
    assert close(a.co2_t, 1000 * 0.867 * 2.69 * 0.98, rel=1e-9)
    names = [f.name for f in a.factors]
    assert f"fuel.{KUZ}.k_tce" in names and f"fuel.{KUZ}.ef_co2_tce" in names


def test_natural_gas_both_routes() -> None:
    ncv = ru({"type": "stationary_combustion", "fuel": GAS, "quantity": 1, "unit": "млн м3"})
    assert close(ncv.co2_t, 33.08 * 54.4 * 0.995, rel=1e-9)
    tce = ru({"type": "stationary_combustion", "fuel": GAS, "quantity": 1000, "unit": "тыс. м3", "route": "tce"})
    assert close(tce.co2_t, 1000 * 1.129 * 1.59 * 0.995, rel=1e-9)


def test_tce_quantity_needs_no_k() -> None:
    a = ru({"type": "stationary_combustion", "fuel": KUZ, "quantity": 867, "unit": "т у.т.", "route": "tce"})
    assert close(a.co2_t, 867 * 2.69 * 0.98, rel=1e-9)


def test_oxidation_formulas_1_8_and_1_9() -> None:
    q4 = ru({"type": "stationary_combustion", "fuel": KUZ, "quantity": 1000, "unit": "t", "unburnt_heat_loss_pct": 3})
    assert close(q4.co2_t, 25.4 * 91.9 * 0.97, rel=1e-9)
    c = ru({"type": "stationary_combustion", "fuel": KUZ, "quantity": 1000, "unit": "t",
            "carbon_in_ash_t": 5, "carbon_in_fuel_t": 100})
    assert close(c.co2_t, 25.4 * 91.9 * 0.95, rel=1e-9)


def test_ipcc_fuels_stay_available_under_ru371() -> None:
    a = ru({"type": "stationary_combustion", "fuel": "bituminous_coal", "quantity": 10_000, "unit": "t"})
    assert close(a.co2_t, 24_406.8 * 0.98)


def test_tce_route_for_a_fuel_without_k_is_a_clear_error() -> None:
    with pytest.raises(InventoryInputError) as info:
        calculate(doc({"id": "d", "type": "stationary_combustion", "fuel": "diesel", "quantity": 1, "unit": "t",
                       "route": "tce"}, methodology="ru371"))
    (item,) = info.value.items
    assert item.field == "k_tce_per_unit"
    assert "route 'ncv'" in item.message


@pytest.mark.parametrize(("quantity", "unit", "co2", "ch4"), [
    (1_000, "тыс. м3", 1000 * 1.6294, 1000 * 0.0178),  # Table 2.1 row 3 per thousand m3
    (100, "t", 100 * 1.8863, 100 * 0.0206),  # Table 2.1 row 3 per t
])
def test_flaring_table_2_1_coal_seam_gas(quantity: float, unit: str, co2: float, ch4: float) -> None:
    a = ru({"type": "gas_flaring", "gas_type": "coal_seam_gas", "quantity": quantity, "unit": unit})
    assert close(a.co2_t, co2, rel=1e-9)
    assert close(a.ch4_t, ch4, rel=1e-9)


def test_venting_formula_3_1_with_table_3_1_composition() -> None:
    a = ru({"type": "vented_gas", "gas_type": "coal_seam_gas", "volume_m3": 1000})
    # 1 thousand m3 × 76.0 % × 0.668 kg/m3 (Table 1.2, 20 °C) × 10⁻²; CO2 10.6 % × 1.8393
    assert close(a.ch4_t, 1 * 76.0 * 0.668 * 1e-2, rel=1e-9)
    assert close(a.co2_t, 1 * 10.6 * 1.8393 * 1e-2, rel=1e-9)
    zero_c = ru({"type": "vented_gas", "gas_type": "coal_seam_gas", "volume_m3": 1000, "gas_reference": "0C"})
    assert close(zero_c.ch4_t, 76.0 * 0.717 * 1e-2, rel=1e-9)
    given = ru({"type": "vented_gas", "gas_type": "coal_seam_gas", "volume_m3": 1000, "ch4_percent": 50})
    assert close(given.ch4_t, 50 * 0.668 * 1e-2, rel=1e-9)


def test_table_1_2_densities_at_15c() -> None:
    a = ru({"type": "vented_gas", "volume_m3": 1000, "ch4_percent": 100, "gas_reference": "15C"})
    assert close(a.ch4_t, 0.6797, rel=1e-9)


# --- more hand-computed cases, each from one row of the encoded tables (docs/sources.md) -----------------------

DIESEL = "Топливо дизельное"  # Table 1.1 row 10: k 1.45, NCV 42.5 TJ/kt, EF 2.17 t/t c.e., 74.1 t/TJ


def test_table_1_1_rows_are_internally_consistent() -> None:
    """README of the encoded tables: EF per TJ × 0.029308 TJ/t c.e. ≈ EF per t c.e., and k × 29.308 ≈ NCV."""
    fs = load_builtin_factor_set("ru371")
    for name, fuel in fs.fuels.items():
        assert fuel.k_tce is not None and fuel.ef_co2_tce is not None
        assert fuel.ef_co2 / 1000 * 0.029308 == pytest.approx(fuel.ef_co2_tce, abs=0.01), name
        assert fuel.k_tce * 29.308 == pytest.approx(fuel.ncv, rel=0.02), name


def test_diesel_both_routes() -> None:
    ncv = ru({"type": "stationary_combustion", "fuel": DIESEL, "quantity": 10, "unit": "t"})
    # 10 t = 0.01 kt × 42.5 TJ/kt = 0.425 TJ × 74.1 t/TJ × OF 0.99 (liquid) = 31.177575 t
    assert close(ncv.co2_t, 31.177575, rel=1e-9)
    tce = ru({"type": "stationary_combustion", "fuel": DIESEL, "quantity": 10, "unit": "т", "route": "tce"})
    # 10 t × 1.45 t c.e./t = 14.5 t c.e. × 2.17 t/t c.e. = 31.465 t × 0.99 = 31.15035 t
    assert close(tce.co2_t, 31.15035, rel=1e-9)


def test_energy_units_on_both_routes() -> None:
    # 7,000 Gcal(IT) = 29,307.6 GJ = 1,000 t c.e. (7,000 kcal/kg); Kuznetsk coal EF 2.69 t/t c.e., OF 0.98
    tce = ru({"type": "stationary_combustion", "fuel": KUZ, "quantity": 7000, "unit": "Гкал", "route": "tce"})
    assert close(tce.co2_t, 1000 * 2.69 * 0.98, rel=1e-9)  # 2,636.2 t
    # The same energy on the NCV route: 29.3076 TJ × 91.9 t/TJ × 0.98 = 2,639.54 t
    ncv = ru({"type": "stationary_combustion", "fuel": KUZ, "quantity": 29.3076, "unit": "ТДж"})
    assert close(ncv.co2_t, 29.3076 * 91.9 * 0.98, rel=1e-9)


def test_natural_gas_written_as_1000_m3() -> None:
    a = ru({"type": "stationary_combustion", "fuel": GAS, "quantity": 5, "unit": "1000 m3"})
    # 5 thousand m3 = 0.005 million m3 × 33.08 TJ/million m3 = 0.1654 TJ × 54.4 t/TJ × 0.995 = 8.9527712 t
    assert close(a.co2_t, 8.9527712, rel=1e-9)


def test_mass_of_a_gas_fuel_is_refused_with_the_unit_named() -> None:
    with pytest.raises(InventoryInputError) as info:
        calculate(doc({"id": "g", "type": "stationary_combustion", "fuel": GAS, "quantity": 1, "unit": "t"},
                      methodology="ru371"))
    (item,) = info.value.items
    assert item.activity_id == "g" and item.field == "unit"
    assert "measured by volume" in item.message and "'t'" in item.message


@pytest.mark.parametrize(("gas_type", "quantity", "unit", "co2", "ch4"), [
    # Table 2.1 row 2, per thousand m3: 0.5 million m3 = 500 thousand m3 × 3.3689 / × 0.0053
    ("associated_gas", 0.5, "млн м3", 1684.45, 2.65),
    # Table 2.1 row 1, per t: 200 t × 2.6986 / × 0.0006
    ("natural_gas", 200, "т", 539.72, 0.12),
    # Table 2.1 row 4, per thousand m3: 10,000 m3 = 10 thousand m3 × 2.0245 / × 0.0004
    ("gas_condensate_field_gas", 10_000, "m3", 20.245, 0.004),
])
def test_flaring_table_2_1_other_rows(gas_type: str, quantity: float, unit: str, co2: float, ch4: float) -> None:
    a = ru({"type": "gas_flaring", "gas_type": gas_type, "quantity": quantity, "unit": unit})
    assert close(a.co2_t, co2, rel=1e-9)
    assert close(a.ch4_t, ch4, rel=1e-9)
    assert a.category == "1.B"


def test_flaring_of_an_energy_quantity_is_refused() -> None:
    with pytest.raises(InventoryInputError) as info:
        calculate(doc({"id": "f", "type": "gas_flaring", "gas_type": "natural_gas", "quantity": 1, "unit": "GJ"},
                      methodology="ru371"))
    assert info.value.items[0].field == "unit"


@pytest.mark.parametrize(("gas_type", "ch4", "co2"), [
    # Formula 3.1 on 1 million m3 (1,000 thousand m3) at 20 °C (Table 1.2 row 3: CH4 0.668, CO2 1.8393 kg/m3):
    ("natural_gas", 1000 * 98.4 * 0.668e-2, 1000 * 0.04 * 1.8393e-2),  # Table 3.1 row 2: 657.312 / 0.73572 t
    ("natural_gas_sour", 1000 * 51.5 * 0.668e-2, 1000 * 14.2 * 1.8393e-2),  # row 1: 344.02 / 261.1806 t
    ("associated_gas", 1000 * 89.8 * 0.668e-2, 1000 * 8.4 * 1.8393e-2),  # row 3: 599.864 / 154.5012 t
])
def test_venting_table_3_1_other_rows(gas_type: str, ch4: float, co2: float) -> None:
    a = ru({"type": "vented_gas", "gas_type": gas_type, "volume_m3": 1_000_000})
    assert close(a.ch4_t, ch4, rel=1e-9)
    assert close(a.co2_t, co2, rel=1e-9)
    cited = {f.name: f.source for f in a.factors}
    assert "Table 3.1" in cited[f"composition.{gas_type}.ch4"] and "Table 1.2" in cited["density.ch4.20C"]
