"""The pipeline consumer loop: poll a batch, validate, store in one transaction, run the hooks, then commit offsets.

Offsets are committed only after the store transaction commits, and storing is idempotent (unique
(sensor, ts), rollups merged only from new readings, dead letters keyed by bus position), so a crash at any
point loses nothing acknowledged and stores nothing twice.

A batch that cannot be stored is retried with back-off for as long as the database is unreachable (an outage
blocks, never drops). When the database answers but the batch still fails ``max_attempts`` times, the batch is
split in halves until the records that fail on their own are found; each of those goes to the dead letters
(reason ``storage``, with its raw bytes) so that one poison record never blocks its partition.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import msgspec
import numpy as np
from sqlalchemy import text

from ghgwatch.bus import Bus, CommitError, Consumer, Message, RebalanceListener, Record, topics
from ghgwatch.ingest.wire import SensorBatch, decode
from ghgwatch.observability import metrics, tracing
from ghgwatch.pipeline.validate import WRONG_ORGANIZATION, check_many
from ghgwatch.readings.writer import DeadLetterRow, SensorRows, store_dead_letters, write_batch
from ghgwatch.registry.cache import SensorCache
from ghgwatch.store import Database
from ghgwatch.store.failures import is_outage

if TYPE_CHECKING:
    from ghgwatch.pipeline.store_process import StoreProcess

log = logging.getLogger(__name__)
GROUP = "pipeline"
LAG_REPORT_INTERVAL_S = 5.0
DAY_US = 86_400_000_000


class StorageDown(RuntimeError):
    """Storing failed and so did setting a record aside: the database itself is not taking writes."""


@dataclass(frozen=True)
class StoredBatch:
    """What a batch stored, for the hooks that run after the commit (alert rules, detectors, gauges)."""

    rows: Sequence[SensorRows]
    dead: Sequence[DeadLetterRow]
    trace: Mapping[int, Mapping[str, str]] = field(default_factory=dict)
    """Per sensor, the trace context of its stored readings (``pipeline.store`` span; empty when tracing is
    off): alerts opened by them continue that trace."""


StoredHook = Callable[[StoredBatch], Awaitable[None]]


def min_ts_us(now_us: int, raw_retention_days: float | None) -> int | None:
    """Start of the oldest day still kept raw; older readings are refused (see retention)."""
    if raw_retention_days is None:
        return None
    return (now_us // DAY_US - int(raw_retention_days)) * DAY_US


def _reading(batch: SensorBatch, i: int) -> dict[str, object]:
    ts = datetime.fromtimestamp(batch.ts[i] / 1e6, tz=UTC).isoformat()
    return {"sensor": batch.sensor, "ts": ts, "value": batch.values[i], "unit": batch.unit, "device": batch.device}


async def store_messages(db: Database, sensors: SensorCache, messages: Sequence[Message],
                         min_ts: int | None) -> tuple[StoredBatch, list[float]]:
    """Decode, validate and store one poll in one transaction (nothing published).

    Returns what was stored and a sample of accept-to-stored latencies in seconds (a few hundred a poll at most,
    uniformly spaced, which keeps the histogram's shape). Runs in the pipeline's process or in its store
    process (:mod:`ghgwatch.pipeline.store_process`).
    """
    decoded: list[tuple[Message, SensorBatch]] = []
    dead: list[DeadLetterRow] = []
    for m in messages:
        try:
            decoded.append((m, decode(m.value)))
        except msgspec.DecodeError as exc:
            dead.append(DeadLetterRow(f"{m.topic}/{m.partition}/{m.offset}", None, None, "bus", "malformed",
                                      str(exc), {"raw": m.value[:200].hex()}))
    metas = await sensors.lookup({b.sensor for _, b in decoded})
    now_us = time.time_ns() // 1000
    checked = check_many([b for _, b in decoded], metas, now_us, min_ts)
    rows = [SensorRows(*parts) for parts in zip(checked.sensors, checked.ts, checked.values, checked.quality,
                                                strict=True)]
    for bi, index, reason, detail in checked.rejected:
        m, batch = decoded[bi]
        # A record claiming another organisation's sensor is kept for the platform's administrators only:
        # filed under either organisation it would put a stranger's text into that organisation's queue.
        owner = None if reason == WRONG_ORGANIZATION else batch.organization
        dead.append(DeadLetterRow(f"{m.topic}/{m.partition}/{m.offset}/{index}", owner,
                                  batch.sensor, batch.transport, reason, detail, _reading(batch, index)))
    carriers: dict[str, dict[str, str]] = {}
    per_sensor: dict[int, str] = {}
    if tracing.tracing_enabled():
        for m, b in decoded:
            if carrier := tracing.carrier_of(m.headers):
                carriers.setdefault(carrier["traceparent"], carrier)
                per_sensor[b.sensor] = carrier["traceparent"]
    spans = {tp: tracing.start_span("pipeline.store", parent=c) for tp, c in carriers.items()}
    try:
        with tracing.span("pipeline.batch", links=list(carriers.values())[:64], messages=len(messages)), \
                tracing.span("store.write", readings=sum(len(r.ts) for r in rows)):
            await write_batch(db, rows, dead)
    finally:
        for handle in spans.values():
            tracing.end_span(handle)
    trace = {sensor: tracing.carrier_for(spans[tp]) for sensor, tp in per_sensor.items()}
    stored_at = time.time_ns() // 1000
    waited: list[float] = []
    if checked.accepted_us:
        accepted = np.concatenate(checked.accepted_us)
        # A few hundred observations a poll at most: each is a Python call into the histogram (py-spy: 3 % of the
        # server's GIL time at ~1,000 a poll); that many keep the distribution's shape.
        step = max(1, len(accepted) // 200)
        waited = ((stored_at - accepted[::step]) / 1e6).tolist()
    return StoredBatch(rows, dead, trace), waited


class Pipeline:
    def __init__(self, bus: Bus, db: Database, sensors: SensorCache, *, max_records: int = 5000,
                 hooks: list[StoredHook] | None = None, max_attempts: int = 5, retry_cap_s: float = 5.0,
                 raw_retention_days: float | None = None,
                 listener: RebalanceListener | None = None, store_process: StoreProcess | None = None) -> None:
        self.bus = bus
        self.db = db
        self.sensors = sensors
        self.max_records = max_records
        self.hooks = hooks or []
        self.max_attempts = max_attempts
        self.retry_cap_s = retry_cap_s
        self.raw_retention_days = raw_retention_days
        self.listener = listener
        """Hears which partitions of ``readings.raw.v1`` this replica consumes (the alert service's hand-over)."""
        self.store_process = store_process
        """Where decoding, validation and the store transaction run (embedded mode: a process of their own, so
        that they do not share one interpreter with the API); None: in this process."""
        self.stored = 0
        self.consumer: Consumer | None = None
        """The running consumer (its positions and lag tell where a stalled pipeline stands; tests)."""
        self.polls = 0
        """Polls of the bus so far: a pipeline that keeps polling is not stalled (tests, diagnostics)."""
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def process(self, messages: Sequence[Message]) -> StoredBatch:
        now_us = time.time_ns() // 1000
        if self.store_process is not None and not tracing.tracing_enabled():
            stored, waited = await self.store_process.process(messages, self._min_ts(now_us))
        else:  # in this process (and always with tracing: its spans belong to this process's exporter)
            stored, waited = await store_messages(self.db, self.sensors, messages, self._min_ts(now_us))
        if waited:
            metrics.observe_accept_to_stored(waited)
        counts = Counter((d.reason, d.transport) for d in stored.dead)
        for (reason, transport), n in counts.items():
            metrics.observe_rejected(reason, transport, n)
        if stored.dead:
            await self.bus.publish(topics.READINGS_DEADLETTER, [
                Record(key=str(d.sensor_id or 0).encode(), value=msgspec.json.encode(asdict(d)),
                       headers=(("reason", d.reason.encode()),)) for d in stored.dead])
        return stored

    def _min_ts(self, now_us: int) -> int | None:
        return min_ts_us(now_us, self.raw_retention_days)

    async def run(self) -> None:
        """Consume until stopped; an unexpected failure of the loop restarts it (from committed offsets)."""
        while not self._stop.is_set():
            try:
                await self._consume()
            except asyncio.CancelledError:
                raise
            except Exception:
                if self._stop.is_set():
                    raise
                log.exception("pipeline loop failed; restarting it in 1 s")
                await asyncio.sleep(1.0)

    async def _consume(self) -> None:
        # The store process starts with the first batch, not here: its start-up (imports) would compete with
        # this process's own for the CPU and delay the moment the API answers.
        consumer = self.bus.consumer(GROUP, [topics.READINGS_RAW], listener=self.listener)
        await consumer.start()
        self.consumer = consumer
        lag_reported = 0.0
        # Batches in flight, oldest first. N's hooks and offset commit run while N+1 is being stored; with the
        # store process N+1 is handed over while N is still being stored, so that the child finds it waiting in
        # its input instead of waiting for this event loop's turn, which it shares with the API (at saturation
        # the child was idle half the time, docs/benchmarks.md). Hooks and commits stay in batch order, and a
        # batch's offsets are committed only after it is stored; a crash re-delivers the batches in flight
        # (storing is idempotent).
        pending: deque[tuple[Sequence[Message], asyncio.Task[StoredBatch], float]] = deque()
        try:
            while not self._stop.is_set():
                # With batches in flight, take only what is there: their hooks and commits must not wait for more.
                messages = await consumer.poll(self.max_records, timeout_s=0.2 if not pending else 0.0)
                self.polls += 1
                # When idle the lag is (nearly) zero; while busy it is what operators watch, so report it too.
                if (not messages and not pending) or time.monotonic() - lag_reported > LAG_REPORT_INTERVAL_S:
                    await self._report_lag(consumer)
                    lag_reported = time.monotonic()
                # Wait for the oldest batch when the new one would be one too many in flight, or when the bus had
                # nothing new (rather than polling in a busy loop).
                finished = None
                if pending and (len(pending) + bool(messages) > self._window() or not messages):
                    done, task, handed = pending.popleft()
                    finished = (done, await task, time.perf_counter() - handed)
                if messages:
                    pending.append((messages, asyncio.create_task(self._store(messages)), time.perf_counter()))
                if finished is not None:
                    await self._after_store(consumer, *finished)
            while pending:  # stopping: finish the batches in hand
                done, task, handed = pending.popleft()
                stored = await task
                await self._after_store(consumer, done, stored, time.perf_counter() - handed)
        finally:
            # The loop failed: the batches in flight are delivered again from the committed offsets.
            for _, task, _ in pending:
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
            self.consumer = None
            await consumer.stop()

    def _window(self) -> int:
        """Batches in storage at once: two with the store process (its input holds the next batch while it stores
        one), one in this process (one store transaction at a time, as before)."""
        return 2 if self.store_process is not None and not tracing.tracing_enabled() else 1

    async def _after_store(self, consumer: Consumer, messages: Sequence[Message], stored: StoredBatch,
                           stored_s: float) -> None:
        """A stored batch's hooks, then its offsets."""
        self.stored += sum(len(r.ts) for r in stored.rows)
        # The hooks (alert rules) before the offsets commit: a crash in between delivers the batch again,
        # judged again as a replay (docs/alerts.md), where after the commit it left stored readings unjudged.
        for hook in self.hooks:
            try:
                await hook(stored)
            except Exception:  # a failing hook must not stop storage
                log.exception("pipeline hook %s failed", hook)
        committing = time.perf_counter()
        try:
            await consumer.commit(messages)
        except CommitError as exc:  # e.g. a rebalance: the new owner re-reads them (idempotent)
            log.warning("committing offsets failed, the batch may be delivered again: %s", exc)
        metrics.observe_batch(len(messages), stored_s + time.perf_counter() - committing)  # store + commit

    async def _store(self, messages: Sequence[Message], *, bisecting: bool = False) -> StoredBatch:
        """Process ``messages`` until stored; isolate and set aside the records that fail on their own."""
        # Only failures with the database up count against the records (``suspect``): an outage, and an error
        # that itself says the database or the connection failed ("starting up" after a restart), never do.
        delay, attempts, suspect = 0.1, 0, 0
        while True:
            try:
                return await self.process(messages)
            except Exception as exc:
                if self._stop.is_set():
                    raise
                attempts += 1
                metrics.PIPELINE_STORE_RETRIES.inc()
                healthy = not is_outage(exc) and await self._storage_answers()
                if healthy:
                    suspect += 1
                if healthy and len(messages) > 1 and suspect >= (1 if bisecting else self.max_attempts):
                    log.warning("a batch of %d messages failed %d times with the database up; looking for the "
                                "records that fail on their own", len(messages), suspect)
                    try:
                        return await self._bisect(messages)
                    except StorageDown:
                        if bisecting:
                            raise
                        log.exception("the database stopped taking writes while isolating a poison record")
                elif healthy and len(messages) == 1 and suspect >= self.max_attempts:
                    return await self._set_aside(messages[0], exc, suspect)
                if attempts == 1 or attempts % 10 == 0:
                    log.exception("storing a batch of %d messages failed (attempt %d, database %s); retrying",
                                  len(messages), attempts, "answers" if healthy else "unreachable")
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.retry_cap_s)

    async def _bisect(self, messages: Sequence[Message]) -> StoredBatch:
        mid = len(messages) // 2
        first = await self._store(messages[:mid], bisecting=True)
        second = await self._store(messages[mid:], bisecting=True)
        return StoredBatch([*first.rows, *second.rows], [*first.dead, *second.dead], {**first.trace, **second.trace})

    async def _storage_answers(self) -> bool:
        try:
            async with asyncio.timeout(5.0), self.db.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:  # unreachable, refused, timed out: an outage, not a poison record
            return False
        return True

    async def _set_aside(self, message: Message, exc: BaseException, attempts: int) -> StoredBatch:
        """Dead-letter one record that made storage fail every time (its raw bytes, the error)."""
        row = DeadLetterRow(f"{message.topic}/{message.partition}/{message.offset}", None, None, "bus", "storage",
                            f"storing failed {attempts} times: {type(exc).__name__}: {exc}"[:500],
                            {"raw": message.value[:2000].hex()})
        try:
            await store_dead_letters(self.db, [row])
        except Exception as failure:
            raise StorageDown(f"setting a poison record aside failed too: {failure}") from failure
        log.error("record %s made storage fail %d times; set aside as a dead letter (reason storage): %s",
                  row.ref, attempts, exc)
        metrics.observe_rejected("storage", "other")
        with contextlib.suppress(Exception):  # the table row is what counts; the topic copy is a convenience
            await self.bus.publish(topics.READINGS_DEADLETTER, [Record(
                key=b"0", value=msgspec.json.encode(asdict(row)), headers=(("reason", b"storage"),))])
        return StoredBatch([], [row])

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
        if self.store_process is not None:
            await self.store_process.stop()
