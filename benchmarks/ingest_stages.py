"""Where the ingest path spends its CPU: each stage run on its own, in one process, CPU seconds per reading.

    python benchmarks/ingest_stages.py --readings 400000

The same bodies as ``benchmarks/ingest.py`` (1,000 JSON readings over 200 sensors each) go through the stages one
after another, each stage over all bodies before the next starts, so the process CPU time (all threads: the bus
writer's fsync, the SQLite thread) between two marks belongs to one stage: JSON parse, accept (sensor check,
grouping, bus records), bus append (group commit with fsync), the live alert lane's validation of each request,
bus read and decode, validation, store (insert, rollups, latest values in one transaction per poll). CPU time
rather than wall time, so that a busy shared machine changes the figures less. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from ingest import setup_registry  # noqa: E402
from ingest_load import BATCH, make_body  # noqa: E402


async def stages(data: Path, n_bodies: int, sensors: int, max_records: int) -> dict[str, float]:
    from ghgwatch.bus import topics
    from ghgwatch.bus.embedded import EmbeddedBus
    from ghgwatch.ingest.parse import parse_json
    from ghgwatch.ingest.service import Ingestor
    from ghgwatch.ingest.wire import decode
    from ghgwatch.pipeline.runner import Pipeline
    from ghgwatch.pipeline.validate import check_many
    from ghgwatch.registry.cache import SensorCache
    from ghgwatch.store.engine import open_database

    db = open_database(f"sqlite+aiosqlite:///{data / 'ghgwatch.db'}")
    bus = EmbeddedBus(data / "bus")
    await bus.start()
    await bus.ensure_topics(list(topics.ALL_TOPICS))
    cache = SensorCache(db)
    await cache.refresh()
    base_s = int((datetime.now(UTC) - timedelta(days=2)).timestamp())
    bodies = [make_body(b, sensors, base_s) for b in range(n_bodies)]
    ingestor = Ingestor(bus, cache)
    out: dict[str, float] = {}
    n = n_bodies * BATCH

    def mark(name: str, started: float) -> float:
        now = time.process_time()
        out[f"{name}_us"] = (now - started) / n * 1e6
        return now

    t = time.process_time()
    parsed = [parse_json(b) for b in bodies]
    t = mark("parse", t)
    prepared = [await ingestor.prepare(p, organization_id=1, device_id=1, transport="http") for p in parsed]
    t = mark("accept", t)
    # Eight publishes in flight at a time, as eight connections would have.
    for i in range(0, len(prepared), 8):
        await asyncio.gather(*(ingestor.publish(records) for records, _ in prepared[i:i + 8]))
    t = mark("bus_append", t)
    out["records_per_request"] = sum(len(r) for r, _ in prepared) / len(prepared)
    # The live alert lane validates each accepted request before judging it (one request a call when it keeps up).
    requests = [[decode(r.value) for r in records] for records, _ in prepared]
    metas = await cache.current()
    now_us = time.time_ns() // 1000
    t = time.process_time()
    for batches in requests:
        check_many(batches, metas, now_us, 0)
    t = mark("live_validate", t)
    consumer = bus.consumer("pipeline", [topics.READINGS_RAW])
    await consumer.start()
    polls = []
    got = 0
    while got < sum(len(r) for r, _ in prepared):
        messages = await consumer.poll(max_records, timeout_s=1.0)
        polls.append(messages)
        got += len(messages)
    t = mark("bus_read", t)
    for messages in polls:
        [decode(m.value) for m in messages]
    t = mark("decode", t)
    pipeline = Pipeline(bus, db, cache, max_records=max_records)
    for messages in polls:
        await pipeline.process(messages)
    t = mark("pipeline_process", t)  # decode + validate + store, as the running pipeline does it
    out["pipeline_process_readings_per_cpu_s"] = 1e6 / out["pipeline_process_us"]
    await consumer.stop()
    await bus.stop()
    await db.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--readings", type=int, default=400_000)
    parser.add_argument("--sensors", type=int, default=200)
    parser.add_argument("--max-records", type=int, default=5000)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="ghgwatch-stages-"))
    data = workdir / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GHGWATCH_")} | {"GHGWATCH_DATA_DIR": str(data)}
    setup_registry(env, workdir, args.sensors)
    result = asyncio.run(stages(data, args.readings // BATCH, args.sensors, args.max_records))
    result["load_avg"] = os.getloadavg()[0]
    print(json.dumps({k: round(v, 3) for k, v in result.items()}))


if __name__ == "__main__":
    main()
