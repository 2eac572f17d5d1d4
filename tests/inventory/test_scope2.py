"""Issue 13 item 13 (part): purchased electricity and heat as GHG Protocol Scope 2, location- or market-based,
with the scope on every result; Scope 2 never enters the direct total or the 296-FZ check.

The grid factors here are TEST VALUES in a user factor set written by the test (no grid factor has a source
in the project yet): they only check that factors are taken per region and per year.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ghgwatch.inventory import InventoryInputError, calculate
from ghgwatch.reports import build_annual_report

from .conftest import close, doc

SRC = {"document": "test values (not a real grid factor)"}
GRID = {
    "name": "grid-test", "version": "1", "description": "test values",
    "factors": [
        {"name": "grid.electricity.RU-KEM", "value": 0.5, "unit": "t CO2/MWh", "status": "user",
         "valid_from": "2024-01-01", "valid_to": "2024-12-31", "source": SRC},
        {"name": "grid.electricity.RU-KEM", "value": 0.4, "unit": "t CO2/MWh", "status": "user",
         "valid_from": "2025-01-01", "valid_to": "2025-12-31", "source": SRC},
        {"name": "grid.heat.RU-KEM", "value": 0.3, "unit": "t CO2/MWh", "status": "user",
         "valid_from": "2025-01-01", "source": SRC},
        {"name": "grid.residual.electricity.RU-KEM", "value": 0.6, "unit": "t CO2/MWh", "status": "user",
         "valid_from": "2025-01-01", "source": SRC},
    ],
}


def _calc(tmp_path: Path, *activities: dict[str, Any], year: int = 2025) -> Any:
    (tmp_path / "grid.json").write_text(json.dumps(GRID))
    return calculate({**doc(*activities), "year": year, "factor_sets": ["grid.json"]}, base_dir=tmp_path)


def test_location_based_by_region_and_year(tmp_path: Path) -> None:
    act = {"id": "e", "type": "purchased_electricity", "quantity": 1000, "unit": "MWh", "region": "RU-KEM"}
    assert close(_calc(tmp_path, act).activities[0].co2_t, 400, rel=1e-12)  # 1,000 MWh × 0.4 (2025)
    assert close(_calc(tmp_path, act, year=2024).activities[0].co2_t, 500, rel=1e-12)  # × 0.5 (2024)


def test_heat_in_gcal(tmp_path: Path) -> None:
    a = _calc(tmp_path, {"id": "h", "type": "purchased_heat", "quantity": 1000, "unit": "Гкал",
                         "region": "RU-KEM"}).activities[0]
    # 1,000 Gcal = 4,186.8 GJ = 1,163 MWh × 0.3 t/MWh = 348.9 t CO2
    assert close(a.co2_t, 348.9, rel=1e-12)
    assert a.scope == 2 and a.category == "Scope 2"


def test_market_based(tmp_path: Path) -> None:
    contract = {"id": "m", "type": "purchased_electricity", "quantity": 1000, "unit": "MWh", "method": "market",
                "contractual_ef_t_co2_per_mwh": 0.0}  # e.g. a renewable-energy certificate
    residual = {"id": "r", "type": "purchased_electricity", "quantity": 1000, "unit": "MWh", "method": "market",
                "region": "RU-KEM"}
    result = _calc(tmp_path, contract, residual)
    assert result.activities[0].co2_t == 0
    assert close(result.activities[1].co2_t, 600, rel=1e-12)  # residual mix 0.6


def test_scope2_is_beside_the_direct_total(tmp_path: Path) -> None:
    result = _calc(tmp_path,
                   {"id": "d", "type": "stationary_combustion", "fuel": "diesel", "quantity": 10, "unit": "t"},
                   {"id": "e", "type": "purchased_electricity", "quantity": 1000, "unit": "MWh",
                    "region": "RU-KEM"})
    assert [a.scope for a in result.activities] == [1, 2]
    out = result.to_dict()
    # Diesel 0.01 kt × 43.0 TJ/kt × 74.1 t/TJ = 31.863 t CO2 (scope 1); electricity 400 t (scope 2)
    assert close(out["totals"]["co2_t"], 31.863, rel=1e-9)
    assert close(out["scope2_totals"]["co2_t"], 400, rel=1e-12)
    assert out["fz296"]["total_co2e_t"] < 400  # the 296-FZ check counts direct emissions only
    assert [a["scope"] for a in out["activities"]] == [1, 2]
    report = build_annual_report(out, "en")
    total = next(s for s in report.sections if s.key == "total")
    scope2 = [r for r in total.rows if str(r[0]).startswith("Scope 2")]
    assert scope2 == [["Scope 2 (indirect, not in the total), t CO2: Purchased electricity (Scope 2) (e)",
                       pytest.approx(400)]]
    by_cat = next(s for s in report.sections if s.key == "by_category")
    assert all(r[0] != "Scope 2" for r in by_cat.rows)


@pytest.mark.parametrize(("activity", "field", "words"), [
    ({"region": "RU-XYZ"}, "region", "no grid factor grid.electricity.RU-XYZ valid in 2025"),
    ({}, "region", "give the region"),
    ({"method": "market", "region": "RU-XYZ"}, "contractual_ef_t_co2_per_mwh", "residual-mix factor"),
])
def test_missing_factor_names_what_to_give(tmp_path: Path, activity: dict[str, Any], field: str,
                                           words: str) -> None:
    with pytest.raises(InventoryInputError) as info:
        _calc(tmp_path, {"id": "e", "type": "purchased_electricity", "quantity": 1, "unit": "MWh", **activity})
    (item,) = info.value.items
    assert item.field == field and words in item.message


def test_mass_unit_for_electricity_is_refused() -> None:
    with pytest.raises(InventoryInputError) as info:
        calculate(doc({"id": "e", "type": "purchased_electricity", "quantity": 1, "unit": "t",
                       "ef_t_co2_per_mwh": 0.5}))
    assert info.value.items[0].field == "unit" and "energy" in info.value.items[0].message
