"""The pipeline consumer loop: poll a batch, validate, store in one transaction, then commit offsets.

Offsets are committed only after the store transaction commits, and storing is idempotent (unique
(sensor, ts), rollups recomputed, dead letters keyed by bus position), so a crash at any point loses
nothing acknowledged and stores nothing twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import msgspec
import numpy as np

from ghgwatch.bus import Bus, Message, Record, topics
from ghgwatch.ingest.wire import SensorBatch, decode
from ghgwatch.observability import metrics
from ghgwatch.pipeline.validate import check_many
from ghgwatch.readings.writer import DeadLetterRow, SensorRows, write_batch
from ghgwatch.registry.cache import SensorCache
from ghgwatch.store import Database

log = logging.getLogger(__name__)
GROUP = "pipeline"
LAG_REPORT_INTERVAL_S = 5.0


@dataclass(frozen=True)
class StoredBatch:
    """What a batch stored, for the hooks that run after the commit (alert rules, detectors, gauges)."""

    rows: Sequence[SensorRows]
    dead: Sequence[DeadLetterRow]


StoredHook = Callable[[StoredBatch], Awaitable[None]]


def _reading(batch: SensorBatch, i: int) -> dict[str, object]:
    ts = datetime.fromtimestamp(batch.ts[i] / 1e6, tz=UTC).isoformat()
    return {"sensor": batch.sensor, "ts": ts, "value": batch.values[i], "unit": batch.unit, "device": batch.device}


class Pipeline:
    def __init__(self, bus: Bus, db: Database, sensors: SensorCache, *, max_records: int = 5000,
                 hooks: list[StoredHook] | None = None) -> None:
        self.bus = bus
        self.db = db
        self.sensors = sensors
        self.max_records = max_records
        self.hooks = hooks or []
        self.stored = 0
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def process(self, messages: Sequence[Message]) -> StoredBatch:
        decoded: list[tuple[Message, SensorBatch]] = []
        dead: list[DeadLetterRow] = []
        for m in messages:
            try:
                decoded.append((m, decode(m.value)))
            except msgspec.DecodeError as exc:
                dead.append(DeadLetterRow(f"{m.topic}/{m.partition}/{m.offset}", None, None, "bus", "malformed",
                                          str(exc), {"raw": m.value[:200].hex()}))
        metas = await self.sensors.lookup({b.sensor for _, b in decoded})
        checked = check_many([b for _, b in decoded], metas, time.time_ns() // 1000)
        rows = [SensorRows(*parts) for parts in zip(checked.sensors, checked.ts, checked.values, checked.quality,
                                                    strict=True)]
        for bi, index, reason, detail in checked.rejected:
            m, batch = decoded[bi]
            dead.append(DeadLetterRow(f"{m.topic}/{m.partition}/{m.offset}/{index}", batch.organization,
                                      batch.sensor, batch.transport, reason, detail, _reading(batch, index)))
        await write_batch(self.db, rows, dead)
        stored_at = time.time_ns() // 1000
        if checked.accepted_us:
            accepted = np.concatenate(checked.accepted_us)
            # At most ~1,000 observations a batch: a uniform sample keeps the histogram's shape.
            step = max(1, len(accepted) // 1000)
            metrics.observe_accept_to_stored(((stored_at - accepted[::step]) / 1e6).tolist())
        counts = Counter((d.reason, d.transport) for d in dead)
        for (reason, transport), n in counts.items():
            metrics.observe_rejected(reason, transport, n)
        if dead:
            await self.bus.publish(topics.READINGS_DEADLETTER, [
                Record(key=str(d.sensor_id or 0).encode(), value=msgspec.json.encode(asdict(d)),
                       headers=(("reason", d.reason.encode()),)) for d in dead])
        return StoredBatch(rows, dead)

    async def run(self) -> None:
        consumer = self.bus.consumer(GROUP, [topics.READINGS_RAW])
        await consumer.start()
        lag_reported = 0.0
        try:
            while not self._stop.is_set():
                messages = await consumer.poll(self.max_records, timeout_s=0.2)
                # When idle the lag is (nearly) zero; while busy it is what operators watch, so report it too.
                if not messages or time.monotonic() - lag_reported > LAG_REPORT_INTERVAL_S:
                    await self._report_lag(consumer)
                    lag_reported = time.monotonic()
                if not messages:
                    continue
                started = time.perf_counter()
                stored = await self._process_until_done(messages)
                await consumer.commit(messages)
                self.stored += sum(len(r.ts) for r in stored.rows)
                metrics.observe_batch(len(messages), time.perf_counter() - started)
                for hook in self.hooks:
                    try:
                        await hook(stored)
                    except Exception:  # a failing hook must not stop storage
                        log.exception("pipeline hook %s failed", hook)
        finally:
            await consumer.stop()

    async def _process_until_done(self, messages: Sequence[Message]) -> StoredBatch:
        delay = 0.1
        while True:
            try:
                return await self.process(messages)
            except Exception:
                if self._stop.is_set():
                    raise
                log.exception("storing a batch of %d messages failed; retrying in %.1f s", len(messages), delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _report_lag(self, consumer: object) -> None:
        lag = getattr(consumer, "lag", None)
        if lag is None:
            return
        with contextlib.suppress(Exception):
            per_partition = await lag()
            metrics.set_consumer_lag(GROUP, topics.READINGS_RAW, sum(per_partition.values()))

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="pipeline")

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
