"""Bare formulas (plain floats in, tonnes out). The engine picks factors; these only compute.

Volumes are m3 at the stated gas reference; densities kg/m3; results in tonnes.
"""

from __future__ import annotations

from typing import Literal

DepthClass = Literal["low", "average", "high"]


def depth_class(depth_m: float | None) -> DepthClass:
    """IPCC 2006 Vol.2 Ch.4 Tier 1 underground classes: < 200 m low, 200–400 m or unknown average,
    > 400 m high, METHODOLOGY §1.1 [V: S1]."""
    if depth_m is None:
        return "average"
    if depth_m < 200:
        return "low"
    return "high" if depth_m > 400 else "average"


def overburden_class(overburden_m: float | None) -> DepthClass:
    """IPCC 2006 Vol.2 Ch.4 Tier 1 surface classes: < 25 m low, 25–50 m or unknown average, > 50 m high,
    METHODOLOGY §1.1 [V: S1, S2]."""
    if overburden_m is None:
        return "average"
    if overburden_m < 25:
        return "low"
    return "high" if overburden_m > 50 else "average"


def volume_to_t(volume_m3: float, density_kg_m3: float) -> float:
    return volume_m3 * density_kg_m3 / 1000.0


def tier1_ch4_t(coal_t: float, ef_m3_per_t: float, density_kg_m3: float) -> float:
    """CH4 [Gg] = EF [m3/t] × production [t] × 0.67·10⁻⁶ [Gg/m3] (IPCC 2006 Eq. 4.1.7 form, METHODOLOGY
    §1.1 [V: S2]); here in tonnes with the density of the stated gas reference."""
    return coal_t * ef_m3_per_t * density_kg_m3 / 1000.0


def flare_t(ch4_m3: float, density_kg_m3: float, efficiency: float, co2_per_ch4: float) -> tuple[float, float]:
    """(CO2, CH4 slip) in t: CO2 = eff × V × ρ × 2.75; slip = (1 − eff) × V × ρ.

    IPCC 2006 Vol.2 Ch.4 §4.1.3.2 methane recovery and flaring, METHODOLOGY §1.3 [M]; 0.98 [V: S5c].
    """
    ch4_t = ch4_m3 * density_kg_m3 / 1000.0
    return efficiency * ch4_t * co2_per_ch4, (1.0 - efficiency) * ch4_t


def measured_mine_t(
    ventilation_m3: float,
    drainage_m3: float,
    utilized_m3: float,
    flared_m3: float,
    density_kg_m3: float,
    efficiency: float,
    co2_per_ch4: float,
) -> tuple[float, float]:
    """(CO2, CH4) in t of a Tier 3 mine, METHODOLOGY §1.3 [V: S2, S1]:

    CH4 = (V_vent + V_drained − V_utilised − V_flared) × ρ + flare slip. The utilised methane's CO2 is
    reported under stationary combustion (1.A), not here; the flare CO2 stays in 1.B.1.a.
    """
    emitted_m3 = ventilation_m3 + drainage_m3 - utilized_m3 - flared_m3
    co2, slip = flare_t(flared_m3, density_kg_m3, efficiency, co2_per_ch4)
    return co2, emitted_m3 * density_kg_m3 / 1000.0 + slip


def combustion_t(
    energy_tj: float,
    ef_co2_t_per_tj: float,
    oxidation: float,
    ef_ch4_kg_per_tj: float,
    ef_n2o_kg_per_tj: float,
) -> tuple[float, float, float]:
    """(CO2, CH4, N2O) in t: E_CO2 = FC × NCV × EF × OF; E_CH4/N2O = FC × NCV × EF[kg/TJ] × 10⁻³.

    IPCC 2006 Vol.2 Ch.2 Eq. 2.1 and Order 371 formula 1.1 (same structure), METHODOLOGY §5 [V: S21].
    """
    return (
        energy_tj * ef_co2_t_per_tj * oxidation,
        energy_tj * ef_ch4_kg_per_tj / 1000.0,
        energy_tj * ef_n2o_kg_per_tj / 1000.0,
    )


def oxidation_from_q4(q4_percent: float) -> float:
    """Order 371 formula 1.8: OF = (100 − q4)/100, q4 the heat loss from mechanically incomplete combustion
    in % (Order 371 as encoded by a third party [?], docs/sources.md)."""
    return (100.0 - q4_percent) / 100.0


def oxidation_from_carbon(carbon_ash_t: float, carbon_fuel_t: float) -> float:
    """Order 371 formula 1.9: OF = 1 − C_ash/C_fuel (carbon in ash and slag over carbon in the fuel) [?]."""
    return 1.0 - carbon_ash_t / carbon_fuel_t


def vented_t(volume_m3: float, percent: float, density_kg_m3: float) -> float:
    """Order 371 formula 3.1: E_i [t] = FC [10³ m3] × W_i [% vol] × ρ_i [kg/m3] × 10⁻², METHODOLOGY §2.1
    [V: S21]."""
    return (volume_m3 / 1000.0) * percent * density_kg_m3 * 1e-2


def abandoned_tier1_m3(mines: int, fraction_gassy: float, ef_m3_per_mine: float) -> float:
    """CH4 [m3] = N × fraction_gassy × EF(closure period, inventory year); × CF (= density) gives mass.

    IPCC 2006 Vol.2 Ch.4 §4.1.5 Tier 1, METHODOLOGY §1.4 [V: S1]."""
    return mines * fraction_gassy * ef_m3_per_mine


def abandoned_tier2_m3(initial_m3: float, years: float, a: float, b: float) -> float:
    """Decline curve E_t = E_0 × (1 + a·T)^b, METHODOLOGY §1.4 Tier 2 [V: S1]."""
    return float(initial_m3 * (1.0 + a * years) ** b)
