"""MQTT in: a real mosquitto (password auth, per-device ACL on organisation and device) and the embedded amqtt
broker, into the embedded bus and Kafka, stored in SQLite and PostgreSQL."""

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
# A fresh database numbers organisation A 1 and its first device 1 (asserted by the fixtures), so mosquitto can
# know the device's account (username "<organisation id>/<device id>") in advance.
DEVICE_USER = "1/1"


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
    with running_mosquitto({"ghgwatch-bridge": BRIDGE_PASSWORD, DEVICE_USER: "device-one-password"}) as mq:
        url = f"mqtt://ghgwatch-bridge:{BRIDGE_PASSWORD}@127.0.0.1:{mq}"
        async for p in _platform(tmp_path, db_url, bus_url, mqtt_url=url):
            assert f"{p.world.org_a}/{p.device_id}" == DEVICE_USER
            bridge = p.client._transport.app.state.ctx.extras["mqtt_bridge"]  # type: ignore[attr-defined]
            await asyncio.wait_for(bridge.connected.wait(), 15)
            yield p, mq


async def _publish(port: int, topic: str, payload: bytes, user: str = DEVICE_USER,
                   password: str = "device-one-password",
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
    # A topic naming another organisation never reaches the bridge here (the broker refuses it: next test); the
    # bridge's own check, for a broker that lets it through, is tests/security/test_holes.py (hole 3).
    dead = await p.wait_dead(4, admin)
    assert sorted(str(d["reason"]) for d in dead) == ["replay", "schema", "signature", "signature"]
    assert await p.wait_stored(2) == 2  # only the good signed message


async def test_broker_refuses_other_devices_topics(mqtt_platform: tuple[Platform, int]) -> None:
    p, port = mqtt_platform
    with pytest.raises(aiomqtt.MqttError):
        await _publish(port, "ghgwatch/1/1/readings", b"{}", password="wrong")
    # Device 1 may write neither device 2's topic nor its own id under another organisation: mosquitto drops
    # both silently (ACL). They are acknowledged before the good message is sent, so they would arrive first.
    await _publish(port, f"ghgwatch/{p.world.org_a}/2/readings", json.dumps(body(p.world.sensor_a, 3)).encode())
    await _publish(port, f"ghgwatch/{p.world.org_b}/{p.device_id}/readings",
                   json.dumps(body(p.world.sensor_a, 3, offset_s=10)).encode())
    await _publish(port, f"ghgwatch/{p.world.org_a}/{p.device_id}/readings",
                   json.dumps(body(p.world.sensor_a, 2, offset_s=20)).encode())
    assert await p.wait_stored(2, within=30) == 2
    admin = await p.world.login(Role.ADMIN, None)
    assert (await p.client.get("/api/v1/deadletter", headers=admin)).json()["items"] == []
    assert await p.stored() == 2


async def test_bridge_gets_messages_sent_while_it_was_down(tmp_path: Path, db_url: str, db: Database) -> None:
    del db
    with running_mosquitto({"ghgwatch-bridge": BRIDGE_PASSWORD, DEVICE_USER: "pw-1"}) as mq:
        url = f"mqtt://ghgwatch-bridge:{BRIDGE_PASSWORD}@127.0.0.1:{mq}"
        async for p in _platform(tmp_path, db_url, "embedded:", mqtt_url=url):
            ctx = p.client._transport.app.state.ctx  # type: ignore[attr-defined]
            bridge = ctx.extras["mqtt_bridge"]
            await asyncio.wait_for(bridge.connected.wait(), 15)
            assert f"{p.world.org_a}/{p.device_id}" == DEVICE_USER
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
        # The compose mosquitto's username, "<organisation id>/<device id>", works here too; naming another
        # organisation is refused at login.
        await _publish(port, topic, json.dumps(body(p.world.sensor_a, 10, offset_s=100)).encode(),
                       user=f"{p.world.org_a}/{p.device_id}", password=p.token)
        assert await p.wait_stored(30, within=20) == 30
        for wrong in (f"{p.world.org_b}/{p.device_id}", f"{p.world.org_a}/{p.device_id}/x", "\N{SUPERSCRIPT ONE}"):
            with pytest.raises(aiomqtt.MqttError):
                await _publish(port, topic, b"{}", user=wrong, password=p.token)
        # Refused topics (another device's; its own id under another organisation) are acknowledged before the
        # good message is sent, so they would be stored first had the broker let them through.
        for user in (str(p.device_id), f"{p.world.org_a}/{p.device_id}"):
            for other in (f"ghgwatch/{p.world.org_a}/{p.device_id + 1}/readings",
                          f"ghgwatch/{p.world.org_b}/{p.device_id}/readings"):
                await _publish(port, other, json.dumps(body(p.world.sensor_a, 5, offset_s=500)).encode(),
                               user=user, password=p.token)
        await _publish(port, topic, json.dumps(body(p.world.sensor_a, 1, offset_s=900)).encode(),
                       user=str(p.device_id), password=p.token)
        assert await p.wait_stored(31, within=20) == 31
        assert await p.stored() == 31
