"""Issue 13 item 4: Order 371 tables (as encoded by a third party, [?]) under the ru371 methodology.

Every expected value is computed by hand from the rows of /work/shared/data/order371 (docs/sources.md).
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
