"""Two pipeline replicas (one consumer group on the Kafka-protocol broker) share the partitions and store every
reading once, on PostgreSQL, while records keep arriving across the rebalance."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from ghgwatch.bus import open_bus, topics
from ghgwatch.ingest.wire import SensorBatch, encode
from ghgwatch.pipeline.runner import Pipeline
from ghgwatch.registry import service
from ghgwatch.registry.cache import SensorCache
from ghgwatch.registry.schemas import SensorIn
from ghgwatch.registry.specs import SENSORS
from ghgwatch.security.principal import SYSTEM
from ghgwatch.store import Database
from tests.conftest import World

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]
FAST = "consumer.session.timeout.ms=2000&consumer.heartbeat.interval.ms=500"


async def test_two_replicas_share_the_partitions_and_store_everything_once(world: World, db: Database,
                                                                           tmp_path: Path) -> None:
    if db.dialect != "postgresql":
        pytest.skip("cluster mode: pipeline replicas run on PostgreSQL")
    from tests.support.tansu import running_tansu

    with running_tansu() as broker:
        url = f"{broker.url}?partitions=6&replication=1&{FAST}"
        producer, bus_a, bus_b = (open_bus(url, data_dir=tmp_path) for _ in range(3))
        for bus in (producer, bus_a, bus_b):
            await bus.start()
        await producer.ensure_topics([topics.READINGS_RAW, topics.READINGS_DEADLETTER])
        org = world.org_a
        async with db.transaction() as s:  # 24 sensors, so that every partition gets some
            for i in range(23):
                await service.create(s, SYSTEM, SENSORS, SensorIn(source_id=world.source_a, name=f"CH4 {i}",
                                                                  kind="methane", unit="%"))  # type: ignore[arg-type]
        async with db.engine.connect() as conn:
            sensors = [int(r[0]) for r in (await conn.execute(text(
                "SELECT id FROM sensors WHERE organization_id = :o"), {"o": org})).all()]
        replicas = [Pipeline(bus, db, SensorCache(db), max_records=500) for bus in (bus_a, bus_b)]
        for r in replicas:
            r.start()
        t0 = (int(time.time()) - 3 * 3600) * 1_000_000
        total = 0
        try:
            for round_ in range(40):  # 8 s of records: the group forms and rebalances meanwhile
                records = [encode(SensorBatch(s, None, [t0 + (round_ * 25 + k) * 1_000_000 for k in range(25)],
                                              [0.5] * 25, org, 0, "http", time.time_ns() // 1000, f"r{round_}"))
                           for s in sensors]
                await producer.publish(topics.READINGS_RAW, records)
                total += 25 * len(sensors)
                await asyncio.sleep(0.2)
            deadline = time.monotonic() + 90
            while True:
                async with db.engine.connect() as conn:
                    stored = (await conn.execute(text("SELECT count(*) FROM readings"))).scalar_one()
                if stored >= total or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.2)
        finally:
            for r in replicas:
                await r.stop()
            for bus in (producer, bus_a, bus_b):
                await bus.stop()
        async with db.engine.connect() as conn:
            minutes = (await conn.execute(text("SELECT sum(count) FROM rollup_1m"))).scalar_one()
        assert stored == total == minutes  # every reading once; rollups agree after the rebalances
        assert all(r.stored > 0 for r in replicas), [r.stored for r in replicas]  # both took partitions
        assert sum(r.stored for r in replicas) >= total
