"""Overlapping exchanges with the store process: the pipeline hands over batch N+1 while the child stores batch N
(``Pipeline._window``), so each answer must reach the batch it belongs to, and a child killed with batches in its
input must fail them (to be retried) and be replaced for the next one."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from datetime import UTC, datetime, timedelta

from ghgwatch.bus import Message, topics
from ghgwatch.ingest.wire import SensorBatch, encode
from ghgwatch.pipeline.runner import StoredBatch
from ghgwatch.pipeline.store_process import StoreProcess, StoreProcessError
from tests.conftest import World

T0_US = int((datetime.now(UTC) - timedelta(days=5)).timestamp()) * 1_000_000


def batch_of(world: World, offset: int, first_s: int, n: int) -> list[Message]:
    """One record of ``n`` readings of sensor A, one a second from ``first_s``."""
    readings = SensorBatch(world.sensor_a, None, [T0_US + (first_s + i) * 1_000_000 for i in range(n)],
                           [0.25 + i % 7 / 100 for i in range(n)], world.org_a, 1, "http",
                           time.time_ns() // 1000, f"ref-{offset}")
    return [Message(topics.READINGS_RAW, 0, offset, b"", encode(readings).value, (), 0.0)]


def first_ts(stored: StoredBatch) -> int:
    assert stored.rows, stored.dead[:1]
    (rows,) = stored.rows
    return int(rows.ts[0])


async def test_overlapping_batches_get_their_own_answers(world: World, db_url: str) -> None:
    store = StoreProcess(db_url)
    try:
        firsts = [0, 10_000, 20_000, 30_000]
        answers = await asyncio.wait_for(asyncio.gather(
            *(store.process(batch_of(world, k, first, 2_000), None) for k, first in enumerate(firsts))), 120)
        assert [first_ts(stored) for stored, _ in answers] == [T0_US + f * 1_000_000 for f in firsts]
        assert [len(stored.rows[0].ts) for stored, _ in answers] == [2_000] * 4
        assert store.starts == 1
    finally:
        await store.stop()


async def test_a_child_killed_with_batches_in_its_input_fails_them_and_is_replaced(world: World,
                                                                                    db_url: str) -> None:
    store = StoreProcess(db_url)
    try:
        await store.start()
        pid = store.pid
        assert pid is not None
        pending = [asyncio.create_task(store.process(batch_of(world, k, 100_000 * (k + 1), 20_000), None))
                   for k in range(2)]
        await asyncio.sleep(0.01)  # both written (the writes do not wait for answers)
        os.kill(pid, signal.SIGKILL)
        outcomes = await asyncio.wait_for(asyncio.gather(*pending, return_exceptions=True), 60)
        for k, outcome in enumerate(outcomes):  # an answer read before the kill is its own; the rest failed
            if isinstance(outcome, BaseException):
                assert isinstance(outcome, StoreProcessError), outcome
            else:
                assert first_ts(outcome[0]) == T0_US + 100_000 * (k + 1) * 1_000_000
        assert any(isinstance(o, StoreProcessError) for o in outcomes)
        stored, _ = await asyncio.wait_for(store.process(batch_of(world, 9, 300_000, 10), None), 120)
        assert first_ts(stored) == T0_US + 300_000 * 1_000_000
        assert store.starts == 2 and store.pid not in (None, pid)
    finally:
        await store.stop()
