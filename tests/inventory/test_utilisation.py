"""Issue 13 item 6: utilised drainage methane subtracted from the emission, its combustion CO2 under 1.A.

Hand-computed from METHODOLOGY §6.2 (30 m3/min ventilation + 10 m3/min drainage CH4 for a year, 60 % of the
drainage utilised) with the ipcc2006 set: CH4 density 0.67 kg/m3 at 20 °C, CO2/CH4 mass ratio 2.75, flare
efficiency 0.98 (METHODOLOGY §0, §1.3).
"""

from __future__ import annotations

import pytest

from ghgwatch.inventory import InventoryInputError, calculate

from .conftest import close, doc, one

VENT, DRAIN, USED = 15_768_000.0, 5_256_000.0, 3_153_600.0  # m3 CH4 per year (§6.2)


def test_utilised_methane_is_subtracted() -> None:
    a = one({"type": "coal_mine_measured", "ventilation_ch4_m3": VENT, "drainage_ch4_m3": DRAIN,
             "utilized_ch4_m3": USED})
    # (15,768,000 + 5,256,000 − 3,153,600) m3 × 0.67 kg/m3 = 11,973.168 t CH4 (§6.2: 11,973 t)
    assert close(a.ch4_t, 11_973.168, rel=1e-9)
    assert a.co2_t == 0  # the utilised gas's CO2 belongs to 1.A, not to the mine's fugitives


def test_combustion_of_utilised_methane_complete_by_default() -> None:
    a = one({"type": "methane_utilisation", "ch4_m3": USED})
    # 3,153,600 m3 × 0.67 kg/m3 = 2,112.912 t CH4 burned × 2.75 = 5,810.508 t CO2, no slip
    assert close(a.co2_t, 5_810.508, rel=1e-9)
    assert a.ch4_t == 0
    assert a.category == "1.A"
    eff = next(f for f in a.factors if f.name == "combustion_efficiency")
    assert eff.value == 1.0 and "complete combustion assumed" in eff.source


def test_combustion_of_utilised_methane_with_an_efficiency() -> None:
    a = one({"type": "methane_utilisation", "ch4_m3": USED, "efficiency": 0.98})
    # §6.2: 0.98 × 2,112.9 t × 2.75 = 5,694 t CO2; slip 0.02 × 2,112.912 = 42.25824 t CH4
    assert close(a.co2_t, 0.98 * 2_112.912 * 2.75, rel=1e-9)
    assert close(a.co2_t, 5_694, rel=1e-4)
    assert close(a.ch4_t, 42.25824, rel=1e-9)


def test_mine_and_its_utilisation_together() -> None:
    result = calculate(doc(
        {"id": "m", "type": "coal_mine_measured", "ventilation_ch4_m3": VENT, "drainage_ch4_m3": DRAIN,
         "utilized_ch4_m3": USED},
        {"id": "u", "type": "methane_utilisation", "ch4_m3": USED},
        gwp="ar5",
    ))
    totals = result.totals()
    assert close(totals["ch4_t"], 11_973.168, rel=1e-9)
    assert close(totals["co2_t"], 5_810.508, rel=1e-9)
    # CO2e AR5 (CH4 28): 11,973.168 × 28 + 5,810.508 = 341,059.212 t
    assert close(totals["co2e_t"], 341_059.212, rel=1e-9)


def test_negative_utilised_volume_is_refused() -> None:
    with pytest.raises(InventoryInputError) as info:
        calculate(doc({"id": "u", "type": "methane_utilisation", "ch4_m3": -1}))
    assert info.value.items[0].field == "ch4_m3"
