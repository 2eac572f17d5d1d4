"""Issue 13 item 7: activity quantities in units as people write them, parsed with pint."""

from __future__ import annotations

import pytest

from ghgwatch.inventory import InventoryInputError, calculate
from ghgwatch.inventory.quantities import QuantityError, check_unit, convert, kind_of

from .conftest import close, doc, one


@pytest.mark.parametrize(
    ("value", "unit", "target", "expected"),
    [
        (1, "1000 m3", "m3", 1000),
        (1, "thousand m3", "m3", 1000),
        (1, "thousand_m3", "m3", 1000),
        (1, "тыс. м3", "m3", 1000),
        (1, "тыс.м3", "m3", 1000),
        (1, "млн м3", "thousand m3", 1000),
        (1, "million m3", "m3", 1e6),
        (1, "т", "kg", 1000),
        (1, "tonne", "t", 1),
        (1, "kt", "t", 1000),
        (1, "кт", "т", 1000),
        (1, "тыс. т", "t", 1000),
        (1, "ТДж", "GJ", 1000),
        (1, "ГДж", "TJ", 1e-3),
        (1, "Gcal", "GJ", 4.1868),  # International Table calorie
        (1, "Гкал", "GJ", 4.1868),
        (1, "t c.e.", "GJ", 29.3076),
        (1, "т у.т.", "TJ", 0.0293076),
        (1, "MWh", "GJ", 3.6),
    ],
)
def test_units_as_written(value: float, unit: str, target: str, expected: float) -> None:
    assert convert(value, unit, target) == pytest.approx(expected, rel=1e-9)


def test_kinds() -> None:
    assert kind_of("тыс. м3") == "volume"
    assert kind_of("kt") == "mass"  # not pint's knot
    assert kind_of("Гкал") == "energy"


@pytest.mark.parametrize("unit", ["xyz", "", "m", "furlong/s"])
def test_unknown_unit_names_the_accepted_forms(unit: str) -> None:
    with pytest.raises(QuantityError, match="accepted: t, tonne"):
        check_unit(unit)


@pytest.mark.parametrize(
    ("quantity", "unit"),
    [(1_000, "1000 m3"), (1_000, "thousand m3"), (1_000, "тыс. м3"), (1, "млн м3"), (1_000_000, "m3"),
     (33.8, "ТДж"), (33_800, "GJ"), (33_800 / 4.1868, "Гкал")],
)
def test_natural_gas_in_every_spelling(quantity: float, unit: str) -> None:
    # 1000 thousand m3 × 33.8e-3 TJ/thousand m3 (IPCC NCV 48 TJ/Gg at 0.7 kg/m3 as shipped) × 56.1 t/TJ
    a = one({"type": "stationary_combustion", "fuel": "natural_gas", "quantity": quantity, "unit": unit})
    assert close(a.co2_t, 1_896)


@pytest.mark.parametrize(("quantity", "unit"), [(10_000, "t"), (10_000, "т"), (10, "kt"), (10, "тыс. т"),
                                                (10_000, "tonne")])
def test_coal_in_every_mass_spelling(quantity: float, unit: str) -> None:
    a = one({"type": "stationary_combustion", "fuel": "bituminous_coal", "quantity": quantity, "unit": unit})
    assert close(a.co2_t, 24_407)  # 10 kt × 25.8 TJ/kt × 94.6 t/TJ


def test_unknown_unit_in_an_input_names_activity_field_and_forms() -> None:
    with pytest.raises(InventoryInputError) as info:
        calculate(doc({"id": "g", "type": "stationary_combustion", "fuel": "natural_gas", "quantity": 1,
                       "unit": "bushels of gas"}))
    (item,) = info.value.items
    assert item.field == "unit"
    assert item.activity_id == "g"
    assert item.message.startswith("unknown unit 'bushels of gas'; accepted:")
    assert "тыс. м3" in item.message
    assert "Value error" not in item.message
