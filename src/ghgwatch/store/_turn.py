"""The SQLite write turn (see ``Database.write_turn``): in this process, and across the processes of one file.

SQLite lets one writer at a time in; a writer that finds the file locked waits in SQLite's busy handler, which
polls with sleeps growing to 100 ms (``sqliteDefaultBusyCallback`` in SQLite's ``main.c``). A process that writes
back-to-back transactions (the pipeline's store process, ``pipeline/store_process.py``) takes the lock again
within a millisecond of each commit, so a writer of another process (an alarm in the server process) can poll in
vain for seconds. :class:`WriteTurn` orders the writers of one process; :class:`FileTurn` adds the order across
processes with two ``flock`` sidecar files next to the database:

* ``<db>-turn-urgent``: each process with an urgent writer (alert persistence) waiting or writing holds it
  shared. An ordinary writer checks it before each transaction (an exclusive ``flock`` taken and released at
  once) and, while it is held, waits in short sleeps, for at most ``wait_cap_s`` (then writes anyway, so that
  storage never stops for good).
* ``<db>-turn-writing``: an ordinary writer holds it shared during its transaction. An urgent writer waits for
  it to be free (the transaction in hand committed) before it begins, instead of in SQLite's busy handler, so
  it starts within ``URGENT_POLL_S`` of that commit and the storage process is not left idle meanwhile.

Each side takes its own lock before it looks at the other's, so either the ordinary writer sees the urgent one
and backs off, or the urgent one sees the ordinary transaction and waits for that one transaction. ``flock``
locks belong to an open file description, so each role has descriptors of its own (a second ``flock`` on the
same descriptor would convert the lock instead of testing it). The kernel drops a dead process's locks (no stale
state after SIGKILL); the descriptors are not inherited by ``exec``'d children (Python opens them close-on-exec).
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

log = logging.getLogger(__name__)

URGENT_SUFFIX = "-turn-urgent"
WRITING_SUFFIX = "-turn-writing"
WAIT_CAP_S = 2.0
"""Longest an ordinary writer defers to urgent ones (issue 10 item 3: an alarm write takes milliseconds; two
seconds at 100,000 readings/s queue 200,000 readings, within the embedded admission limit ``max_backlog``,
settings.py)."""
ORDINARY_POLL_S = 0.005
"""How often a deferring ordinary writer looks again: storage resumes within 5 ms of an alarm's commit, for 200
probes (two ``flock`` calls each, microseconds) a second of waiting."""
URGENT_POLL_S = 0.002
"""How often a waiting urgent writer looks again: 2 ms after the storage chunk in hand commits at the latest, where
SQLite's busy handler sleeps up to 100 ms between tries."""
URGENT_WAIT_CAP_S = 30.0
"""Longest an urgent writer waits for ordinary transactions before it begins anyway: SQLite's own busy timeout
(``PRAGMA busy_timeout=30000``, store/dialect.py), which then decides."""


class WriteTurn:
    """An ``asyncio`` lock handed over in arrival order, urgent waiters first (see ``Database.write_turn``)."""

    def __init__(self) -> None:
        self._held = False
        self._waiters: tuple[deque[asyncio.Future[None]], deque[asyncio.Future[None]]] = (deque(), deque())

    def locked(self) -> bool:
        return self._held

    async def acquire(self, urgent: bool = False) -> None:
        if not self._held and not any(self._waiters):
            self._held = True
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue = self._waiters[0 if urgent else 1]
        queue.append(fut)
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self.release()  # the turn was handed over just as the waiter was cancelled: pass it on
            elif fut in queue:
                queue.remove(fut)
            raise

    def release(self) -> None:
        for queue in self._waiters:
            while queue:
                fut = queue.popleft()
                if not fut.done():
                    fut.set_result(None)  # stays held: the turn goes straight to that waiter
                    return
        self._held = False

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(self, *exc: object) -> None:
        self.release()

    @asynccontextmanager
    async def urgent(self) -> AsyncIterator[None]:
        await self.acquire(urgent=True)
        try:
            yield
        finally:
            self.release()


