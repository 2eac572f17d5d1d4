"""Group commit: one writer thread appends every pending publish call, then one fdatasync per touched
partition covers them all, then all their futures are resolved at once on the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .._partitioner import partition_for
from .._types import BusError, PublishError, Record
from ._partition import PartitionLog
from ._segment import TornSegment

log = logging.getLogger(__name__)

Results = list[tuple["asyncio.Future[None]", BaseException | None]]


@dataclass(slots=True)
class _Request:
    logs: list[PartitionLog]
    records: Sequence[Record]
    future: asyncio.Future[None]


class GroupCommitWriter:
    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        on_round: Callable[[Results], None],
        housekeep: Callable[[], None],
        housekeeping_s: float,
    ) -> None:
        self._loop = loop
        self._on_round = on_round
        self._housekeep = housekeep
        self._housekeeping_s = housekeeping_s
        self._cond = threading.Condition()
        self._pending: list[_Request] = []
        self._closing = False
        self._broken: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="ghgwatch-bus-writer", daemon=True)
        self.rounds = 0

    def start(self) -> None:
        self._thread.start()

    def submit(self, logs: list[PartitionLog], records: Sequence[Record]) -> asyncio.Future[None]:
        """Queue a publish call (event-loop thread); the future resolves after its fsync."""
        future: asyncio.Future[None] = self._loop.create_future()
        with self._cond:
            if self._broken is not None:
                raise PublishError(f"the embedded log failed and must be reopened: {self._broken}")
            if self._closing:
                raise BusError("the bus is stopping")
            self._pending.append(_Request(logs, records, future))
            self._cond.notify()
        return future

    def close(self) -> None:
        """Finish the pending calls and stop the thread (blocking)."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        next_housekeeping = 0.0
        while True:
            with self._cond:
                while not self._pending and not self._closing:
                    if time.monotonic() >= next_housekeeping:
                        break
                    self._cond.wait(max(next_housekeeping - time.monotonic(), 0.001))
                batch, self._pending = self._pending, []
                closing = self._closing
            if batch:
                self._write_round(batch)
            if time.monotonic() >= next_housekeeping and self._broken is None:
                self._run_housekeeping()
                next_housekeeping = time.monotonic() + self._housekeeping_s
            if closing and not batch:
                return

    def _run_housekeeping(self) -> None:
        try:
            self._housekeep()
        except Exception:  # retention must never stop publishing; it is tried again next time
            log.exception("bus: housekeeping (segment roll, retention) failed")

    def _write_round(self, batch: list[_Request]) -> None:
        results: Results = []
        dirty: dict[int, PartitionLog] = {}
        timestamp_ms = int(time.time() * 1000)
        for request in batch:
            if self._broken is not None:
                results.append((request.future, PublishError(f"embedded log failed: {self._broken}")))
                continue
            try:
                self._append(request, timestamp_ms, dirty)
            except ValueError as exc:  # this call's fault (a frame too large): only it fails
                results.append((request.future, PublishError(str(exc))))
            except TornSegment as exc:  # the file state is unknown until recovery on reopen
                log.error("bus: write failed, embedded log disabled until restart: %s", exc)
                self._broken = exc
                results.append((request.future, PublishError(f"embedded log write failed: {exc}")))
            except OSError as exc:  # e.g. disk full: the segment was cut back, only this call fails
                log.warning("bus: write failed (%s); the publish is refused, the log stays consistent", exc)
                results.append((request.future, PublishError(f"embedded log write failed: {exc}")))
            else:
                results.append((request.future, None))
        try:
            for partition_log in dirty.values():
                partition_log.sync()
        except OSError as exc:  # never retry a failed fsync: the page cache may have dropped the data
            log.error("bus: fsync failed, embedded log disabled until restart: %s", exc)
            self._broken = exc
        if self._broken is not None:
            results = [(f, e or PublishError(f"embedded log fsync failed: {self._broken}")) for f, e in results]
        else:
            for partition_log in dirty.values():
                partition_log.publish_visible()
        self.rounds += 1
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is waiting any more
            self._loop.call_soon_threadsafe(self._on_round, results)

    @staticmethod
    def _append(request: _Request, timestamp_ms: int, dirty: dict[int, PartitionLog]) -> None:
        logs, records = request.logs, request.records
        count = len(logs)
        if count == 1:
            groups: dict[int, list[Record]] = {0: list(records)}
        else:
            groups = {}
            for record in records:
                p = partition_for(record.key, count)
                bucket = groups.get(p)
                if bucket is None:
                    groups[p] = [record]
                else:
                    bucket.append(record)
        for p, items in groups.items():
            partition_log = logs[p]
            partition_log.append(items, timestamp_ms)
            dirty[id(partition_log)] = partition_log
