"""Store and forward: the gateway's durable log → the platform, in order, each record until it is answered.

Mode ``all``: the raw readings (``readings.raw.v1``) as ``POST /api/v1/readings`` (the platform stores each
(sensor, ts) once, so a batch re-sent after a lost answer is harmless). Mode ``summary``: per-minute summaries
(``edge.summaries.v1``) to ``POST /api/v1/edge/summaries`` and alarm events (``edge.alarms.v1``) to
``POST /api/v1/edge/events``, both idempotent on the platform.

One consumer group (``edge-forward``) reads the log; offsets are committed only after the platform answered for
every record of a poll, so a gateway killed or cut off mid-way sends the rest (and perhaps a few again) later.
Records go out in log order, one request at a time: per sensor (readings, summaries) and per alarm (events), the
platform receives them in the order the gateway took them. While the link is down nothing is committed; the log
keeps everything (retention never deletes below a group's committed offset).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from itertools import groupby
from pathlib import Path
from typing import Any

import msgspec

from ghgwatch.bus import Bus, Consumer, Message, topics
from ghgwatch.edge.gateway._supervise import supervise
from ghgwatch.edge.gateway.alarms import ALARMS_TOPIC
from ghgwatch.edge.gateway.summarize import SUMMARIES_TOPIC
from ghgwatch.edge.gateway.upstream import Refused, Upstream, keep_refused
from ghgwatch.ingest.wire import decode
from ghgwatch.kit.aio import cancel_and_wait

log = logging.getLogger(__name__)
GROUP = "edge-forward"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _iso(us: int) -> str:
    return (EPOCH + timedelta(microseconds=us)).isoformat()  # integer arithmetic: not a microsecond lost


class Forwarder:
    def __init__(self, bus: Bus, upstream: Upstream, mode: str, data_dir: Path, *, batch_max: int = 5000) -> None:
        if mode not in ("all", "summary"):
            raise ValueError(f"forward mode must be 'all' or 'summary', got {mode!r}")
        self.bus, self.upstream, self.mode, self.batch_max = bus, upstream, mode, batch_max
        self.refused_path = data_dir / "refused.jsonl"
        self.sent = {"readings": 0, "summaries": 0, "events": 0}
        self.rejected = 0
        self._consumer: Consumer | None = None
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def topics(self) -> list[str]:
        return [topics.READINGS_RAW] if self.mode == "all" else [SUMMARIES_TOPIC, ALARMS_TOPIC]

    def start(self) -> None:
        self._task = asyncio.create_task(supervise("forward", self._run), name="edge-forward")

    async def stop(self) -> None:
        self._stop.set()
        await cancel_and_wait([self._task])

    async def backlog(self) -> int | None:
        """Records not yet acknowledged by the platform (None before the forwarder started)."""
        if self._consumer is None:
            return None
        try:
            return sum((await self._consumer.lag()).values())
        except Exception:  # the bus is stopping
            return None

    async def _run(self) -> None:
        consumer = self.bus.consumer(GROUP, self.topics)
        await consumer.start()
        self._consumer = consumer
        try:
            while True:
                messages = await consumer.poll(200 if self.mode == "all" else 2000, timeout_s=0.5)
                if not messages:
                    continue
                await self.send(messages)
                await consumer.commit(messages)
        finally:
            self._consumer = None
            await consumer.stop()

    async def send(self, messages: Sequence[Message]) -> None:
        """Deliver the records of one poll, in order; returns once the platform answered for each."""
        if self.mode == "all":
            await self._send_readings(messages)
            return
        for topic, run in groupby(messages, key=lambda m: m.topic):
            items = [msgspec.json.decode(m.value) for m in run]
            kind = "summaries" if topic == SUMMARIES_TOPIC else "events"
            for start in range(0, len(items), self.batch_max):
                await self._deliver(f"/api/v1/edge/{kind}", kind, items[start:start + self.batch_max])

    async def _send_readings(self, messages: Sequence[Message]) -> None:
        rows: list[dict[str, Any]] = []
        for m in messages:
            try:
                batch = decode(m.value)
            except msgspec.DecodeError:
                log.error("undecodable record %s/%s/%s in the gateway's log; skipped", m.topic, m.partition, m.offset)
                continue
            rows.extend({"sensor": batch.sensor, "ts": _iso(ts), "value": value, "unit": batch.unit}
                        for ts, value in zip(batch.ts, batch.values, strict=True))
        for start in range(0, len(rows), self.batch_max):
            await self._deliver("/api/v1/readings", "readings", rows[start:start + self.batch_max])

    async def _deliver(self, path: str, kind: str, items: list[Any]) -> None:
        try:
            answer = await self.upstream.deliver(path, {kind: items}, self._stop)
        except Refused as exc:
            keep_refused(self.refused_path, kind, items, exc)
            return
        self.sent[kind] += int(answer.get("accepted", 0))
        rejected = answer.get("rejected") or []
        if rejected:
            self.rejected += len(rejected)
            log.warning("the platform rejected %d of %d %s, e.g. %s", len(rejected), len(items), kind, rejected[0])
