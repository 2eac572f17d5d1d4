"""Independent cross-check: US EPA 40 CFR 98 Subpart FF, Eq. FF-1 (ventilation CH4 of a coal mine).

Kept separate from the IPCC engine on purpose (own constants, own units) so that agreement between the
two is a real check, METHODOLOGY §4 [V: S5]:

    CH4V [t] = V × MCF × (C/100) × 0.0423 × (520/T) × (P/1) × 1440 × 0.454/1000 × n

V flow in actual ft3/min, C CH4 in %, T in °R, P in atm, n days; 0.0423 lb/scf is the CH4 density at
60 °F (520 °R) and 1 atm.
"""

from __future__ import annotations

FT3_PER_M3 = 35.3147  # 1 m3 = 35.3147 ft3 (exact definition: 0.3048 m per ft)
CH4_LB_PER_SCF = 0.0423  # Eq. FF-1 constant [V: S5]
LB_TO_T = 0.454 / 1000.0  # Eq. FF-1 uses 0.454 kg/lb [V: S5]


def m3_per_min_to_acfm(flow_m3_min: float) -> float:
    return flow_m3_min * FT3_PER_M3


def ff1_ventilation_ch4_t(
    flow_acfm: float,
    ch4_percent: float,
    days: float,
    *,
    temperature_r: float = 520.0,
    pressure_atm: float = 1.0,
    moisture_correction: float = 1.0,
) -> float:
    """Eq. FF-1: CH4 liberated from one ventilation monitoring point over ``days`` days (tonnes)."""
    if min(flow_acfm, ch4_percent, days, temperature_r, pressure_atm) < 0 or temperature_r == 0:
        raise ValueError("FF-1 inputs must be positive")
    return (
        flow_acfm
        * moisture_correction
        * (ch4_percent / 100.0)
        * CH4_LB_PER_SCF
        * (520.0 / temperature_r)
        * (pressure_atm / 1.0)
        * 1440.0
        * LB_TO_T
        * days
    )


def ff1_annual_t(flow_acfm: float, ch4_percent: float, quarter_days: tuple[float, ...] = (90, 91, 92, 92)) -> float:
    """Eq. FF-2 style sum of four quarterly FF-1 values with constant flow and concentration."""
    return sum(ff1_ventilation_ch4_t(flow_acfm, ch4_percent, n) for n in quarter_days)
