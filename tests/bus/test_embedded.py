"""Embedded durable log: behaviour beyond the shared contract."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ghgwatch.bus import BusError, BusLockedError, CommitError, Record, TopicPartition
from ghgwatch.bus._partitioner import partition_for
from ghgwatch.bus.embedded import EmbeddedBus, LogConfig

from .helpers import by_key, drain, records

TOPIC = "readings.raw.v1"


async def test_concurrent_publishers_keep_per_key_order_and_share_fsyncs(embedded_bus: EmbeddedBus) -> None:
    async def publisher(n: int) -> None:
        for batch in range(10):
            await embedded_bus.publish(TOPIC, records(200, keys=20, prefix=f"p{n}-b{batch}-"))

    await asyncio.gather(*(publisher(n) for n in range(4)))
    assert embedded_bus._writer is not None
    assert embedded_bus._writer.rounds < 40, "group commit: fewer fsync rounds than publish calls"
    consumer = embedded_bus.consumer("g", [TOPIC])
    await consumer.start()
    got = await drain(consumer, 8000, batch=3000)
    await consumer.stop()
    assert len(got) == 8000
    for key, vals in by_key(got).items():
        for n in range(4):  # each publisher's records of one key come in publish order
            mine = [v for v in vals if v.startswith(f"p{n}-".encode())]
            assert mine == sorted(mine, key=lambda v: (int(v.split(b"-")[1][1:]), int(v.split(b"-")[2])))
        assert {m.partition for m in got if m.key == key} == {partition_for(key, 4)}
    per_partition: dict[int, list[int]] = {}
    for m in got:
        per_partition.setdefault(m.partition, []).append(m.offset)
    for offsets in per_partition.values():
        assert offsets == list(range(len(offsets))), "offsets are dense and ordered"


async def test_committed_offsets_survive_a_restart_and_uncommitted_are_redelivered(tmp_path: Path) -> None:
    bus = EmbeddedBus(tmp_path, LogConfig(partitions=1))
    await bus.start()
    try:
        await bus.publish(TOPIC, records(10, keys=1))
        consumer = bus.consumer("pipeline", [TOPIC])
        await consumer.start()
        got = await consumer.poll(10, 1.0)
        await consumer.commit(got[:4])
        assert await consumer.poll(10, 0.05) == [], "position moves on without a commit"
        await consumer.stop()
    finally:
        await bus.stop()
    bus = EmbeddedBus(tmp_path, LogConfig(partitions=1))
    await bus.start()
    try:
        consumer = bus.consumer("pipeline", [TOPIC])
        await consumer.start()
        assert await consumer.lag() == {TopicPartition(TOPIC, 0): 6}
        again = await consumer.poll(100, 1.0)
        assert [m.offset for m in again] == list(range(4, 10))
        await consumer.commit({TopicPartition(TOPIC, 0): 10})
        assert await consumer.lag() == {TopicPartition(TOPIC, 0): 0}
        with pytest.raises(CommitError, match="beyond the log end"):
            await consumer.commit({TopicPartition(TOPIC, 0): 11})
        with pytest.raises(CommitError, match="not in this consumer"):
            await consumer.commit({TopicPartition("other", 0): 1})
        await consumer.stop()
    finally:
        await bus.stop()


def _last_segment(root: Path, topic: str, partition: int) -> Path:
    return sorted((root / "topics" / topic / str(partition)).glob("*.log"))[-1]


async def test_torn_tail_is_truncated_on_open_and_appends_continue(tmp_path: Path) -> None:
    bus = EmbeddedBus(tmp_path, LogConfig(partitions=1))
    await bus.start()
    await bus.publish(TOPIC, records(5, keys=1))
    await bus.publish(TOPIC, records(3, keys=1, prefix="w"))
    await bus.stop()
    segment = _last_segment(tmp_path, TOPIC, 0)
    data = segment.read_bytes()
    good = len(data)
    with segment.open("ab") as f:  # a crash half-way through writing a frame...
        f.write(data[:40])
    bus = EmbeddedBus(tmp_path, LogConfig(partitions=1))
    await bus.start()
    try:
        assert segment.stat().st_size == good
        await bus.publish(TOPIC, records(2, keys=1, prefix="after"))
        consumer = bus.consumer("g", [TOPIC])
        await consumer.start()
        got = await drain(consumer, 10)
        assert [m.offset for m in got] == list(range(10))
        assert [m.value for m in got][-2:] == [b"after0", b"after1"]
        await consumer.stop()
    finally:
        await bus.stop()


async def test_a_frame_with_a_bad_crc_at_the_tail_is_dropped(tmp_path: Path) -> None:
    bus = EmbeddedBus(tmp_path, LogConfig(partitions=1))
    await bus.start()
    await bus.publish(TOPIC, records(4, keys=1))
    await bus.publish(TOPIC, records(4, keys=1, prefix="lost"))
    await bus.stop()
    segment = _last_segment(tmp_path, TOPIC, 0)
    data = bytearray(segment.read_bytes())
    data[-1] ^= 0xFF  # the last frame's payload no longer matches its CRC
    segment.write_bytes(bytes(data))
    bus = EmbeddedBus(tmp_path, LogConfig(partitions=1))
    await bus.start()
    try:
        consumer = bus.consumer("g", [TOPIC])
        await consumer.start()
        got = await drain(consumer, 4)
        assert [m.value for m in got] == [b"v0", b"v1", b"v2", b"v3"]
        await consumer.stop()
    finally:
        await bus.stop()


async def test_retention_deletes_only_old_segments_that_every_group_committed(tmp_path: Path) -> None:
    config = LogConfig(partitions=1, segment_bytes=2000, retention_s=3600, retention_bytes=5000)
    bus = EmbeddedBus(tmp_path, config)
    await bus.start()
    try:
        for i in range(20):  # about 1.5 kB per call: one segment each
            await bus.publish(TOPIC, [Record(b"k", b"%04d" % i + b"x" * 1500)])
        directory = tmp_path / "topics" / TOPIC / "0"
        assert len(list(directory.glob("*.log"))) == 20
        fast, slow = bus.consumer("fast", [TOPIC]), bus.consumer("slow", [TOPIC])
        await fast.start()
        await slow.start()
        await fast.commit({TopicPartition(TOPIC, 0): 15})
        await slow.commit({TopicPartition(TOPIC, 0): 8})
        await asyncio.to_thread(bus.enforce_retention)
        remaining = sorted(int(p.stem) for p in directory.glob("*.log"))
        assert remaining[0] == 8, "nothing the slow group still needs is deleted"
        await slow.commit({TopicPartition(TOPIC, 0): 20})
        await asyncio.to_thread(bus.enforce_retention)
        assert sorted(int(p.stem) for p in directory.glob("*.log")) == [15, 16, 17, 18, 19], "fast is at 15"
        await fast.commit({TopicPartition(TOPIC, 0): 20})
        await asyncio.to_thread(bus.enforce_retention)
        remaining = sorted(int(p.stem) for p in directory.glob("*.log"))
        assert remaining == [17, 18, 19], "oldest first until the partition is within retention_bytes"
        late = bus.consumer("late", [TOPIC])
        await late.start()
        got = await drain(late, 3)
        assert [m.offset for m in got] == [17, 18, 19], "a new group starts at the log start"
        for c in (fast, slow, late):
            await c.stop()
    finally:
        await bus.stop()


async def test_second_open_of_the_same_log_is_refused_clearly(tmp_path: Path, embedded_bus: EmbeddedBus) -> None:
    other = EmbeddedBus(embedded_bus.root)
    with pytest.raises(BusLockedError, match=rf"in use by another process \(pid {os.getpid()}\)"):
        await other.start()
    script = (
        "import asyncio, sys\n"
        "from pathlib import Path\n"
        "from ghgwatch.bus import BusLockedError\n"
        "from ghgwatch.bus.embedded import EmbeddedBus\n"
        "try:\n"
        "    asyncio.run(EmbeddedBus(Path(sys.argv[1])).start())\n"
        "except BusLockedError as exc:\n"
        "    print(exc); sys.exit(3)\n"
    )
    proc = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", script, str(embedded_bus.root)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 3, proc.stderr
    assert "single-process" in proc.stdout


async def test_only_one_running_consumer_per_group(embedded_bus: EmbeddedBus) -> None:
    first = embedded_bus.consumer("pipeline", [TOPIC])
    await first.start()
    with pytest.raises(BusError, match="already running"):
        await embedded_bus.consumer("pipeline", [TOPIC]).start()
    await first.stop()
    second = embedded_bus.consumer("pipeline", [TOPIC])
    await second.start()
    await second.stop()


async def test_waiting_poll_wakes_up_promptly_after_a_publish(embedded_bus: EmbeddedBus) -> None:
    consumer = embedded_bus.consumer("alerts", [TOPIC])
    await consumer.start()
    latencies = []
    for i in range(7):
        poll = asyncio.create_task(consumer.poll(100, timeout_s=5.0))
        await asyncio.sleep(0.02)  # the poll is waiting now
        start = time.perf_counter()
        await embedded_bus.publish(TOPIC, [Record(b"s", b"%d" % i)])
        got = await poll
        latencies.append(time.perf_counter() - start)
        assert [m.value for m in got] == [b"%d" % i]
    await consumer.stop()
    assert sorted(latencies)[3] < 0.05, latencies


async def test_a_cancelled_poll_loses_nothing(embedded_bus: EmbeddedBus) -> None:
    await embedded_bus.publish(TOPIC, records(50))
    consumer = embedded_bus.consumer("g", [TOPIC])
    await consumer.start()
    poll = asyncio.create_task(consumer.poll(100, 1.0))
    await asyncio.sleep(0)
    poll.cancel()
    with pytest.raises(asyncio.CancelledError):
        await poll
    got = await drain(consumer, 50)
    assert len(got) == 50
    await consumer.stop()


async def test_stopped_bus_refuses_work(tmp_path: Path) -> None:
    bus = EmbeddedBus(tmp_path)
    with pytest.raises(BusError, match="not started"):
        await bus.publish(TOPIC, records(1))
    await bus.start()
    consumer = bus.consumer("g", [TOPIC])
    await consumer.start()
    await bus.stop()
    with pytest.raises(BusError, match="not running"):
        await consumer.poll(1, 0.1)


async def test_age_rolls_the_active_segment_and_retention_removes_consumed_old_ones(tmp_path: Path) -> None:
    bus = EmbeddedBus(tmp_path, LogConfig(partitions=1, segment_s=0.0, retention_s=0.0))
    await bus.start()
    try:
        await bus.publish(TOPIC, records(5, keys=1))
        consumer = bus.consumer("g", [TOPIC])
        await consumer.start()
        await consumer.commit(await consumer.poll(3, 1.0))
        await asyncio.to_thread(bus.enforce_retention)  # seals segment 0; 3 < 5 so it stays
        directory = tmp_path / "topics" / TOPIC / "0"
        assert sorted(p.name[:20] for p in directory.glob("*.log")) == [f"{0:020d}", f"{5:020d}"]
        await consumer.commit(await consumer.poll(10, 1.0))
        await asyncio.to_thread(bus.enforce_retention)
        assert sorted(p.name[:20] for p in directory.glob("*.log")) == [f"{5:020d}"]
        await bus.publish(TOPIC, records(1, keys=1, prefix="new"))
        assert [m.offset for m in await consumer.poll(10, 1.0)] == [5]
        await consumer.stop()
    finally:
        await bus.stop()
    await bus.start()  # the same object restarts cleanly
    consumer = bus.consumer("g", [TOPIC])
    await consumer.start()
    assert await consumer.lag() == {TopicPartition(TOPIC, 0): 1}
    await consumer.stop()
    await bus.stop()


async def test_a_rebalance_listener_hears_nothing_on_the_single_member_log(embedded_bus: EmbeddedBus) -> None:
    """Issue 10 item 4: the embedded log's group has one member, which owns every partition: nothing moves, so the
    alert engine's hand-over listener is never called (the engine judges every sensor, as before)."""
    heard: list[str] = []

    class Listener:
        def assigned(self, partitions: frozenset[TopicPartition], counts: dict[str, int]) -> None:
            heard.append("assigned")

        def revoked(self, partitions: frozenset[TopicPartition], *, lost: bool) -> None:
            heard.append("revoked")

    consumer = embedded_bus.consumer("g-listen", ["t.listen"], listener=Listener())
    await consumer.start()
    await embedded_bus.publish("t.listen", records(4))
    assert len(await drain(consumer, 4)) == 4
    await consumer.stop()
    assert heard == []
