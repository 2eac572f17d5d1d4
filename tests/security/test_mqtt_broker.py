"""Holes 13 and 3 and MQTT over TLS: the mosquitto that docker-compose ships (its own configuration and ACL file,
only paths and ports replaced) gives every device an account of its own (``<organisation id>/<device id>``), lets
a device write only its own topic, of its own organisation, and only the bridge read, and serves MQTT over TLS,
over which the bridge ingests into SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiomqtt
import pytest

from ghgwatch.security.models import Role
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


async def _only_the_marker_arrives(bridge: aiomqtt.Client, device: aiomqtt.Client, refused: list[str],
                                   marker_topic: str) -> None:
    """Publish each refused topic, then a marker, on one connection: the broker handles them in order, so the
    bridge (subscribed to every readings topic) would get a refused one before the marker had the ACL let it
    through; and after a later round trip nothing else is queued for it."""
    for topic in refused:
        await device.publish(topic, b"refused: " + topic.encode(), qos=1)
    await device.publish(marker_topic, b"marker", qos=1)
    assert await asyncio.wait_for(_next_payload(bridge), 10) == (marker_topic, b"marker")
    await bridge.subscribe("ghgwatch/+/+/readings", qos=1)  # a round trip after the marker went out
    assert len(bridge.messages) == 0


async def test_a_device_writes_only_its_own_topic_and_only_the_bridge_reads() -> None:
    with compose_mosquitto({BRIDGE: "bridge-pw", "7/1": "pw-1", "7/2": "pw-2"}) as broker:
        async with _client(broker.port, BRIDGE, "bridge-pw") as bridge, \
                _client(broker.port, "7/2", "pw-2") as other, _client(broker.port, "7/1", "pw-1") as device:
            await bridge.subscribe("ghgwatch/+/+/readings", qos=1)
            await other.subscribe("ghgwatch/#", qos=1)  # granted, but each message is checked against read rights
            await _only_the_marker_arrives(bridge, device, ["ghgwatch/7/2/readings", "ghgwatch/7/1/status"],
                                           "ghgwatch/7/1/readings")
            # The broker sent the marker to every reader before it answers this later request of device 2's,
            # so a marker device 2 could read would be in its queue by now.
            await other.subscribe("ghgwatch/+/2/readings", qos=1)
            assert len(other.messages) == 0
        for user, password in ((None, None), ("7/1", "wrong"), ("7/3", "pw-3"), (BRIDGE, "pw-1")):
            with pytest.raises(aiomqtt.MqttError):
                async with _client(broker.port, user, password):
                    pass

        broker.add_account("7/3", "pw-3")  # a device added while the broker runs (mosquitto_passwd + SIGHUP)
        async with _client(broker.port, BRIDGE, "bridge-pw") as bridge:
            await bridge.subscribe("ghgwatch/+/+/readings", qos=1)
            for _ in range(100):
                try:
                    async with _client(broker.port, "7/3", "pw-3") as device:
                        await device.publish("ghgwatch/7/3/readings", b"new device", qos=1)
                    break
                except aiomqtt.MqttError:  # until the reload is done
                    await asyncio.sleep(0.05)
            assert await asyncio.wait_for(_next_payload(bridge), 10) == ("ghgwatch/7/3/readings", b"new device")


async def test_accounts_added_by_the_documented_recipe_keep_the_bridge_connected() -> None:
    """mosquitto_passwd rewrites the password file in place; a reload reading it half written refused the bridge's
    own account, disconnected it and dropped its session (readings published meanwhile were lost: 4 of 5 runs of
    40 quick additions). docs/security.md's recipe (a copy, renamed over the file, then SIGHUP) must not."""
    with compose_mosquitto({BRIDGE: "bridge-pw"}) as broker:
        async with _client(broker.port, BRIDGE, "bridge-pw", identifier="bridge", clean_session=False) as bridge:
            await bridge.subscribe("ghgwatch/+/+/readings", qos=1)
            for device in range(40):
                broker.add_account(f"7/{device}", f"pw-{device}")
            for _ in range(100):
                try:
                    async with _client(broker.port, "7/39", "pw-39") as last:
                        await last.publish("ghgwatch/7/39/readings", b"after the reloads", qos=1)
                    break
                except aiomqtt.MqttError:  # until the last reload is done
                    await asyncio.sleep(0.05)
            assert await asyncio.wait_for(_next_payload(bridge), 10) == ("ghgwatch/7/39/readings",
                                                                          b"after the reloads")


