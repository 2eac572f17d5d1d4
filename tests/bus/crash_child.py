"""Child process for the crash tests: publishes (or consumes and commits) until it is killed.

``python crash_child.py publish <root>``: 3 concurrent publishers; prints ``ack <task>-<batch>`` after
each publish call returned. ``python crash_child.py consume <root>``: consumes in small batches and
prints ``commit <partition> <next offset>`` after each commit returned.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from ghgwatch.bus import Record
from ghgwatch.bus.embedded import EmbeddedBus, LogConfig

TOPIC = "readings.raw.v1"


async def publish(root: Path) -> None:
    bus = EmbeddedBus(root, LogConfig(partitions=4, segment_bytes=64 * 1024))
    await bus.start()

    async def task(n: int) -> None:
        for batch in range(100_000):
            recs = [Record(f"sensor-{i % 10}".encode(), f"{n}-{batch}-{i}".encode()) for i in range(100)]
            await bus.publish(TOPIC, recs)
            print(f"ack {n}-{batch}", flush=True)

    try:
        await asyncio.gather(*(task(n) for n in range(3)))
    finally:
        await bus.stop()


async def consume(root: Path) -> None:
    bus = EmbeddedBus(root, LogConfig(partitions=4))
    await bus.start()
    try:
        consumer = bus.consumer("pipeline", [TOPIC])
        await consumer.start()
        print("started", flush=True)
        while True:
            batch = await consumer.poll(37, timeout_s=5.0)
            await consumer.commit(batch)
            last: dict[int, int] = {}
            for m in batch:
                last[m.partition] = m.offset + 1
            for partition, offset in sorted(last.items()):
                print(f"commit {partition} {offset}", flush=True)
            await asyncio.sleep(0.001)
    finally:
        await bus.stop()


if __name__ == "__main__":
    mode, root = sys.argv[1], Path(sys.argv[2])
    asyncio.run(publish(root) if mode == "publish" else consume(root))
