"""The pipeline's store step in a process of its own (embedded mode).

``ghgwatch up`` runs the API, the embedded log and the pipeline in one process, so ingest (HTTP, JSON) and
storage (decode, validation, the SQLite transaction) took turns on one interpreter: with py-spy under load the
API's event loop and the store's Python side together were one core at most, while the machine has two. Here
the pipeline keeps its consumer (the embedded log is single-process: ``flock``), its offset commits and its
hooks, and sends each poll's record values to a child process that decodes, validates and stores them in one
transaction and answers with what it stored. The contract of :meth:`Pipeline.process` is unchanged: the answer
comes after the commit, offsets are committed after the answer, storing is idempotent.

Framing over the child's stdin/stdout: 8-byte big-endian length, then a pickle (both ends are this code). A child
that dies is started again on the next batch; the batch it was storing fails (the pipeline retries it, and a
re-delivery is harmless). When its parent dies, the child reads end-of-file and exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import struct
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ghgwatch.bus import Message

if TYPE_CHECKING:
    from ghgwatch.pipeline.runner import StoredBatch

log = logging.getLogger(__name__)
_HEADER = struct.Struct(">Q")
START_TIMEOUT_S = 120.0
"""Importing the store code in a fresh interpreter takes 1-3 s on a quiet machine; far longer under load."""


class StoreProcessError(RuntimeError):
    """The store process failed to store a batch (its error text) or died."""

    def __init__(self, message: str, *, storage_outage: bool = False) -> None:
        super().__init__(message)
        self.storage_outage = storage_outage
        """The child's error was an outage of the database (``store/failures.py``), not the batch's fault."""


Wire = tuple[str, int, int, bytes, tuple[tuple[str, bytes], ...]]


def _to_wire(messages: Sequence[Message]) -> list[Wire]:
    return [(m.topic, m.partition, m.offset, m.value, tuple(m.headers)) for m in messages]


def _from_wire(items: list[Wire]) -> list[Message]:
    return [Message(topic, partition, offset, b"", value, headers, 0.0)
            for topic, partition, offset, value, headers in items]


class StoreProcess:
    """The parent's handle: starts the child on first use and again after it died."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self._proc: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()
        """Held while a batch is written to the child (and while the child starts)."""
        self._answered: asyncio.Future[None] | None = None
        """Resolved when the answer to the batch written last has been read (or its exchange failed)."""
        self.starts = 0

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    async def _ensure(self) -> asyncio.subprocess.Process:
        proc = self._proc
        if proc is not None and proc.returncode is None:
            return proc
        self._proc = None
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", "from ghgwatch.pipeline.store_process import main; main()", self.database_url,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        try:
            reply = await asyncio.wait_for(self._receive(proc), START_TIMEOUT_S)
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            raise
        if reply != ("ready",):
            proc.kill()
            raise StoreProcessError(f"the store process did not start: {reply!r}")
        self._proc = proc
        self.starts += 1
        log.info("pipeline store process %d started", proc.pid)
        return proc

    @staticmethod
    async def _receive(proc: asyncio.subprocess.Process) -> Any:
        assert proc.stdout is not None
        try:
            size = _HEADER.unpack(await proc.stdout.readexactly(_HEADER.size))[0]
            return pickle.loads(await proc.stdout.readexactly(size))  # noqa: S301 (our own child process)
        except asyncio.IncompleteReadError as exc:
            raise StoreProcessError("the store process exited") from exc

    async def start(self) -> None:
        """Start the child now (else the first batch starts it)."""
        async with self._lock:
            await self._ensure()

    async def process(self, messages: Sequence[Message], min_ts: int | None) -> tuple[StoredBatch, list[float]]:
        """Store one poll in the child; returns what :func:`ghgwatch.pipeline.runner.store_messages` returns.

        Calls may overlap: each writes its batch as soon as the previous one is written and reads its answer
        after the previous answer was read (the child stores them in the order written), so the child finds the
        next batch waiting in its input (:meth:`ghgwatch.pipeline.runner.Pipeline._window`)."""
        payload = pickle.dumps((_to_wire(messages), min_ts), protocol=pickle.HIGHEST_PROTOCOL)
        answered = asyncio.get_running_loop().create_future()
        try:
            async with self._lock:
                proc = await self._ensure()
                assert proc.stdin is not None
                previous, self._answered = self._answered, answered
                try:
                    proc.stdin.write(_HEADER.pack(len(payload)) + payload)
                    await proc.stdin.drain()
                except ConnectionError as exc:
                    await self._reap(proc)
                    raise StoreProcessError(f"the store process died while storing a batch: {exc}") from exc
                except BaseException:  # cancelled mid-write: the channel's state is unknown, start afresh
                    await self._reap(proc)
                    raise
            try:
                if previous is not None:  # the answers come in the order the batches were written
                    await asyncio.shield(previous)
                reply = await self._receive(proc)
            except StoreProcessError as exc:
                await self._reap(proc)
                raise StoreProcessError(f"the store process died while storing a batch: {exc}") from exc
            except BaseException:  # cancelled before its answer was read: the next reader would take it
                await self._reap(proc)
                raise
        finally:
            if not answered.done():
                answered.set_result(None)
        from ghgwatch.observability import metrics

        for table, seconds in reply[-1]:  # the child's store-write timings, exported by this process
            metrics.observe_store_write(table, seconds)
        if reply[0] == "ok":
            return reply[1], reply[2]
        raise StoreProcessError(reply[1], storage_outage=bool(reply[2]))

    async def _reap(self, proc: asyncio.subprocess.Process) -> None:
        if self._proc is proc:  # not a child started since (by a later batch)
            self._proc = None
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(proc.wait(), 10)

    async def stop(self) -> None:
        """Close the child's input (it finishes the batch in hand, if any, and exits)."""
        async with self._lock:
            proc, self._proc = self._proc, None
            if proc is None:
                return
            assert proc.stdin is not None
            with contextlib.suppress(Exception):
                proc.stdin.close()
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                await self._reap(proc)


