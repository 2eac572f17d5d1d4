"""METHODOLOGY §5 worked combustion checks."""

from __future__ import annotations

import pytest

from .conftest import close, one


def test_bituminous_coal() -> None:
    a = one({"type": "stationary_combustion", "fuel": "bituminous_coal", "quantity": 10_000, "unit": "t"})
    assert close(a.co2_t, 24_407)  # 10 kt × 25.8 TJ/kt × 94.6 t/TJ × 1.0
    assert close(a.ch4_t, 258 * 10 / 1000)  # 258 TJ × 10 kg/TJ
    assert close(a.n2o_t, 258 * 1.5 / 1000)
    assert close(a.co2e_t, a.co2_t + a.ch4_t * 28 + a.n2o_t * 265, rel=1e-12)


def test_diesel() -> None:
    a = one({"type": "stationary_combustion", "fuel": "diesel", "quantity": 100, "unit": "t"})
    assert close(a.co2_t, 318.6)


def test_natural_gas_with_explicit_ncv() -> None:
    a = one(
        {
            "type": "stationary_combustion",
            "fuel": "natural_gas",
            "quantity": 1_000_000,
            "unit": "m3",
            "ncv_tj_per_unit": 33.8e-6,
        }
    )
    assert close(a.co2_t, 1_896)
    ncv = next(f for f in a.factors if f.name.endswith(".ncv"))
    assert ncv.source == "user input"
    assert ncv.unit == "TJ/m3"


def test_natural_gas_default_ncv_and_energy_units() -> None:
    a = one(
        {"type": "stationary_combustion", "fuel": "natural_gas", "quantity": 1_000, "unit": "thousand_m3"}
    )
    assert close(a.co2_t, 1_896)
    b = one({"type": "stationary_combustion", "fuel": "natural_gas", "quantity": 33_800, "unit": "GJ"})
    assert close(b.co2_t, 1_896)


def test_ru371_uses_1996_oxidation_factors() -> None:
    a = one(
        {"type": "stationary_combustion", "fuel": "bituminous_coal", "quantity": 10_000, "unit": "t"},
        methodology="ru371",
        gwp="ru2979r",
    )
    assert close(a.co2_t, 24_406.8 * 0.98)
    of = next(f for f in a.factors if f.name == "oxidation.solid")
    assert "[?]" in of.source


@pytest.mark.parametrize("sector", ["energy", "manufacturing"])
def test_sector_changes_coal_ch4_factor(sector: str) -> None:
    a = one(
        {
            "type": "stationary_combustion",
            "fuel": "bituminous_coal",
            "quantity": 1000,
            "unit": "t",
            "sector": sector,
        }
    )
    assert close(a.ch4_t, 25.8 * (1 if sector == "energy" else 10) / 1000)
