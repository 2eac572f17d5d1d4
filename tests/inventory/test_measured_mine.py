"""METHODOLOGY §6.2: measured mine (Tier 3) with utilisation, with flaring, and the EPA FF-1 cross-check."""

from __future__ import annotations

import pytest

from ghgwatch.inventory.crosscheck import ff1_ventilation_ch4_t, m3_per_min_to_acfm

from .conftest import close, one

MIN_PER_YEAR = 525_600
VENT = 30 * MIN_PER_YEAR  # 15,768,000 m3
DRAIN = 10 * MIN_PER_YEAR  # 5,256,000 m3
SIXTY = 0.6 * DRAIN  # 3,153,600 m3


def test_utilised_drainage_is_subtracted() -> None:
    base = {
        "type": "coal_mine_measured",
        "ventilation_ch4_m3": VENT,
        "drainage_ch4_m3": DRAIN,
        "utilized_ch4_m3": SIXTY,
        "flared_ch4_m3": 0,
        "gas_reference": "20C",
    }
    assert close(one(base).ch4_t, 11_973)
    assert close(one(base, gwp="ar4").co2e_t, 299_329)
    assert close(one(base, gwp="ar5").co2e_t, 335_249)
    assert close(one(base, gwp="ar6").co2e_t, 356_800)
    # Utilised CH4's CO2 belongs to stationary combustion, not to this fugitive activity.
    assert one(base).co2_t == 0.0


def test_flared_instead_of_utilised() -> None:
    a = one(
        {
            "type": "coal_mine_measured",
            "ventilation_ch4_m3": VENT,
            "drainage_ch4_m3": DRAIN,
            "flared_ch4_m3": SIXTY,
            "gas_reference": "20C",
        }
    )
    assert close(a.co2_t, 5_694)
    assert close(a.ch4_t - 11_973.17, 42.3, rel=2e-3)  # slip
    assert close(a.ch4_t, 12_015)
    assert close(a.co2e_t, 342_126)
    assert {f.name for f in a.factors} >= {"flare_efficiency", "ch4_to_co2_mass_ratio"}


def test_post_mining_added_when_coal_given() -> None:
    a = one(
        {
            "type": "coal_mine_measured",
            "ventilation_ch4_m3": VENT,
            "drainage_ch4_m3": DRAIN,
            "utilized_ch4_m3": SIXTY,
            "coal_t": 2_000_000,
        }
    )
    assert close(a.ch4_t, 11_973 + 3_350)


def test_flaring_activity() -> None:
    a = one({"type": "flaring", "ch4_m3": 1_000_000, "efficiency": 0.98, "gas_reference": "20C"})
    assert close(a.co2_t, 1e6 * 0.67e-3 * 0.98 * 2.75)
    assert close(a.ch4_t, 1e6 * 0.67e-3 * 0.02)
    assert a.factors[1].source == "user input"
    default = one({"type": "flaring", "ch4_m3": 1_000_000})
    assert default.factors[1].value == 0.98
    assert default.factors[1].source != "user input"


def test_vented_gas_order_371_formula_3_1() -> None:
    # E = FC [10^3 m3] × W [%] × ρ × 10^-2 = 500 × 30 × 0.67 × 0.01 = 100.5 t
    a = one({"type": "vented_gas", "volume_m3": 500_000, "ch4_percent": 30, "gas_reference": "20C"})
    assert close(a.ch4_t, 100.5)
    b = one({"type": "vented_gas", "volume_m3": 500_000, "co2_percent": 10, "gas_reference": "0C"})
    assert close(b.co2_t, 500 * 10 * 44.01 / 22.414 * 0.01)


def test_epa_ff1_quarter_matches_methodology() -> None:
    acfm = m3_per_min_to_acfm(5_000)
    assert acfm == pytest.approx(176_574, rel=1e-4)
    assert ff1_ventilation_ch4_t(acfm, 0.6, 91) == pytest.approx(2_666, rel=1e-3)


def test_epa_ff1_agrees_with_ipcc_tier3_within_2_percent() -> None:
    ipcc = one({"type": "coal_mine_measured", "ventilation_ch4_m3": VENT, "gas_reference": "20C"}).ch4_t
    assert close(ipcc, 10_565)
    acfm = m3_per_min_to_acfm(5_000)  # 5,000 m3/min air at 0.6 % CH4 = 30 m3/min CH4
    epa = sum(ff1_ventilation_ch4_t(acfm, 0.6, n) for n in (91, 91, 92, 91))
    assert close(epa, 10_694, rel=2e-3)
    assert abs(epa - ipcc) / ipcc < 0.02
    assert abs(epa - ipcc) / ipcc > 0.005  # they are independent: the density conventions differ


def test_ff1_rejects_negative() -> None:
    with pytest.raises(ValueError, match="positive"):
        ff1_ventilation_ch4_t(-1, 0.6, 91)


def test_abandoned_tier1_and_tier2() -> None:
    a = one(
        {"type": "abandoned_mines", "mines": 10, "closure_period": "1976-2000", "fraction_gassy": 0.5},
    )
    # 2025 is past the last shipped row (2016): 10 × 0.5 × 469,000 × 0.67e-3
    assert close(a.ch4_t, 10 * 0.5 * 469_000 * 0.67e-3)
    assert "row 2016 used for 2025" in a.factors[1].source
    b = one(
        {
            "type": "abandoned_mines",
            "tier": 2,
            "initial_emission_m3": 1e6,
            "years_since_closure": 5,
            "coal_rank": "bituminous",
        }
    )
    assert close(b.ch4_t, 1e6 * (1 + 3.72 * 5) ** -0.42 * 0.67e-3)