async def test_hole3_the_broker_refuses_a_device_publishing_under_another_organisations_id() -> None:
    """Issue 12, hole 3, at the broker itself: device 2 of organisation 8 (account ``8/2``) publishing under
    organisation 7's id, with its own device id or with 7's device's, reaches no subscriber. Before, the ACL
    (``pattern write ghgwatch/+/%u/readings``, username = device id) let ``ghgwatch/7/2/readings`` through."""
    with compose_mosquitto({BRIDGE: "bridge-pw", "7/1": "pw-a", "8/2": "pw-b"}) as broker:
        async with _client(broker.port, BRIDGE, "bridge-pw") as bridge, \
                _client(broker.port, "8/2", "pw-b") as device_b:
            await bridge.subscribe("ghgwatch/+/+/readings", qos=1)
            await _only_the_marker_arrives(
                bridge, device_b, ["ghgwatch/7/2/readings", "ghgwatch/7/1/readings", "ghgwatch/7/8/2/readings",
                                   "ghgwatch/8/2/readings/x", "ghgwatch/8/2/status"],
                "ghgwatch/8/2/readings")
        # A username with a wildcard would widen the pattern: mosquitto lets such an account sign in but write
        # nothing. Its message is acknowledged before device 1 sends the marker, so it would arrive first.
        broker.add_account("7/+", "pw-wild")
        async with _client(broker.port, BRIDGE, "bridge-pw") as bridge:
            await bridge.subscribe("ghgwatch/+/+/readings", qos=1)
            for _ in range(100):
                try:
                    async with _client(broker.port, "7/+", "pw-wild") as wild:
                        await wild.publish("ghgwatch/7/5/readings", b"wildcard account", qos=1)
                    break
                except aiomqtt.MqttError:  # until the reload is done
                    await asyncio.sleep(0.05)
            else:
                raise AssertionError("the wildcard account never signed in")
            async with _client(broker.port, "7/1", "pw-a") as device_a:
                await _only_the_marker_arrives(bridge, device_a, [], "ghgwatch/7/1/readings")


async def test_accounts_named_by_device_id_alone_write_nothing_until_renamed() -> None:
    """An account of the former scheme (username = device id) matches no readings topic under the new ACL; the
    upgrade recipe of docs/security.md renames it in the password file, keeping the hash, and it works again."""
    with compose_mosquitto({BRIDGE: "bridge-pw", "2": "pw-2"}) as broker:
        async with _client(broker.port, BRIDGE, "bridge-pw") as bridge:
            await bridge.subscribe("ghgwatch/+/+/readings", qos=1)
            async with _client(broker.port, "2", "pw-2") as legacy:
                for topic in ("ghgwatch/8/2/readings", "ghgwatch/2/readings"):
                    await legacy.publish(topic, b"legacy", qos=1)
            broker.rename_account("2", "8/2")
            for _ in range(100):
                try:
                    async with _client(broker.port, "8/2", "pw-2") as device:
                        await device.publish("ghgwatch/8/2/readings", b"renamed", qos=1)
                    break
                except aiomqtt.MqttError:  # until the reload is done
                    await asyncio.sleep(0.05)
            assert await asyncio.wait_for(_next_payload(bridge), 10) == ("ghgwatch/8/2/readings", b"renamed")


