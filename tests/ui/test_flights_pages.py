"""The flights and lab page without a browser: what it shows, to whom, in which language (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI

from ghgwatch.security.models import Role
from ghgwatch.settings import Settings
from ghgwatch.store import Database
from ghgwatch.uav import flight_to_csv
from ghgwatch.uav.simulator import Scenario, simulate
from ghgwatch.ui._track import PALETTE, build_track
from tests.conftest import World, build_world
from tests.lab.conftest import T0, write_readings
from tests.ui.test_sessions import browser, csrf_of, sign_in, user

# A small curtain (as tests/uav uses) keeps the plume fit to well under a second.
SMALL = Scenario(rate_kg_h=20.0, wind_speed_ms=4.0, wind_from_deg=250.0, distance_m=30.0, half_width_m=30.0,
                 lowest_m=2.0, top_m=14.0, spacing_m=3.0, direction_swing_deg=4.0, turbulence=0.15,
                 vertical_turbulence=0.08)


@pytest.fixture
async def ui_app(settings: Settings, db: Database) -> AsyncIterator[FastAPI]:
    from ghgwatch.web import create_app

    application = create_app(settings, db=db, role="ui")
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def world(ui_app: FastAPI, db: Database) -> World:
    async with browser(ui_app) as c:
        return await build_world(c, db)


@pytest.fixture(scope="module")
def flight_csv() -> bytes:
    return flight_to_csv(simulate(SMALL, seed=3)).encode()


async def _signed_in(c: httpx.AsyncClient, world: World, role: Role, org: int) -> str:
    await sign_in(c, await user(world.db, role, org))
    return csrf_of((await c.get("/flights")).text)


async def test_flight_list_detail_and_record_button_by_role_and_organisation(
        ui_app: FastAPI, world: World, flight_csv: bytes) -> None:
    async with browser(ui_app) as c:
        csrf = await _signed_in(c, world, Role.ENGINEER, world.org_a)
        answer = await c.post("/api/v1/flights", headers={"X-CSRF-Token": csrf},
                              params={"facility_id": world.facility_a, "source_id": world.source_a, "method": "plume"},
                              files={"file": ("flight.csv", flight_csv, "text/csv")})
        assert answer.status_code == 201, answer.text
        flight = answer.json()
        rate = flight["quantification"]["rate_kg_h"]
        listing = (await c.get("/flights", params={"facility": world.facility_a})).text
        assert f'href="/flights/{flight["id"]}"' in listing and f"{rate:,.2f}" in listing
        assert "Gaussian plume inversion" in listing and 'id="flight-form"' in listing
        detail = await c.get(f"/flights/{flight['id']}")
        assert detail.status_code == 200
        page = detail.text
        assert "Flight track coloured by CH4 concentration" in page and "data-source-marker" in page
        assert page.count('class="sample"') >= 2 * 100  # the plan and the curtain views
        assert f"{rate:,.2f} kg/h" in page and 'id="emission-form"' in page
        assert all(colour in page for colour in PALETTE)  # the legend shows every class
        ru = await c.get(f"/flights/{flight['id']}", headers={"Accept-Language": "ru"})
        assert "Расход" in ru.text and f"{rate:.2f}".replace(".", ",") + " кг/ч" in ru.text

    async with browser(ui_app) as c:  # another organisation's engineer
        await _signed_in(c, world, Role.ENGINEER, world.org_b)
        assert (await c.get(f"/flights/{flight['id']}")).status_code == 404
        listing = (await c.get("/flights", params={"facility": world.facility_a})).text
        assert f'href="/flights/{flight["id"]}"' not in listing and "No flights yet." in listing

    for role in (Role.AUDITOR, Role.OPERATOR):  # the same organisation's auditor and operator read, without forms
        async with browser(ui_app) as c:
            await _signed_in(c, world, role, world.org_a)
            listing = (await c.get("/flights")).text
            assert f'href="/flights/{flight["id"]}"' in listing and 'id="flight-form"' not in listing, role
            page = (await c.get(f"/flights/{flight['id']}")).text
            assert "data-source-marker" in page and 'id="emission-form"' not in page, role
            assert "Record as measured emission" not in page and "Not recorded as a measured emission." in page, role
            assert 'id="lab-form"' not in (await c.get("/flights", params={"tab": "lab"})).text, role

    async with browser(ui_app) as c:  # the engineer records it; the form gives way to the emission
        csrf = await _signed_in(c, world, Role.ENGINEER, world.org_a)
        recorded = await c.post(f"/api/v1/flights/{flight['id']}/emission", json={"hours": 10},
                                headers={"X-CSRF-Token": csrf})
        assert recorded.status_code == 201, recorded.text
        page = (await c.get(f"/flights/{flight['id']}")).text
        assert f"Recorded as measured emission {recorded.json()['id']}" in page and 'id="emission-form"' not in page


async def test_refused_flight_shows_its_reason(ui_app: FastAPI, world: World) -> None:
    calm = flight_to_csv(simulate(Scenario(rate_kg_h=20.0, wind_speed_ms=0.3, distance_m=30.0, half_width_m=30.0,
                                           top_m=10.0), seed=1)).encode()
    async with browser(ui_app) as c:
        csrf = await _signed_in(c, world, Role.ADMIN, world.org_a)
        answer = await c.post("/api/v1/flights", headers={"X-CSRF-Token": csrf},
                              params={"facility_id": world.facility_a},
                              files={"file": ("calm.csv", calm, "text/csv")})
        assert answer.status_code == 201, answer.text
        assert answer.json()["refusal"] is not None
        page = (await c.get(f"/flights/{answer.json()['id']}")).text
        assert "not quantified" in page and answer.json()["refusal"]["reason"][:30] in page
        assert "A flight without a rate cannot become a measured emission." in page


async def test_lab_tab_lists_flags_and_instrument_checks_of_the_viewers_organisation(
        ui_app: FastAPI, world: World) -> None:
    # The shaft's 0-100 % sensor reads 10 % at the sample's time; the lab says 1 %: beyond 2.5 % of the span.
    await write_readings(world.db, world.sensor_a, [(T0 + timedelta(minutes=1), 10.0)])
    rows = ["sample_id,source,sampled_at,gas,concentration,unit,method,laboratory,certificate,flags",
            f"LAB-1,Shaft 1,{T0.isoformat()},ch4,1.0,%,GOST 31371.7,Lab A,C-77,",
            f"LAB-2,,{(T0 + timedelta(hours=1)).isoformat()},co2,0.3,%,,Lab A,,duplicate_vial"]
    async with browser(ui_app) as c:
        csrf = await _signed_in(c, world, Role.ENGINEER, world.org_a)
        answer = await c.post("/api/v1/lab-results", headers={"X-CSRF-Token": csrf},
                              params={"facility_id": world.facility_a},
                              files={"file": ("lab.csv", "\n".join(rows).encode(), "text/csv")})
        assert answer.status_code == 201, answer.text
        alert = answer.json()["alerts"][0]
        page = (await c.get("/flights", params={"tab": "lab", "imported": 2})).text
        assert "Imported 2 rows." in page and 'id="lab-form"' in page
        row = re.search(r'<tr data-sample="LAB-1">.*?</tr>', page, re.S)
        assert row is not None
        assert "sensor drift" in row.group(0) and "drift</strong>" in row.group(0)
        assert f'href="/alerts?id={alert}"' in row.group(0) and "certificate C-77" in row.group(0)
        assert 'data-sample="LAB-2"' in page and "duplicate_vial" in page
        ru = (await c.get("/flights", params={"tab": "lab"}, headers={"Accept-Language": "ru"})).text
        assert "дрейф датчика" in ru and "Лабораторные анализы" in ru
        # A source's own results (the monitoring page links each source here): LAB-2 names no source.
        mine = (await c.get("/flights", params={"tab": "lab", "source": world.source_a})).text
        assert 'data-sample="LAB-1"' in mine and 'data-sample="LAB-2"' not in mine
        assert f'<option value="{world.source_a}" selected>' in mine
        monitoring = (await c.get("/monitoring", params={"facility": world.facility_a})).text
        assert f'href="/flights?tab=lab&amp;source={world.source_a}"' in monitoring

    async with browser(ui_app) as c:
        await _signed_in(c, world, Role.ENGINEER, world.org_b)
        page = (await c.get("/flights", params={"tab": "lab"})).text
        assert "LAB-1" not in page and "No lab results yet." in page


def test_track_drawing_colours_marks_the_source_and_thins_long_flights() -> None:
    n = 9000
    track = {"latitude": [54.0 + i * 1e-7 for i in range(n)],
             "longitude": [86.7 + (i % 300) * 1e-5 for i in range(n)],
             "altitude_m": [2.0 + (i // 300) for i in range(n)],
             "ch4_ppm": [2.0 + (i % 300 == 150) * 5.0 for i in range(n)],  # one plume sample per pass
             "wind_speed_ms": [4.0] * n, "wind_dir_deg": [270.0] * n}
    svg = build_track(track, {"latitude": 54.0002, "longitude": 86.7005}, registry_source=(10.0, 10.0))
    assert svg.stride == 3 and len(svg.dots) == len(svg.curtain) == 3000 and svg.samples == n
    assert svg.bins[0].lower == 2.0 and svg.bins[-1].upper == 7.0
    assert svg.dots[-1].colour == PALETTE[-1] and svg.dots[0].colour == PALETTE[0]  # the plume drawn last
    assert svg.source is not None and 0 < svg.source[0] < 1000 and 0 < svg.source[1] < svg.height
    assert svg.registry_source is None  # thousands of km away: not drawn, and the view is not stretched to it
    assert svg.wind is not None and round(svg.wind["from_deg"]) == 270 and svg.wind["x2"] > svg.wind["x1"]
    assert round(svg.top_m) == 31 and svg.scale is not None and svg.scale["metres"] in (50.0, 20.0, 100.0)
    assert build_track({}).dots == []
