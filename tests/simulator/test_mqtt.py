from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

import aiomqtt
import pytest

from ghgwatch.simulator import MqttSender, RetryableError, run_simulation
from tests.support.mosquitto import running_mosquitto
from tests.support.net import free_port

pytestmark = pytest.mark.mqtt
@pytest.fixture
def broker() -> Iterator[int]:
    with running_mosquitto(None) as port:
        yield port


async def _collect(port: int, into: list[aiomqtt.Message], ready: asyncio.Event) -> None:
    async with aiomqtt.Client("127.0.0.1", port) as client:
        await client.subscribe("ghgwatch/#", qos=1)
        ready.set()
        async for message in client.messages:  # until cancelled; each message must be visible at once
            into.append(message)  # noqa: PERF401


async def _run_with_subscriber(port: int, credentials: dict[str, Any], *, sign: bool) -> tuple[Any, list[Any]]:
    messages: list[aiomqtt.Message] = []
    ready = asyncio.Event()
    listener = asyncio.create_task(_collect(port, messages, ready))
    await asyncio.wait_for(ready.wait(), 10)
    stats = await run_simulation(credentials, rate=100, duration_s=0.3, transport="mqtt", sign=sign, dropout=0,
                                 events=(), mqtt_url=f"mqtt://sim:pw@127.0.0.1:{port}", batch_size=10)
    for _ in range(100):
        if sum(len(json.loads(_body(m, sign))["readings"]) for m in messages) >= stats.sent:
            break
        await asyncio.sleep(0.02)
    listener.cancel()
    await asyncio.gather(listener, return_exceptions=True)
    return stats, messages


def _raw(message: aiomqtt.Message) -> str:
    assert isinstance(message.payload, bytes | bytearray)
    return bytes(message.payload).decode()


def _body(message: aiomqtt.Message, signed: bool) -> str:
    return str(json.loads(_raw(message))["payload"]) if signed else _raw(message)


async def test_publishes_readings_to_the_device_topic(broker: int, credentials: dict[str, Any]) -> None:
    stats, messages = await _run_with_subscriber(broker, credentials, sign=False)
    assert stats.sent == stats.accepted == 30 and stats.requests >= 3
    assert {str(m.topic) for m in messages} == {"ghgwatch/3/7/readings"}  # organisation 3, device 7
    assert all(m.qos == 1 for m in messages)
    readings = [r for m in messages for r in json.loads(_body(m, False))["readings"]]
    assert len(readings) == 30
    assert set(readings[0]) == {"sensor", "ts", "value", "unit"}


async def test_signed_payload_is_an_envelope_with_a_valid_hmac(broker: int, credentials: dict[str, Any]) -> None:
    stats, messages = await _run_with_subscriber(broker, credentials, sign=True)
    assert messages and stats.sent == 30
    for message in messages:
        envelope = json.loads(_raw(message))
        assert set(envelope) == {"timestamp", "signature", "payload"}
        signed = f"{envelope['timestamp']}.{envelope['payload']}".encode()
        expected = hmac.new(credentials["device_hmac_secret"].encode(), signed, hashlib.sha256).hexdigest()
        assert envelope["signature"] == f"sha256={expected}"
        assert json.loads(envelope["payload"])["readings"]


async def test_unreachable_broker_is_retryable() -> None:
    sender = MqttSender(f"mqtt://127.0.0.1:{free_port()}", 1, 2, timeout=2)
    with pytest.raises(RetryableError):
        await sender.send([{"sensor": 1, "ts": "2026-01-01T00:00:00+00:00", "value": 1.0}])
    await sender.aclose()


def test_rejects_non_mqtt_urls() -> None:
    with pytest.raises(ValueError, match="MQTT URL"):
        MqttSender("http://127.0.0.1:1883", 1, 2)
