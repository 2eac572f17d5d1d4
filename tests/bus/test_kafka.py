"""Kafka adapter against a real Kafka-protocol broker (tansu, memory storage)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from ghgwatch.bus import PublishError, Record, open_bus
from ghgwatch.bus._partitioner import partition_for
from ghgwatch.bus.kafka import KafkaBus
from tests.support.tansu import TansuBroker, free_port

from .conftest import FAST_JOIN
from .helpers import drain, records

pytestmark = pytest.mark.kafka


async def test_producer_is_idempotent(tansu: TansuBroker, unique: str) -> None:
    stats: list[dict[str, object]] = []
    loop = asyncio.get_running_loop()
    seen = asyncio.Event()

    def on_stats(raw: str) -> None:  # runs in the producer's poll thread
        parsed = json.loads(raw)
        if parsed.get("eos", {}).get("idemp_state") == "Assigned":
            stats.append(parsed)
            loop.call_soon_threadsafe(seen.set)

    bus = KafkaBus(tansu.bootstrap, producer_config={"statistics.interval.ms": 100, "stats_cb": on_stats})
    await bus.start()
    try:
        await bus.publish(f"kafka.idem.{unique}", records(10))
        await asyncio.wait_for(seen.wait(), 5)
    finally:
        await bus.stop()
    eos = [s["eos"] for s in stats if s.get("eos")][-1]
    assert isinstance(eos, dict)
    assert eos["idemp_state"] == "Assigned" and int(eos["producer_id"]) >= 0


async def test_keyed_records_land_on_the_same_partition_as_in_the_embedded_log(
    tansu: TansuBroker, unique: str, tmp_path: Path
) -> None:
    topic = f"kafka.keys.{unique}"
    bus = open_bus(f"{tansu.url}?replication=1&{FAST_JOIN}", data_dir=tmp_path)
    await bus.start()
    try:
        await bus.ensure_topics([topic], partitions=4)
        await bus.ensure_topics([topic], partitions=4)  # existing: no error
        sent = records(300, keys=30)
        await asyncio.gather(bus.publish(topic, sent[:150]), bus.publish(topic, sent[150:]))
        consumer = bus.consumer(f"g.{unique}", [topic])
        await consumer.start()
        try:
            got = await drain(consumer, 300)
        finally:
            await consumer.stop()
    finally:
        await bus.stop()
    assert len(got) == 300
    assert all(m.partition == partition_for(m.key, 4) for m in got)


async def test_publish_fails_when_delivery_fails(unique: str) -> None:
    bus = KafkaBus(f"127.0.0.1:{free_port()}", producer_config={"message.timeout.ms": 800})
    await bus.start()
    try:
        start = time.monotonic()
        with pytest.raises(PublishError, match=r"3 record\(s\) not delivered"):
            await bus.publish(f"kafka.down.{unique}", [Record(b"k", b"v")] * 3)
        assert time.monotonic() - start < 10
    finally:
        await bus.stop()
