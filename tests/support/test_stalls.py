"""The stall report names what each task and thread waits for, so that a wait that ran out once says why."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from ghgwatch.store import Database
from tests.support.stalls import wait_until


@asynccontextmanager
async def _holding(lock: asyncio.Lock) -> AsyncIterator[None]:
    async with lock:
        yield


async def _waits_for_the_lock_inside_a_context_manager(outer: asyncio.Lock, inner: asyncio.Lock) -> None:
    async with _holding(outer), inner:  # the await chain passes through an async generator's asend
        pass


def _blocks_in_a_thread(release: threading.Event) -> None:
    release.wait(30)


async def test_the_report_names_the_waiting_task_its_frames_and_the_blocked_thread() -> None:
    """Fails if the await chain stops at the task's outermost frame (what ``Task.get_stack`` gives), if async
    generators are not followed, or if threads are left out."""
    inner = asyncio.Lock()
    await inner.acquire()
    release = threading.Event()
    thread = threading.Thread(target=_blocks_in_a_thread, args=(release,), name="stuck-exporter")
    thread.start()
    task = asyncio.create_task(_waits_for_the_lock_inside_a_context_manager(asyncio.Lock(), inner), name="live-lane")
    try:
        started = time.monotonic()
        with pytest.raises(AssertionError) as failed:
            await wait_until(lambda: False, 0.3, "an alert")
        assert time.monotonic() - started < 10  # the report itself does not wait for anything
    finally:
        inner.release()
        release.set()
        await task
        thread.join()
    report = str(failed.value)
    assert report.startswith("STALL: an alert: not within 0.3 s")
    task_part = report[report.index("task 'live-lane'"):report.index("threads:")]
    chain = [line.split(", in ")[1] for line in task_part.splitlines() if ", in " in line]
    assert chain[0] == "_waits_for_the_lock_inside_a_context_manager" and chain[-1] == "acquire", chain
    assert "thread stuck-exporter" in report and "in _blocks_in_a_thread" in report


async def test_a_check_that_hangs_past_the_deadline_still_fails_in_time() -> None:
    """Fails if one hung check (a request waiting for a pool connection) could hold the wait beyond its deadline."""
    started = time.monotonic()
    with pytest.raises(AssertionError, match="STALL: a hung check"):
        await wait_until(lambda: asyncio.sleep(60, result=True), 0.5, "a hung check")
    assert time.monotonic() - started < 10


async def test_the_report_shows_the_pool_and_the_postgresql_sessions_waiting_for_a_lock(db: Database) -> None:
    """Fails if the database section is missing: a session blocked on another's row lock is named with its wait."""
    if db.dialect != "postgresql":
        with pytest.raises(AssertionError) as failed:
            await wait_until(lambda: False, 0.1, "nothing", db=db)
        assert "database pool: Pool size: 4" in str(failed.value)
        return
    async with db.engine.connect() as holder, db.engine.connect() as waiter:
        await holder.exec_driver_sql("CREATE TABLE IF NOT EXISTS stall_probe (id int)")
        await holder.commit()
        await holder.exec_driver_sql("LOCK TABLE stall_probe IN ACCESS EXCLUSIVE MODE")
        blocked = asyncio.create_task(waiter.exec_driver_sql("SELECT count(*) FROM stall_probe"))
        try:
            with pytest.raises(AssertionError) as failed:
                await wait_until(lambda: False, 0.5, "nothing", db=db)
        finally:
            await holder.rollback()
            await blocked
            await waiter.rollback()
            await holder.exec_driver_sql("DROP TABLE stall_probe")
            await holder.commit()
    report = str(failed.value)
    assert "database pool: Pool size: 10" in report and "a commit took" in report  # the server's own pace
    assert "wait Lock/relation" in report and "SELECT count(*) FROM stall_probe" in report, report
    assert "AccessShareLock', 'stall_probe'" in report, report
