"""The analytics page's forecasts tab shows each forecast mapping's latest forecast every 10 minutes ahead
(issue 14 item 5), in the viewer's language, and only the viewer's organisation's mappings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI

from ghgwatch.analytics import repository
from ghgwatch.analytics.models import Forecast, ForecastMapping
from ghgwatch.security.models import Role
from ghgwatch.settings import Settings
from ghgwatch.store import Database
from tests.conftest import World, build_world
from tests.ui.test_sessions import browser, sign_in, user


@pytest.fixture
async def ui(settings: Settings, db: Database) -> AsyncIterator[tuple[FastAPI, World]]:
    from ghgwatch.web import create_app

    application = create_app(settings, db=db, role="ui")
    async with application.router.lifespan_context(application):
        async with browser(application) as c:
            world = await build_world(c, db)
        yield application, world


async def test_the_forecasts_tab_shows_the_mappings_latest_forecast(ui: tuple[FastAPI, World]) -> None:
    app, world = ui
    origin = datetime(2026, 11, 30, 5, 0, tzinfo=UTC)
    async with world.db.transaction() as s:
        row = ForecastMapping(organization_id=world.org_a, facility_id=world.facility_a, name="Longwall 5-1 CH4",
                              target_sensor_id=world.sensor_a, inputs=[], created_by="test")
        s.add(row)
        await s.flush()
        model = await repository.add_model(
            s, name=row.model_name, kind="multivariate", organization_id=world.org_a, sensor_id=world.sensor_a,
            input_sensor_ids=[], method="linear", resolution="1m", data_start=origin - timedelta(days=3),
            data_end=origin, trained_by="test")
        s.add(Forecast(model_id=model.id, sensor_id=world.sensor_a, organization_id=world.org_a, origin=origin,
                       interval=0.9, points=[{"ts": (origin + timedelta(minutes=m)).isoformat(),
                                              "forecast": 0.5 + m / 1000, "lower": 0.4, "upper": 0.6 + m / 100}
                                             for m in range(1, 61)]))
    async with browser(app) as c:
        await sign_in(c, await user(world.db, Role.OPERATOR, world.org_a))
        page = (await c.get("/analytics?tab=forecasts")).text
        assert "Multivariate forecasts (forecast mappings)" in page and "Longwall 5-1 CH4" in page
        assert "<td>30</td><td>05:30</td><td>0.530</td><td>0.400</td><td>0.900</td>" in page
        assert "<td>60</td><td>06:00</td>" in page and "<td>5</td>" not in page
        russian = (await c.get("/analytics?tab=forecasts", headers={"Accept-Language": "ru"})).text
        assert "Многофакторные прогнозы" in russian and "Верхняя граница" in russian
    async with browser(app) as c:
        await sign_in(c, await user(world.db, Role.ADMIN, world.org_b))
        assert "Longwall 5-1 CH4" not in (await c.get(f"/analytics?tab=forecasts&facility={world.facility_a}")).text
