"""A consumer of the embedded log: positions in memory, committed offsets in the store."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from .._types import BusError, CommitError, Message, RebalanceListener, TopicPartition, next_offsets

if TYPE_CHECKING:
    from ._bus import EmbeddedBus
    from ._partition import PartitionLog
    from ._store import LogStore


class EmbeddedConsumer:
    def __init__(self, bus: EmbeddedBus, group: str, topics: Sequence[str],
                 listener: RebalanceListener | None = None) -> None:
        self._bus = bus
        del listener  # one member per group, which owns every partition while it runs: nothing ever moves
        self.group = group
        self.topics = list(topics)
        self._event = asyncio.Event()
        self._store: LogStore | None = None
        self._logs: list[tuple[TopicPartition, PartitionLog]] = []
        self._positions: dict[TopicPartition, int] = {}
        self._lock = asyncio.Lock()
        self._rotation = 0

    async def start(self) -> None:
        if self._store is not None:
            raise BusError("consumer already started")
        logs = [
            (TopicPartition(t, log.partition), log) for t in self.topics for log in await self._bus.partitions_of(t)
        ]
        store = self._bus.attach(self.group, self._event)
        committed = store.committed(self.group)
        self._logs = logs
        self._positions = {tp: max(committed.get(tp, 0), log.log_start) for tp, log in logs}
        self._store = store

    async def stop(self) -> None:
        if self._store is not None:
            self._store = None
            self._bus.detach(self.group, self._event)
            self._event.set()

    def _running(self) -> LogStore:
        if self._store is None or self._bus._store is not self._store:
            raise BusError("the consumer (or its bus) is not running")
        return self._store

    async def poll(self, max_records: int = 1000, timeout_s: float = 1.0) -> list[Message]:
        if max_records < 1:
            raise ValueError("max_records must be at least 1")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        async with self._lock:
            while True:
                self._running()
                self._event.clear()  # before looking: a publish after the look sets it again
                ready = [(tp, log) for tp, log in self._logs if log.high_watermark > self._positions[tp]]
                if ready:
                    # Read in a thread, advance positions here: a cancelled poll then loses nothing.
                    messages, positions = await asyncio.to_thread(self._read, ready, max_records)
                    self._positions.update(positions)
                    if messages:
                        return messages
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return []
                try:
                    await asyncio.wait_for(self._event.wait(), remaining)
                except TimeoutError:
                    return []

    def _read(
        self, ready: list[tuple[TopicPartition, PartitionLog]], max_records: int
    ) -> tuple[list[Message], dict[TopicPartition, int]]:
        # Rotate the starting partition so that one partition's backlog cannot starve the others.
        self._rotation = (self._rotation + 1) % len(ready)
        out: list[Message] = []
        positions: dict[TopicPartition, int] = {}
        for tp, log in ready[self._rotation :] + ready[: self._rotation]:
            got = log.read(self._positions[tp], max_records - len(out))
            if got:
                positions[tp] = got[-1].offset + 1
                out += got
            if len(out) >= max_records:
                break
        return out, positions

    async def commit(self, offsets: Iterable[Message] | Mapping[TopicPartition, int]) -> None:
        store = self._running()
        wanted = next_offsets(offsets)
        if not wanted:
            return
        logs = dict(self._logs)
        for tp, offset in wanted.items():
            log = logs.get(tp)
            if log is None:
                raise CommitError(f"{tp} is not in this consumer's subscription")
            if not 0 <= offset <= log.high_watermark:
                raise CommitError(f"offset {offset} of {tp} is beyond the log end {log.high_watermark}")
        try:
            await asyncio.to_thread(store.commit, self.group, wanted)
        except OSError as exc:
            raise CommitError(f"writing the offsets of group {self.group!r} failed: {exc}") from exc

    async def lag(self) -> dict[TopicPartition, int]:
        store = self._running()
        committed = store.committed(self.group)
        return {tp: log.high_watermark - max(committed.get(tp, 0), log.log_start) for tp, log in self._logs}
