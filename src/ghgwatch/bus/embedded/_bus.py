"""The embedded bus: a durable log on local disk for the one process that runs ``ghgwatch up``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .._types import BusError, RebalanceListener, Record, TopicPartition
from ..topics import check_name
from ._consumer import EmbeddedConsumer
from ._partition import LogConfig, PartitionLog
from ._store import LogStore
from ._writer import GroupCommitWriter, Results

if TYPE_CHECKING:
    from .._registry import BusUrl

_INT_OPTIONS = {"partitions", "segment_bytes", "retention_bytes", "index_interval"}
_FLOAT_OPTIONS = {"segment_s", "retention_s", "housekeeping_s"}


class EmbeddedBus:
    """Append-only segment files per topic-partition with group commit, CRC framing and crash recovery.

    Single-process: the log directory is locked (``flock``) while the bus runs; a second process (or a
    second bus in this one) gets :class:`~ghgwatch.bus.BusLockedError`. Within one process, one consumer
    per group may be running at a time.
    """

    def __init__(self, root: Path, config: LogConfig | None = None) -> None:
        self.root = root
        self.config = config or LogConfig()
        self._store: LogStore | None = None
        self._writer: GroupCommitWriter | None = None
        self._waiters: set[asyncio.Event] = set()
        self._active_groups: set[str] = set()

    @classmethod
    def from_url(cls, url: BusUrl, *, data_dir: Path) -> EmbeddedBus:
        root = data_dir / "bus" if not url.location else data_dir / url.location  # absolute wins in "/"
        kwargs: dict[str, float] = {}
        for key, value in url.options.items():
            if key in _INT_OPTIONS:
                kwargs[key] = int(value)
            elif key in _FLOAT_OPTIONS:
                kwargs[key] = float(value)
            else:
                raise BusError(f"unknown option {key!r} for the embedded bus")
        return cls(root, LogConfig(**kwargs))  # type: ignore[arg-type]

    async def start(self) -> None:
        if self._store is not None:
            raise BusError("bus already started")
        store = LogStore(self.root, self.config)
        await asyncio.to_thread(store.open)
        writer = GroupCommitWriter(
            asyncio.get_running_loop(), self._round_done, self._housekeep, self.config.housekeeping_s
        )
        try:
            writer.start()
        except BaseException:
            store.close()
            raise
        self._store, self._writer = store, writer

    async def stop(self) -> None:
        store, writer = self._store, self._writer
        self._store = self._writer = None
        try:
            if writer is not None:
                await asyncio.to_thread(writer.close)
        finally:
            if store is not None:
                store.close()
            for event in self._waiters:  # wake pollers so they see the bus is gone
                event.set()
            self._waiters.clear()
            self._active_groups.clear()

    def _running_store(self) -> LogStore:
        if self._store is None:
            raise BusError("the bus is not started")
        return self._store

    async def ensure_topics(self, topics: Sequence[str], *, partitions: int | None = None) -> None:
        store = self._running_store()
        for topic in topics:
            if topic not in store.topics:
                await asyncio.to_thread(store.ensure_topic, topic, partitions)

    async def partitions_of(self, topic: str) -> list[PartitionLog]:
        store = self._running_store()
        logs = store.topics.get(topic)
        if logs is None:
            logs = await asyncio.to_thread(store.ensure_topic, check_name(topic))
        return logs

    async def publish(self, topic: str, records: Sequence[Record]) -> None:
        if not records:
            return
        logs = await self.partitions_of(topic)
        if self._writer is None:
            raise BusError("the bus is not started")
        await self._writer.submit(logs, records)

    def consumer(self, group: str, topics: Sequence[str], *,
                 listener: RebalanceListener | None = None) -> EmbeddedConsumer:
        return EmbeddedConsumer(self, check_name(group, "group"), [check_name(t) for t in topics], listener)

    def backlog(self, group: str, topic: str) -> int | None:
        """Records of ``topic`` not yet committed by ``group`` (None: the topic does not exist yet)."""
        store = self._store
        logs = store.topics.get(topic) if store is not None else None
        if store is None or logs is None:
            return None
        committed = store.committed(group)
        return sum(max(log.high_watermark - max(committed.get(TopicPartition(topic, log.partition), 0),
                                                log.log_start), 0) for log in logs)

    def enforce_retention(self) -> None:
        """Run segment rolling and retention now (blocking; also done every ``housekeeping_s``)."""
        self._housekeep()

    # --- used by the writer thread and the consumers ----------------------------------------------

    def _round_done(self, results: Results) -> None:
        for future, error in results:
            if not future.done():
                if error is None:
                    future.set_result(None)
                else:
                    future.set_exception(error)
        for event in self._waiters:
            event.set()

    def _housekeep(self) -> None:
        store = self._store
        if store is None:
            return
        now = time.time()
        for topic, logs in list(store.topics.items()):
            for log in logs:
                log.housekeep(store.min_committed(TopicPartition(topic, log.partition)), now)

    def attach(self, group: str, event: asyncio.Event) -> LogStore:
        store = self._running_store()
        if group in self._active_groups:
            raise BusError(f"a consumer of group {group!r} is already running on this embedded bus")
        self._active_groups.add(group)
        self._waiters.add(event)
        return store

    def detach(self, group: str, event: asyncio.Event) -> None:
        self._active_groups.discard(group)
        self._waiters.discard(event)
