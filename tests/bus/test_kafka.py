"""Kafka adapter against a real Kafka-protocol broker (tansu, memory storage)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from ghgwatch.bus import Message, PublishError, Record, TopicPartition, open_bus
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


class _Listener:
    """Records what a RebalanceListener hears (from the consumer's poll thread)."""

    def __init__(self) -> None:
        self.owned: frozenset[int] = frozenset()
        self.counts: dict[str, int] = {}
        self.calls: list[tuple[str, frozenset[int]]] = []

    def assigned(self, partitions: frozenset[TopicPartition], counts: dict[str, int]) -> None:
        self.owned = frozenset(tp.partition for tp in partitions)
        self.counts = dict(counts)
        self.calls.append(("assigned", self.owned))

    def revoked(self, partitions: frozenset[TopicPartition], *, lost: bool) -> None:
        gone = frozenset(tp.partition for tp in partitions)
        self.owned = self.owned - gone
        self.calls.append(("lost" if lost else "revoked", gone))


async def test_rebalance_listener_hears_the_whole_assignment_as_partitions_move(
    tansu: TansuBroker, unique: str, tmp_path: Path
) -> None:
    """Issue 10 item 4: what the alert engine's hand-over is built on. Two members share four partitions; when one
    leaves, the other is told it owns all four."""
    topic, group = f"kafka.rebalance.{unique}", f"g.{unique}"
    bus = open_bus(f"{tansu.url}?replication=1&{FAST_JOIN}", data_dir=tmp_path)
    await bus.start()
    first, second = _Listener(), _Listener()
    a = bus.consumer(group, [topic], listener=first)
    b = bus.consumer(group, [topic], listener=second)
    try:
        await bus.ensure_topics([topic], partitions=4)
        await a.start()
        await b.start()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        got: list[tuple[str, Message]] = []
        await bus.publish(topic, records(40, keys=20))
        while not (first.owned and second.owned and first.owned | second.owned == {0, 1, 2, 3}
                   and len(got) >= 40) and loop.time() < deadline:
            for name, consumer in (("a", a), ("b", b)):
                got += [(name, m) for m in await consumer.poll(100, timeout_s=0.2)]
        assert first.owned and second.owned and not first.owned & second.owned, (first.calls, second.calls)
        assert first.owned | second.owned == {0, 1, 2, 3}
        assert first.counts == second.counts == {topic: 4}
        assert sorted(m.value for _, m in got) == sorted(r.value for r in records(40, keys=20))
        # The listener's counts map a key to its partition as the producer does (the hand-over relies on it).
        assert all(m.partition == partition_for(m.key, first.counts[topic]) for _, m in got)
        await a.stop()  # leaves the group: its partitions move to b
        assert first.calls[-1][0] == "revoked" and first.owned == frozenset()
        deadline = loop.time() + 30
        while second.owned != {0, 1, 2, 3} and loop.time() < deadline:
            await b.poll(100, timeout_s=0.2)
        assert second.owned == {0, 1, 2, 3}, second.calls
        assert any(kind == "revoked" for kind, _ in second.calls)  # eager protocol: revoked, then assigned whole
    finally:
        await b.stop()
        await bus.stop()
