"""Per-minute summaries (forwarding mode ``summary``): count, sum, min, max and last value of each sensor and
minute, in the sensor's unit, written to the durable topic ``edge.summaries.v1`` for the forwarder.

A minute of a sensor is closed once a reading of a later minute of that sensor has arrived (a sensor's readings
arrive in order), or once the minute is over and none of its readings arrived for ``grace_s``. Exactly once:

* raw offsets are committed only below the first message of any minute still open, so a restart rebuilds the
  open minutes from the log;
* the last closed minute of each sensor is kept in ``summaries.json`` (written atomically after the summaries
  are durable and before the offsets are committed), and readings of minutes up to it are skipped on replay.

A reading that arrives after its minute was closed is kept in the raw log but not summarised (counted as
``late``): summaries are what the platform shows and the inventory reads; the raw log at the site has everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec

from ghgwatch.bus import Bus, Message, Record, TopicPartition, topics
from ghgwatch.edge.gateway._supervise import supervise
from ghgwatch.edge.gateway.state import EdgeState, write_atomically
from ghgwatch.edge.schemas import Summary
from ghgwatch.ingest.wire import decode
from ghgwatch.kit.aio import cancel_and_wait
from ghgwatch.pipeline.validate import check_many

log = logging.getLogger(__name__)
SUMMARIES_TOPIC = "edge.summaries.v1"
GROUP = "edge-summaries"
MINUTE_US = 60_000_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class _Minute:
    count: int = 0
    sum: float = 0.0
    min: float = float("inf")
    max: float = float("-inf")
    last: float = 0.0
    last_ts: int = -1
    arrived: float = 0.0
    first: dict[TopicPartition, int] = field(default_factory=dict)
    """Offset of the first message that fed this minute, per partition."""

    def add(self, ts: int, value: float, tp: TopicPartition, offset: int, now: float) -> None:
        self.count += 1
        self.sum += value
        self.min = min(self.min, value)
        self.max = max(self.max, value)
        if ts >= self.last_ts:
            self.last, self.last_ts = value, ts
        self.arrived = now
        if tp not in self.first:
            self.first[tp] = offset


def _dt(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


class Summarizer:
    def __init__(self, bus: Bus, state: EdgeState, data_dir: Path, *, grace_s: float = 10.0) -> None:
        self.bus, self.state, self.grace_s = bus, state, grace_s
        self.path = data_dir / "summaries.json"
        self.closed: dict[int, int] = {}
        """Per sensor, the start (µs) of its last summarised minute."""
        self.late = 0
        self.summaries = 0
        self._open: dict[tuple[int, int], _Minute] = {}
        self._latest: dict[int, int] = {}
        self._polled: dict[TopicPartition, int] = {}
        self._task: asyncio.Task[None] | None = None
        with contextlib.suppress(FileNotFoundError):
            self.closed = {int(k): v for k, v in msgspec.json.decode(self.path.read_bytes()).items()}

    def start(self) -> None:
        self._task = asyncio.create_task(supervise("summaries", self._run), name="edge-summaries")

    async def stop(self) -> None:
        await cancel_and_wait([self._task])

    async def _run(self) -> None:
        self._open, self._latest, self._polled = {}, {}, {}  # rebuilt from the log's committed offsets
        consumer = self.bus.consumer(GROUP, [topics.READINGS_RAW])
        await consumer.start()
        committed: dict[TopicPartition, int] = {}
        try:
            while True:
                messages = await consumer.poll(5000, timeout_s=0.5)
                self.add(messages)
                commit = await self.flush()
                if commit and commit != committed:
                    await consumer.commit(commit)
                    committed = commit
        finally:
            await consumer.stop()

    def add(self, messages: list[Message], now: float | None = None) -> None:
        arrived = time.monotonic() if now is None else now
        for m in messages:
            tp = TopicPartition(m.topic, m.partition)
            self._polled[tp] = max(self._polled.get(tp, -1), m.offset)
            try:
                batch = decode(m.value)
            except msgspec.DecodeError:
                continue
            checked = check_many([batch], self.state.metas, time.time_ns() // 1000)
            for sensor, ts, values in zip(checked.sensors, checked.ts, checked.values, strict=True):
                done = self.closed.get(sensor, -1)
                for t, v in zip(ts.tolist(), values.tolist(), strict=True):
                    minute = t - t % MINUTE_US
                    if minute <= done:
                        self.late += 1
                        continue
                    self._open.setdefault((sensor, minute), _Minute()).add(t, v, tp, m.offset, arrived)
                    self._latest[sensor] = max(self._latest.get(sensor, minute), minute)

    def closable(self, now_mono: float | None = None, now_wall: float | None = None) -> list[tuple[int, int]]:
        mono = time.monotonic() if now_mono is None else now_mono
        wall_us = int((time.time() if now_wall is None else now_wall) * 1e6)
        grace_us = int(self.grace_s * 1e6)
        out = []
        for (sensor, minute), m in self._open.items():
            later = self._latest.get(sensor, minute) > minute
            over = wall_us >= minute + MINUTE_US + grace_us and mono - m.arrived >= self.grace_s
            if later or over:
                out.append((sensor, minute))
        return sorted(out, key=lambda k: (k[1], k[0]))

    async def flush(self) -> dict[TopicPartition, int]:
        """Publish closed minutes, remember them, and return the offsets that may be committed now."""
        keys = self.closable()
        if keys:
            summaries = []
            for key in keys:
                m = self._open.pop(key)
                summaries.append(Summary(sensor=key[0], minute=_dt(key[1]), count=m.count, sum=m.sum, min=m.min,
                                         max=m.max, last=m.last, last_ts=_dt(m.last_ts)))
            await self.bus.publish(SUMMARIES_TOPIC, [Record(key=str(s.sensor).encode(), value=msgspec.json.encode(s))
                                                     for s in summaries])
            for sensor, minute in keys:
                self.closed[sensor] = max(self.closed.get(sensor, -1), minute)
            await asyncio.to_thread(write_atomically, self.path, msgspec.json.encode(self.closed), 0o644)
            self.summaries += len(summaries)
        commit: dict[TopicPartition, int] = {}
        for tp, last in self._polled.items():
            firsts = [m.first[tp] for m in self._open.values() if tp in m.first]
            commit[tp] = min(firsts) if firsts else last + 1
        return commit

    @property
    def open_minutes(self) -> int:
        return len(self._open)
