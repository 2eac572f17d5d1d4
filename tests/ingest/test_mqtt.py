"""MQTT in: a real mosquitto (password auth, per-device ACL) and the embedded amqtt broker, into the
embedded bus and Kafka, stored in SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiomqtt
import pytest

from ghgwatch.security.models import Role
from ghgwatch.store import Database
from tests.ingest.conftest import Platform, _platform
from tests.support.mosquitto import running_mosquitto

pytestmark = pytest.mark.mqtt
T0 = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=2)
BRIDGE_PASSWORD = "bridge-secret"


def body(sensor: int, n: int, offset_s: int = 0) -> dict[str, object]:
    return {"readings": [{"sensor": sensor, "ts": (T0 + timedelta(seconds=offset_s + i)).isoformat(), "value": 0.3}
                         for i in range(n)]}


def envelope(secret: str, payload: dict[str, object], ts: float | None = None) -> bytes:
    text = json.dumps(payload)
    stamp = str(int(ts if ts is not None else time.time()))
    mac = hmac.new(secret.encode(), f"{stamp}.{text}".encode(), hashlib.sha256).hexdigest()
    return json.dumps({"timestamp": stamp, "signature": f"sha256={mac}", "payload": text}).encode()


@pytest.fixture(params=["embedded", pytest.param("kafka", marks=pytest.mark.kafka)])
async def mqtt_platform(request: pytest.FixtureRequest, tmp_path: Path, db_url: str,
                        db: Database) -> AsyncIterator[tuple[Platform, int]]:
    del db
    bus_url = "embedded:" if request.param == "embedded" else request.getfixturevalue("tansu_url")
    # Device ids start at 1 in a fresh database, so mosquitto can know device 1's password in advance.
    with running_mosquitto({"ghgwatch-bridge": BRIDGE_PASSWORD, "1": "device-one-password"}) as mq:
        url = f"mqtt://ghgwatch-bridge:{BRIDGE_PASSWORD}@127.0.0.1:{mq}"
        async for p in _platform(tmp_path, db_url, bus_url, mqtt_url=url):
            bridge = p.client._transport.app.state.ctx.extras["mqtt_bridge"]  # type: ignore[attr-defined]
            await asyncio.wait_for(bridge.connected.wait(), 15)
            yield p, mq


async def _publish(port: int, topic: str, payload: bytes, user: str = "1", password: str = "device-one-password",
                   ) -> None:
    async with aiomqtt.Client("127.0.0.1", port, username=user, password=password) as client:
        await client.publish(topic, payload, qos=1)


async def test_mqtt_readings_are_stored(mqtt_platform: tuple[Platform, int]) -> None:
    p, port = mqtt_platform
    topic = f"ghgwatch/{p.world.org_a}/{p.device_id}/readings"
    assert p.device_id == 1
    for k in range(5):
        await _publish(port, topic, json.dumps(body(p.world.sensor_a, 100, offset_s=k * 100)).encode())
    assert await p.wait_stored(500, within=30) == 500


async def test_mqtt_rejections_go_to_dead_letters(mqtt_platform: tuple[Platform, int]) -> None:
    p, port = mqtt_platform
    admin = await p.world.login(Role.ADMIN, None)
    topic = f"ghgwatch/{p.world.org_a}/{p.device_id}/readings"
    await _publish(port, topic, b"{broken")
    await _publish(port, topic, envelope("wrong-secret", body(p.world.sensor_a, 1)))
    signed = envelope(p.hmac_secret, body(p.world.sensor_a, 2, offset_s=900))
    await _publish(port, topic, signed)
    await _publish(port, topic, signed)  # a replay
    await _publish(port, topic, envelope(p.hmac_secret, body(p.world.sensor_a, 1), ts=time.time() - 3600))
    await _publish(port, f"ghgwatch/{p.world.org_b}/{p.device_id}/readings",  # not this device's organisation
                   json.dumps(body(p.world.sensor_a, 1)).encode())
    dead = await p.wait_dead(5, admin)
    assert sorted(str(d["reason"]) for d in dead) == ["auth", "replay", "schema", "signature", "signature"]
    assert await p.wait_stored(2) == 2  # only the good signed message


async def test_broker_refuses_other_devices_topics(mqtt_platform: tuple[Platform, int]) -> None:
    p, port = mqtt_platform
    with pytest.raises(aiomqtt.MqttError):
        await _publish(port, "ghgwatch/1/1/readings", b"{}", password="wrong")
    # Device 1 may not write device 2's topic: mosquitto drops it silently (ACL), so nothing arrives.
    await _publish(port, f"ghgwatch/{p.world.org_a}/2/readings", json.dumps(body(p.world.sensor_a, 3)).encode())
    await asyncio.sleep(1.0)
    assert await p.stored() == 0


async def test_bridge_gets_messages_sent_while_it_was_down(tmp_path: Path, db_url: str, db: Database) -> None:
    del db
    with running_mosquitto({"ghgwatch-bridge": BRIDGE_PASSWORD, "1": "pw-1"}) as mq:
        url = f"mqtt://ghgwatch-bridge:{BRIDGE_PASSWORD}@127.0.0.1:{mq}"
        async for p in _platform(tmp_path, db_url, "embedded:", mqtt_url=url):
            ctx = p.client._transport.app.state.ctx  # type: ignore[attr-defined]
            bridge = ctx.extras["mqtt_bridge"]
            await asyncio.wait_for(bridge.connected.wait(), 15)
            await bridge.stop()  # the persistent session keeps QoS 1 messages for the bridge meanwhile
            topic = f"ghgwatch/{p.world.org_a}/{p.device_id}/readings"
            await _publish(mq, topic, json.dumps(body(p.world.sensor_a, 50)).encode(), password="pw-1")
            bridge.start()
            assert await p.wait_stored(50, within=30) == 50


async def test_embedded_broker_authenticates_devices_by_token(tmp_path: Path, db_url: str, db: Database) -> None:
    del db
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    async for p in _platform(tmp_path, db_url, "embedded:", mqtt_url="", mqtt_port=port):
        ctx = p.client._transport.app.state.ctx  # type: ignore[attr-defined]
        await asyncio.wait_for(ctx.extras["mqtt_bridge"].connected.wait(), 15)
        topic = f"ghgwatch/{p.world.org_a}/{p.device_id}/readings"
        await _publish(port, topic, json.dumps(body(p.world.sensor_a, 20)).encode(), user=str(p.device_id),
                       password=p.token)
        assert await p.wait_stored(20, within=20) == 20
        with pytest.raises(aiomqtt.MqttError):
            await _publish(port, topic, b"{}", user=str(p.device_id), password=p.token + "x")
        await _publish(port, f"ghgwatch/{p.world.org_a}/{p.device_id + 1}/readings",
                       json.dumps(body(p.world.sensor_a, 5, offset_s=500)).encode(), user=str(p.device_id),
                       password=p.token)
        await asyncio.sleep(1.0)
        assert await p.stored() == 20
