"""Issue 10, cluster mode: one pipeline replica and two api replicas on the Kafka-protocol broker (tansu) and
the test database. A reading posted to api #1 is judged by the pipeline replica; the SSE hub of api #2 (what its
``/api/v1/alerts/stream`` clients read) receives the alarm through ``alerts.v1``. The database holds at most one
unresolved alert per (sensor, rule) whatever the number of replicas."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from tests.conftest import build_world

from ghgwatch.alerts.hub import hub_of
from ghgwatch.alerts.models import Alert
from ghgwatch.alerts.relay import EXTRA_KEY, AlertRelay
from ghgwatch.security import service
from ghgwatch.security.models import Role
from ghgwatch.security.principal import SYSTEM
from ghgwatch.settings import build_settings
from ghgwatch.store import Database

pytestmark = [pytest.mark.kafka]
FAST = "consumer.session.timeout.ms=2000&consumer.heartbeat.interval.ms=500"
SECRET = "test-secret-key-that-is-long-enough-for-hs256"


@asynccontextmanager
async def replica(role: str, data_dir: Path, db_url: str, bus_url: str) -> AsyncIterator[tuple[FastAPI,
                                                                                               httpx.AsyncClient]]:
    from ghgwatch.roles import build_role_app

    settings = build_settings(data_dir=data_dir, db={"url": db_url}, bus={"url": bus_url},
                              security={"jwt_secret": SECRET})
    app = build_role_app(settings, role)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield app, client


async def test_sse_hub_of_a_second_api_replica_hears_the_alarm_of_a_reading_posted_to_the_first(
        tmp_path: Path, db_url: str, db: Database) -> None:
    from tests.support.tansu import running_tansu

    with running_tansu() as broker:
        bus_url = f"{broker.url}?partitions=3&replication=1&{FAST}"
        async with AsyncExitStack() as stack:
            _pipe, _ = await stack.enter_async_context(replica("pipeline", tmp_path / "p", db_url, bus_url))
            api1, client1 = await stack.enter_async_context(replica("api", tmp_path / "a1", db_url, bus_url))
            api2, client2 = await stack.enter_async_context(replica("api", tmp_path / "a2", db_url, bus_url))
            assert "alerts" not in api2.state.ctx.extras  # the rule engine runs only in the pipeline replica
            relay: AlertRelay = api2.state.ctx.extras[EXTRA_KEY]
            assert "alerts_relay" not in _pipe.state.ctx.extras

            world = await build_world(client1, db)
            async with db.transaction() as s:
                token = (await service.create_device(s, SYSTEM, organization_id=world.org_a, name="gw")).token
            engineer = await world.login(Role.ENGINEER, world.org_a)
            answer = await client1.post("/api/v1/sensors", headers=engineer, json={
                "source_id": world.source_a, "name": "CH4 longwall outgoing", "kind": "methane", "unit": "%",
                "location": "longwall_outgoing", "expected_interval_s": 10})
            assert answer.status_code == 201, answer.text
            sensor = answer.json()["id"]
            api1.state.ctx.extras["sensors"].invalidate()

            events: list[dict[str, Any]] = []
            other_org: list[dict[str, Any]] = []
            async with hub_of(api2.state.ctx.extras).subscribe(world.org_a) as sub, \
                    hub_of(api2.state.ctx.extras).subscribe(world.org_b) as sub_b:
                body = {"readings": [{"sensor": sensor, "ts": datetime.now(UTC).isoformat(), "value": 2.5}]}
                answer = await client1.post("/api/v1/readings", json=body,
                                            headers={"Authorization": f"Bearer {token}"})
                assert answer.status_code == 202, answer.text
                deadline = time.monotonic() + 60
                while not any(e["alert"]["sensor_id"] == sensor for e in events) and time.monotonic() < deadline:
                    event = await sub.get(timeout_s=0.5)
                    if event is not None:
                        events.append(event)
                while (event := await sub_b.get(timeout_s=0)) is not None:
                    other_org.append(event)
            mine = [e for e in events if e["alert"]["sensor_id"] == sensor]
            assert mine, f"api #2 heard nothing (relayed {relay.relayed}, skipped {relay.skipped})"
            assert mine[0]["event"] == "opened" and mine[0]["alert"]["severity"] == "alarm"
            assert mine[0]["alert"]["reading_value"] == 2.5
            assert other_org == []  # events stay within their organisation
            listed = (await client2.get("/api/v1/alerts", headers=engineer, params={"sensor_id": sensor})).json()
            assert [a["id"] for a in listed["items"]] == [mine[0]["alert"]["id"]]

    # One unresolved alert per (sensor, rule), enforced by the database (migration 0014).
    async with db.sessions() as s:
        first = (await s.execute(select(Alert).where(Alert.sensor_id == sensor))).scalar_one()
    columns = {c.key: getattr(first, c.key) for c in Alert.__table__.columns if c.key != "id"}
    with pytest.raises(IntegrityError):
        async with db.transaction() as s:
            s.add(Alert(**columns))