async def test_bridge_ingests_over_tls_from_the_compose_broker(tmp_path: Path, db_url: str, db: Database) -> None:
    del db
    # Fresh database: organisation A is 1, its device 1 (asserted below), so the account can be made in advance.
    with compose_mosquitto({BRIDGE: "bridge-pw", "1/1": "pw-1"}) as broker:
        trusted = ssl.create_default_context(cafile=str(broker.certificate))
        with pytest.raises(aiomqtt.MqttError):  # a client that does not trust the certificate is refused
            async with _client(broker.tls_port, "1/1", "pw-1", tls_context=ssl.create_default_context()):
                pass
        url = f"mqtts://{BRIDGE}:bridge-pw@localhost:{broker.tls_port}"
        async for p in _platform(tmp_path, db_url, "embedded:", mqtt_url=url, mqtt_ca_file=broker.certificate):
            bridge = p.extras["mqtt_bridge"]
            await asyncio.wait_for(bridge.connected.wait(), 15)
            assert bridge.address.tls and bridge.address.port == broker.tls_port
            assert (p.world.org_a, p.device_id) == (1, 1)
            rows = [{"sensor": p.world.sensor_a, "ts": (T0 + timedelta(seconds=i)).isoformat(), "value": 0.4}
                    for i in range(25)]
            async with _client(broker.tls_port, "1/1", "pw-1", tls_context=trusted) as device:
                await device.publish(f"ghgwatch/{p.world.org_a}/1/readings", json.dumps({"readings": rows}), qos=1)
            assert await p.wait_stored(25, within=30) == 25


async def test_the_mqtt_account_a_new_device_is_shown_works_at_the_compose_broker(
        tmp_path: Path, db_url: str, db: Database) -> None:
    """The account and topic the platform shows when a device is created (``mqtt_username``, ``mqtt_topic``),
    entered into the shipped mosquitto the way docs/security.md says (``mosquitto_passwd`` with the token as
    password, SIGHUP), carry readings through the ACL to storage; the same account under the bare device id
    (the former scheme) gets nothing through."""
    del db
    with compose_mosquitto({BRIDGE: "bridge-pw"}) as broker:
        url = f"mqtt://{BRIDGE}:bridge-pw@127.0.0.1:{broker.port}"
        async for p in _platform(tmp_path, db_url, "embedded:", mqtt_url=url):
            await asyncio.wait_for(p.extras["mqtt_bridge"].connected.wait(), 15)
            headers = await p.world.login(Role.ADMIN, p.world.org_a)
            created = await p.client.post("/api/v1/devices", headers=headers,
                                          json={"organization_id": p.world.org_a, "name": "meter"})
            assert created.status_code == 201, created.text
            issued = created.json()
            shown = (await p.client.get(f"/api/v1/devices/{issued['id']}", headers=headers)).json()
            username, topic = issued["mqtt_username"], issued["mqtt_topic"]
            assert (shown["mqtt_username"], shown["mqtt_topic"]) == (username, topic)
            broker.add_account(str(issued["id"]), issued["token"])  # the former scheme: may write nothing
            broker.add_account(username, issued["token"])
            rows = [{"sensor": p.world.sensor_a, "ts": (T0 + timedelta(seconds=i)).isoformat(), "value": 0.4}
                    for i in range(12)]
            for _ in range(100):
                try:
                    async with _client(broker.port, username, issued["token"]) as device:
                        await device.publish(topic, json.dumps({"readings": rows[:10]}), qos=1)
                    break
                except aiomqtt.MqttError:  # until the reload is done
                    await asyncio.sleep(0.05)
            else:
                raise AssertionError("the device's account never signed in")
            assert await p.wait_stored(10, sensor_id=p.world.sensor_a, within=30) == 10
            # Published and acknowledged before the last two readings; had the ACL let it through, it would be
            # stored before them.
            async with _client(broker.port, str(issued["id"]), issued["token"]) as legacy:
                await legacy.publish(topic, json.dumps({"readings": rows[10:11]}), qos=1)
            async with _client(broker.port, username, issued["token"]) as device:
                await device.publish(topic, json.dumps({"readings": rows[11:]}), qos=1)
            assert await p.wait_stored(11, sensor_id=p.world.sensor_a, within=30) == 11
            assert await p.stored(p.world.sensor_a) == 11
