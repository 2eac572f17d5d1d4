"""The write turn across the processes of one SQLite file (store/_turn.py): an urgent writer (an alarm) waits for
the one transaction another process has in hand, not for that process's stream of back-to-back transactions;
ordinary writers defer to urgent ones of any process for a bounded time; a killed process leaves no lock behind."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from ghgwatch.store import Database, open_database
from ghgwatch.store._turn import FileTurn, WriteTurn

CHILD = Path(__file__).with_name("turn_child.py")
WITHIN_S = 60.0  # generous bounds for conditions on a loaded machine (a child's imports alone take seconds)


class Child:
    """A writer in a process of its own (turn_child.py)."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []

    @classmethod
    async def start(cls, *args: str) -> Child:
        proc = await asyncio.create_subprocess_exec(sys.executable, str(CHILD), *args,
                                                    stdout=asyncio.subprocess.PIPE)
        return cls(proc)

    async def until(self, prefix: str, count: int = 1) -> None:
        """Read its output until ``count`` lines start with ``prefix``."""
        assert self.proc.stdout is not None
        async with asyncio.timeout(WITHIN_S):
            while sum(x.startswith(prefix) for x in self.lines) < count:
                line = await self.proc.stdout.readline()
                assert line, f"the child exited ({await self.proc.wait()}) after {self.lines}"
                self.lines.append(line.decode().strip())

    async def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()
        await self.proc.wait()


@pytest.fixture
async def sqlite_file(tmp_path: Path) -> AsyncIterator[tuple[str, Database]]:
    path = tmp_path / "turn.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")  # as in production (store/dialect.py)
    conn.execute("CREATE TABLE ticks (n INTEGER PRIMARY KEY, at REAL)")
    conn.execute("CREATE TABLE marks (n INTEGER PRIMARY KEY, ticks INTEGER)")
    conn.commit()
    conn.close()
    db = open_database(f"sqlite+aiosqlite:///{path}")
    yield str(path), db
    await db.dispose()


async def ticks(db: Database) -> int:
    """Rows in ``ticks``, read without taking a write turn (``Database`` connections begin IMMEDIATE: a count
    through them waits for the write lock like any writer, and starved as well without the change)."""
    path = db.url.split("///", 1)[1]

    def count() -> int:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return int(conn.execute("SELECT count(*) FROM ticks").fetchone()[0])
        finally:
            conn.close()

    return await asyncio.to_thread(count)


async def wait_until(condition: Callable[[], Awaitable[bool]]) -> None:
    deadline = time.monotonic() + WITHIN_S
    while time.monotonic() < deadline:
        if await condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met in time")


async def deferring(files: FileTurn) -> bool:
    return files.waiting == 1


async def test_an_urgent_write_waits_for_one_transaction_of_a_process_writing_back_to_back(
        sqlite_file: tuple[str, Database]) -> None:
    """Without the turn across processes, the urgent write polls in SQLite's busy handler (sleeps up to 100 ms)
    while the child takes the lock again within milliseconds of each commit: 58, 16 and 8 child transactions
    went first of the first alarm in three runs (a poll sometimes lands in a gap, so three alarms in a row)."""
    _, db = sqlite_file
    child = await Child.start("ordinary", db.url, "60", "0.2")  # 60 transactions holding the lock 0.2 s each
    seen: list[int] = []
    try:
        for _ in range(3):
            await child.until("tick ", len([x for x in child.lines if x.startswith("tick ")]) + 2)  # back to back
            before = await ticks(db)
            async with db.write_turn(urgent=True), db.transaction() as s:
                # The urgent transaction sees what committed before it began: how many child transactions went first.
                during = int((await s.execute(text("SELECT count(*) FROM ticks"))).scalar_one()) - before
                await s.execute(text("INSERT INTO marks (ticks) VALUES (:n)"), {"n": during})
            seen.append(during)
            # Each waited for the one in hand when it came, and at most one begun between `before` and the
            # announcement.
            assert during <= 2, f"transactions of the other process that went first: {seen}"
            resumed = await ticks(db)

            async def resumed_storage(resumed: int = resumed) -> bool:
                return await ticks(db) > resumed

            await wait_until(resumed_storage)  # storage goes on after the alarm's commit
    finally:
        await child.kill()


async def test_an_ordinary_writer_defers_to_another_process_s_urgent_writer_for_at_most_the_cap(
        sqlite_file: tuple[str, Database]) -> None:
    """Without the cap, an urgent writer stuck in its turn (here: holding it for an hour) stops storage for good."""
    path, db = sqlite_file
    child = await Child.start("urgent", db.url)
    files = FileTurn(path, WriteTurn(), wait_cap_s=0.5)
    try:
        await child.until("holding")
        started = time.monotonic()
        async with asyncio.timeout(WITHIN_S), files.ordinary(), db.engine.begin() as conn:
            waited = time.monotonic() - started
            await conn.execute(text("INSERT INTO ticks (at) VALUES (0)"))
        assert files.deferred == 1  # it saw the other process's urgent writer ...
        assert waited >= 0.5  # ... deferred to it for the cap, then wrote anyway
        assert await ticks(db) == 1
    finally:
        await child.kill()
        files.close()


async def test_a_killed_urgent_writer_leaves_no_lock_behind(sqlite_file: tuple[str, Database]) -> None:
    """The kernel drops a dead process's flock: the deferring writer goes on at once, not after the cap (an
    hour here; the test would time out)."""
    path, db = sqlite_file
    child = await Child.start("urgent", db.url)
    files = FileTurn(path, WriteTurn(), wait_cap_s=3600)
    try:
        await child.until("holding")

        async def ordinary() -> None:
            async with files.ordinary(), db.engine.begin() as conn:
                await conn.execute(text("INSERT INTO ticks (at) VALUES (0)"))

        task = asyncio.create_task(ordinary())
        await wait_until(lambda: deferring(files))  # deferring to the child
        await child.kill()  # SIGKILL
        await asyncio.wait_for(task, WITHIN_S)
        assert files.deferred == 1 and files.waiting == 0
        assert await ticks(db) == 1
    finally:
        await child.kill()
        files.close()


async def test_a_deferring_writer_lets_an_urgent_writer_of_its_own_process_in(
        sqlite_file: tuple[str, Database]) -> None:
    """An ordinary writer that defers to another process holds this process's turn; an urgent writer of this
    process then queues behind it while announced, which the ordinary writer's probe cannot tell from another
    process's. Without looking at its own urgent writers first, both would wait for the cap (an hour here)."""
    path, db = sqlite_file
    child = await Child.start("urgent", db.url)
    files = FileTurn(path, WriteTurn(), wait_cap_s=3600)
    order: list[str] = []

    async def write(name: str) -> None:
        async with files.urgent() if name == "urgent" else files.ordinary(), db.engine.begin() as conn:
            await conn.execute(text("INSERT INTO ticks (at) VALUES (0)"))
            order.append(name)

    try:
        await child.until("holding")
        ordinary = asyncio.create_task(write("ordinary"))
        await wait_until(lambda: deferring(files))
        urgent = asyncio.create_task(write("urgent"))
        await asyncio.wait_for(asyncio.gather(ordinary, urgent), WITHIN_S)
        assert order == ["ordinary", "urgent"]
    finally:
        await child.kill()
        files.close()