def _lock(fd: int, operation: int) -> bool:
    """``flock`` without blocking; False when another open file description holds a conflicting lock."""
    try:
        fcntl.flock(fd, operation | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _free(fd: int) -> bool:
    """Whether nobody else holds the file locked (an exclusive lock taken and released at once)."""
    if not _lock(fd, fcntl.LOCK_EX):
        return False
    fcntl.flock(fd, fcntl.LOCK_UN)
    return True


async def _poll(ready: Callable[[], bool], every_s: float, within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while not ready():
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(every_s)
    return True


class FileTurn:
    """The write turn across the processes writing one SQLite file (module docstring). Wraps this process's
    :class:`WriteTurn`, which keeps ordering the writers of this process."""

    def __init__(self, db_file: str, turn: WriteTurn, *, wait_cap_s: float = WAIT_CAP_S) -> None:
        self.paths = {"urgent": db_file + URGENT_SUFFIX, "writing": db_file + WRITING_SUFFIX}
        self.turn = turn
        self.wait_cap_s = wait_cap_s
        self.deferred = 0
        """Ordinary transactions that waited for an urgent writer (of any process) before they began."""
        self.waiting = 0
        """Ordinary writers of this process waiting for an urgent writer now."""
        self._fds: dict[str, int] = {}
        self._pid = 0
        self._urgent = 0  # this process's urgent writers waiting or writing
        self._announced = False  # this process holds ``<db>-turn-urgent`` shared
        self._broken = False

    def _fd(self, role: str) -> int | None:
        """The descriptor of one role: ``announce`` and ``probe_urgent`` on the urgent file, ``write`` and
        ``probe_writing`` on the writing one. None when the files cannot be opened (in-process order only)."""
        if self._pid != os.getpid():  # forked: those descriptors are the parent's (unlocking would free its locks)
            for inherited in self._fds.values():
                os.close(inherited)
            self._fds, self._pid = {}, os.getpid()
        fd = self._fds.get(role)
        if fd is None and not self._broken:
            path = self.paths["urgent" if role in ("announce", "probe_urgent") else "writing"]
            try:
                # Owner-only like the database itself (dialect.secure_sqlite_file); the files stay empty.
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except OSError as exc:
                self._broken = True
                log.warning("SQLite writers of other processes are not ordered (cannot open %s: %s)", path, exc)
            else:
                self._fds[role] = fd
        return fd

    @asynccontextmanager
    async def urgent(self) -> AsyncIterator[None]:
        """Announced to every process at once; then this process's turn, ahead of its ordinary writers; then
        the end of the ordinary transaction in hand, if any, in any process."""
        self._urgent += 1
        try:
            announce = self._fd("announce")
            if announce is not None and not self._announced:
                # Fails only during another process's probe (two system calls): look again at once.
                self._announced = await _poll(lambda: _lock(announce, fcntl.LOCK_SH), URGENT_POLL_S,
                                              URGENT_WAIT_CAP_S) or self._announced
            async with self.turn.urgent():
                probe = self._fd("probe_writing")
                if probe is not None:
                    await _poll(lambda: _free(probe), URGENT_POLL_S, URGENT_WAIT_CAP_S)
                yield
        finally:
            self._urgent -= 1
            if self._urgent == 0 and self._announced:
                self._announced = False
                fcntl.flock(self._fds["announce"], fcntl.LOCK_UN)  # kept open while announced (``close``)

    @asynccontextmanager
    async def ordinary(self) -> AsyncIterator[None]:
        """This process's turn in arrival order; then, while an urgent writer of any process is announced,
        a wait of at most ``wait_cap_s``."""
        async with self.turn:
            write, probe = self._fd("write"), self._fd("probe_urgent")
            if write is None or probe is None:
                yield
                return
            deadline = time.monotonic() + self.wait_cap_s
            waited = False
            try:
                while True:
                    # Mine first, then theirs (module docstring). My own urgent writers hold the urgent file, so the
                    # probe would fail on them: they wait behind this transaction in this process's turn anyway.
                    writing = _lock(write, fcntl.LOCK_SH)
                    if writing and (self._urgent or _free(probe)):
                        break
                    if time.monotonic() >= deadline:
                        break  # storage must not stop for good (an urgent writer stuck in a long transaction)
                    if writing:
                        fcntl.flock(write, fcntl.LOCK_UN)
                    if not waited:
                        waited = True
                        self.deferred += 1
                        self.waiting += 1
                    await asyncio.sleep(ORDINARY_POLL_S)
            finally:
                self.waiting -= waited
            try:
                yield
            finally:
                if writing:
                    fcntl.flock(write, fcntl.LOCK_UN)

    def close(self) -> None:
        """Close the lock files, unless a writer of this process is in its turn (at shut-down: its process's end
        closes them; closing one under it would free its lock, or unlock another file given the same number)."""
        if self._urgent or self.turn.locked():
            return
        if self._pid == os.getpid():
            for fd in self._fds.values():
                os.close(fd)
        self._fds = {}
