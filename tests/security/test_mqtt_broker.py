"""Hole 13 and MQTT over TLS: the mosquitto that docker-compose ships (its own configuration and ACL file, only
paths and ports replaced) gives every device an account of its own, lets a device write only its own topic and
only the bridge read, and serves MQTT over TLS, over which the bridge ingests into SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiomqtt
import pytest

from ghgwatch.store import Database
from tests.ingest.conftest import _platform
from tests.support.mosquitto import compose_mosquitto

pytestmark = pytest.mark.mqtt
BRIDGE = "ghgwatch-bridge"
T0 = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=1)


def _client(port: int, user: str | None, password: str | None, **kw: object) -> aiomqtt.Client:
    return aiomqtt.Client("127.0.0.1", port, username=user, password=password, **kw)  # type: ignore[arg-type]


async def _next_payload(bridge: aiomqtt.Client) -> tuple[str, bytes]:
    async for message in bridge.messages:
        return str(message.topic), bytes(message.payload)  # type: ignore[arg-type]
    raise AssertionError("the subscription ended")


async def test_a_device_writes_only_its_own_topic_and_only_the_bridge_reads() -> None:
    with compose_mosquitto({BRIDGE: "bridge-pw", "1": "pw-1", "2": "pw-2"}) as broker:
        async with _client(broker.port, BRIDGE, "bridge-pw") as bridge, \
                _client(broker.port, "2", "pw-2") as other, _client(broker.port, "1", "pw-1") as device:
            await bridge.subscribe("ghgwatch/+/+/readings", qos=1)
            await other.subscribe("ghgwatch/#", qos=1)  # granted, but each message is checked against read rights
            # Denied first, then allowed, on one connection: the broker handles them in order, so the bridge
            # would get a denied one before the marker if the ACL let it through.
            await device.publish("ghgwatch/7/2/readings", b"as device 2", qos=1)
            await device.publish("ghgwatch/7/1/status", b"another topic of its own id", qos=1)
            await device.publish("ghgwatch/7/1/readings", b"marker", qos=1)
            got = await asyncio.wait_for(_next_payload(bridge), 10)
            assert got == ("ghgwatch/7/1/readings", b"marker")
            # The broker sent the marker to every reader before it answers this later request of device 2's,
            # so a marker device 2 could read would be in its queue by now.
            await other.subscribe("ghgwatch/+/2/readings", qos=1)
            assert len(other.messages) == 0
        for user, password in ((None, None), ("1", "wrong"), ("3", "pw-3"), (BRIDGE, "pw-1")):
            with pytest.raises(aiomqtt.MqttError):
                async with _client(broker.port, user, password):
                    pass

        broker.add_account("3", "pw-3")  # a device added while the broker runs (mosquitto_passwd + SIGHUP)
        async with _client(broker.port, BRIDGE, "bridge-pw") as bridge:
            await bridge.subscribe("ghgwatch/+/+/readings", qos=1)
            for _ in range(100):
                try:
                    async with _client(broker.port, "3", "pw-3") as device:
                        await device.publish("ghgwatch/7/3/readings", b"new device", qos=1)
                    break
                except aiomqtt.MqttError:  # until the reload is done
                    await asyncio.sleep(0.05)
            assert await asyncio.wait_for(_next_payload(bridge), 10) == ("ghgwatch/7/3/readings", b"new device")


async def test_bridge_ingests_over_tls_from_the_compose_broker(tmp_path: Path, db_url: str, db: Database) -> None:
    del db
    with compose_mosquitto({BRIDGE: "bridge-pw", "1": "pw-1"}) as broker:
        trusted = ssl.create_default_context(cafile=str(broker.certificate))
        with pytest.raises(aiomqtt.MqttError):  # a client that does not trust the certificate is refused
            async with _client(broker.tls_port, "1", "pw-1", tls_context=ssl.create_default_context()):
                pass
        url = f"mqtts://{BRIDGE}:bridge-pw@localhost:{broker.tls_port}"
        async for p in _platform(tmp_path, db_url, "embedded:", mqtt_url=url, mqtt_ca_file=broker.certificate):
            bridge = p.extras["mqtt_bridge"]
            await asyncio.wait_for(bridge.connected.wait(), 15)
            assert bridge.address.tls and bridge.address.port == broker.tls_port
            assert p.device_id == 1
            rows = [{"sensor": p.world.sensor_a, "ts": (T0 + timedelta(seconds=i)).isoformat(), "value": 0.4}
                    for i in range(25)]
            async with _client(broker.tls_port, "1", "pw-1", tls_context=trusted) as device:
                await device.publish(f"ghgwatch/{p.world.org_a}/1/readings", json.dumps({"readings": rows}), qos=1)
            assert await p.wait_stored(25, within=30) == 25
