"""Issue 10, cluster mode: readings accepted over MQTT and CoAP reach the accept lane exactly like HTTP ones.

An ``mqtt`` replica (its bridge on a real mosquitto) or a ``coap`` replica (UDP on loopback), an ``api`` replica (the
REST API and an SSE hub fed by ``alerts.v1``) and no pipeline replica at all, on the Kafka-protocol broker (tansu)
and the test database: nothing stores or judges the readings after the bus, so the alarm of an exceedance sent over
MQTT or CoAP can only come from the accept lane of the replica that accepted it (alerts/accept_lane.py). Without the
lane in those roles the exceedance waited for a pipeline replica (here: for ever).
"""

from __future__ import annotations

import asyncio
import json
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
from tests.alerts.platform.test_cluster_relay import FAST, SECRET
from tests.conftest import build_world
from tests.support.net import free_udp_port

from ghgwatch.alerts.accept_lane import EXTRA_KEY, AcceptLane
from ghgwatch.alerts.hub import Subscription, hub_of
from ghgwatch.alerts.models import Alert
from ghgwatch.security import service
from ghgwatch.security.models import Role
from ghgwatch.security.principal import SYSTEM
from ghgwatch.settings import build_settings
from ghgwatch.store import Database

pytestmark = [pytest.mark.kafka]


@asynccontextmanager
async def replica(role: str, data_dir: Path, db_url: str, bus_url: str,
                  **overrides: Any) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    from ghgwatch.roles import build_role_app

    settings = build_settings(data_dir=data_dir, db={"url": db_url}, bus={"url": bus_url},
                              security={"jwt_secret": SECRET}, **overrides)
    app = build_role_app(settings, role)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield app, client


async def _first(sub: Subscription, sensor: int, within_s: float = 60.0) -> dict[str, Any] | None:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        event = await sub.get(timeout_s=0.2)
        if event is not None and event["alert"]["sensor_id"] == sensor:
            return event
    return None


@pytest.mark.parametrize("transport", [pytest.param("mqtt", marks=pytest.mark.mqtt), "coap"])
async def test_an_exceedance_sent_over_mqtt_or_coap_opens_its_alert_with_no_pipeline_running(
        tmp_path: Path, db_url: str, db: Database, transport: str) -> None:
    import aiomqtt
    from tests.support.coap import coap_client
    from tests.support.mosquitto import running_mosquitto
    from tests.support.tansu import running_tansu

    with running_tansu() as broker, running_mosquitto(None) as mqtt_port:
        bus_url = f"{broker.url}?partitions=3&replication=1&{FAST}"
        coap_port = free_udp_port()
        async with AsyncExitStack() as stack:
            api, client = await stack.enter_async_context(replica("api", tmp_path / "a", db_url, bus_url))
            ingest, _ = await stack.enter_async_context(replica(
                transport, tmp_path / "i", db_url, bus_url, mqtt={"url": f"mqtt://127.0.0.1:{mqtt_port}"},
                coap={"host": "127.0.0.1", "port": coap_port}))
            extras = ingest.state.ctx.extras
            assert "alerts" not in extras and "pipeline" not in extras  # no engine anywhere
            lane: AcceptLane | None = extras.get(EXTRA_KEY)  # None before the fix: the role had no accept lane
            world = await build_world(client, db)
            async with db.transaction() as s:  # (this process holds the last replica's cipher for the token)
                issued = await service.create_device(s, SYSTEM, organization_id=world.org_a, name="gw")
            engineer = await world.login(Role.ENGINEER, world.org_a)
            answer = await client.post("/api/v1/sensors", headers=engineer, json={
                "source_id": world.source_a, "name": "CH4 longwall outgoing", "kind": "methane", "unit": "%",
                "location": "longwall_outgoing", "expected_interval_s": 10})
            assert answer.status_code == 201, answer.text
            sensor = answer.json()["id"]
            # Registered through the api replica: the ingest replica's sensor cache learns it on its next reload (at
            # most 5 s); a reading sent sooner is refused as from an unknown sensor (seen once), so reload it now.
            extras["sensors"].invalidate()
            body = json.dumps({"readings": [{"sensor": sensor, "ts": datetime.now(UTC).isoformat(), "value": 2.5}]})
            async with hub_of(extras).subscribe(world.org_a) as here, \
                    hub_of(api.state.ctx.extras).subscribe(world.org_a) as there:
                if transport == "mqtt":
                    await asyncio.wait_for(extras["mqtt_bridge"].connected.wait(), 30)
                    async with aiomqtt.Client("127.0.0.1", mqtt_port) as device:
                        await device.publish(f"ghgwatch/{world.org_a}/{issued.device.id}/readings", body, qos=1)
                else:
                    async with coap_client("127.0.0.1", extras["coap_server"].port) as coap:
                        sent = await coap.request(body.encode(), token=issued.token)
                    assert sent.body == {"accepted": 1, "rejected": []}, sent.body
                opened = await _first(here, sensor)
                assert opened is not None, f"no alarm from the {transport} replica (lane {lane})"
                assert opened["event"] == "opened"
                assert (opened["alert"]["severity"], opened["alert"]["reading_value"]) == ("alarm", 2.5)
                relayed = await _first(there, sensor)  # published to alerts.v1 like an alarm of an HTTP reading
                assert relayed is not None and relayed["alert"]["id"] == opened["alert"]["id"]
            assert lane is not None and lane.opened == 1
            async with db.sessions() as s:
                rows = (await s.execute(select(Alert.id, Alert.state).where(Alert.sensor_id == sensor))).all()
            assert [tuple(r) for r in rows] == [(opened["alert"]["id"], "open")]