# ------------------------------------------------------------------------------------------------ child


def main() -> None:
    """The child: read batches from stdin until end-of-file, store each, answer on the original stdout."""
    import gc

    # The channel is the original stdout; anything printed by a library goes to stderr instead.
    channel = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    source = sys.stdin.buffer
    # As the server process (cli/server.py): fewer young-generation collections, PERFORMANCE.md (c).
    gc.set_threshold(100_000, 50, 100)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    asyncio.run(_serve(sys.argv[1], source, channel))


def _send(channel: Any, message: object) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    channel.write(_HEADER.pack(len(data)) + data)
    channel.flush()


async def _serve(database_url: str, source: Any, channel: Any) -> None:
    from ghgwatch.observability import metrics
    from ghgwatch.pipeline.runner import store_messages
    from ghgwatch.registry.cache import SensorCache
    from ghgwatch.store.engine import open_database
    from ghgwatch.store.failures import is_outage

    # This process exports no metrics: its store-write timings go back with each answer (readings/writer.py and
    # rollups.py look the function up on the module at each call).
    timings: list[tuple[str, float]] = []
    metrics.observe_store_write = lambda table, seconds: timings.append((table, seconds))

    db = open_database(database_url)
    sensors = SensorCache(db)
    _send(channel, ("ready",))
    try:
        while True:
            # Blocking reads are fine: nothing else runs on this loop between batches.
            head = source.read(_HEADER.size)
            if len(head) < _HEADER.size:
                return  # the parent closed our input (stop) or died
            body = source.read(_HEADER.unpack(head)[0])
            items, min_ts = pickle.loads(body)  # noqa: S301 (our own parent process)
            timings.clear()
            try:
                stored, waited = await store_messages(db, sensors, _from_wire(items), min_ts)
            except Exception as exc:  # the parent decides: retry, bisect, set aside
                _send(channel, ("error", f"{type(exc).__name__}: {exc}"[:2000], is_outage(exc), timings))
            else:
                _send(channel, ("ok", stored, waited, timings))
    finally:
        await db.dispose()
