"""Order 371 routes through stored activity data and a ru371 run (issue 13 items 4 and 7).

Hand-computed from the rows of Order 371 as encoded by a third party ([?], docs/sources.md):
- Table 1.1 row 67, natural gas: k 1.129 t c.e. per thousand m3, EF 1.59 t CO2 per t c.e.; OF gas 0.995;
- Table 1.1 row 27, Kuznetsk run-of-mine coal: NCV 25.4 TJ/kt, EF 91.9 t CO2/TJ; OF solid 0.98;
- Table 2.1 row 3, coal-seam degassing gas flared: 1.6294 t CO2 and 0.0178 t CH4 per thousand m3;
- Table 3.1 row 4, coal-seam degassing gas: CH4 76.0 %, CO2 10.6 %; Table 1.2 row 3 (20 °C): 0.668, 1.8393 kg/m3.
"""

from __future__ import annotations

import httpx
import pytest

from ghgwatch.security.models import Role
from tests.conftest import World

RUNS = "/api/v1/inventory/runs"
GAS = "Газ горючий природный (естественный)"
KUZ = "Рядовой уголь: кузнецкий"


async def _add(client: httpx.AsyncClient, headers: dict[str, str], world: World, kind: str,
               data: dict[str, object]) -> httpx.Response:
    return await client.post("/api/v1/activity-data", headers=headers, json={
        "facility_id": world.facility_a, "period_start": "2025-01-01", "period_end": "2025-12-31",
        "activity_type": kind, "data": data})


async def test_ru371_run_with_units_as_written(client: httpx.AsyncClient, world: World) -> None:
    eng = await world.login(Role.ENGINEER, world.org_a)
    rows = {
        "gas": ("stationary_combustion", {"fuel": GAS, "quantity": 2_000, "unit": "тыс. м3", "route": "tce"}),
        "coal": ("stationary_combustion", {"fuel": KUZ, "quantity": 10, "unit": "тыс. т"}),
        "flare": ("gas_flaring", {"gas_type": "coal_seam_gas", "quantity": 1.5, "unit": "млн м3"}),
        "vent": ("vented_gas", {"gas_type": "coal_seam_gas", "volume_m3": 100_000}),
    }
    ids = {}
    for key, (kind, data) in rows.items():
        answer = await _add(client, eng, world, kind, data)
        assert answer.status_code == 201, answer.text
        ids[f"ad-{answer.json()['id']}"] = key
    answer = await client.post(RUNS, headers=eng, json={"organization_id": world.org_a, "year": 2025,
                                                        "methodology": "ru371", "gwp": "ar5"})
    assert answer.status_code == 201, answer.text
    result = answer.json()["result"]
    got = {ids[a["id"]]: a for a in result["activities"]}
    # 2,000 thousand m3 × 1.129 = 2,258 t c.e. × 1.59 = 3,590.22 × 0.995 = 3,572.2689 t CO2
    assert got["gas"]["co2_t"] == pytest.approx(3572.2689, rel=1e-9)
    # 10 kt × 25.4 TJ/kt = 254 TJ × 91.9 = 23,342.6 × 0.98 = 22,875.748 t CO2
    assert got["coal"]["co2_t"] == pytest.approx(22875.748, rel=1e-9)
    # 1,500 thousand m3 × 1.6294 = 2,444.1 t CO2; × 0.0178 = 26.7 t CH4
    assert got["flare"]["co2_t"] == pytest.approx(2444.1, rel=1e-9)
    assert got["flare"]["ch4_t"] == pytest.approx(26.7, rel=1e-9)
    # 100 thousand m3 × 76.0 × 0.668 × 1e-2 = 50.768 t CH4; × 10.6 × 1.8393 × 1e-2 = 19.49658 t CO2
    assert got["vent"]["ch4_t"] == pytest.approx(50.768, rel=1e-9)
    assert got["vent"]["co2_t"] == pytest.approx(19.49658, rel=1e-9)
    assert result["totals"]["co2_t"] == pytest.approx(3572.2689 + 22875.748 + 2444.1 + 19.49658, rel=1e-9)
    assert result["totals"]["ch4_t"] == pytest.approx(26.7 + 50.768, rel=1e-9)


async def test_unknown_unit_is_a_422_naming_field_and_forms(client: httpx.AsyncClient, world: World) -> None:
    eng = await world.login(Role.ENGINEER, world.org_a)
    answer = await _add(client, eng, world, "stationary_combustion",
                        {"fuel": GAS, "quantity": 1, "unit": "gallonz"})
    assert answer.status_code == 422, answer.text
    (error,) = answer.json()["errors"]
    assert error["loc"] == ["data", "unit"]
    assert error["msg"].startswith("unknown unit 'gallonz'; accepted: t, tonne, т")
    assert "тыс. м3" in error["msg"] and "Гкал" in error["msg"]
