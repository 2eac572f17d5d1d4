"""The pipeline keeps batches in flight: batch N+1 goes to storage as soon as batch N is stored (in this process),
or while N is being stored (the store process: it finds N+1 waiting in its input), while N's hooks and offset
commit run; hooks and commits stay in batch order and never run ahead of storage (pipeline/runner.py,
``Pipeline._consume``). The bus consumer and the storage step are replaced (our own loop logic)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, cast

from ghgwatch.bus import Message, topics
from ghgwatch.pipeline.runner import Pipeline, StoredBatch

BATCH = 10  # records per poll


def _polls(n: int) -> list[list[Message]]:
    return [[Message(topics.READINGS_RAW, 0, b * BATCH + i, b"k", b"v", (), 0.0) for i in range(BATCH)]
            for b in range(n)]


class _Consumer:
    def __init__(self, polls: list[list[Message]], log: list[tuple[str, int]]) -> None:
        self.polls, self.log = polls, log

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def poll(self, max_records: int = 1000, timeout_s: float = 1.0) -> list[Message]:
        if self.polls:
            return self.polls.pop(0)
        await asyncio.sleep(min(timeout_s, 0.01))
        return []

    async def commit(self, messages: Sequence[Message]) -> None:
        self.log.append(("commit", messages[-1].offset // BATCH))

    async def lag(self) -> dict[Any, int]:
        return {}


class _Bus:
    def __init__(self, consumer: _Consumer) -> None:
        self._consumer = consumer

    def consumer(self, group: str, names: Sequence[str], listener: Any = None) -> _Consumer:
        return self._consumer


def _batch_of(stored: StoredBatch) -> int:
    return int(cast(dict[str, str], stored.trace[0])["batch"])


class _StoreProcess:
    async def stop(self) -> None:
        return None


async def _run(n: int, process: Any, *, store_process: bool = False) -> list[tuple[str, int]]:
    log: list[tuple[str, int]] = []
    consumer = _Consumer(_polls(n), log)
    pipeline = Pipeline(cast(Any, _Bus(consumer)), cast(Any, None), cast(Any, None), retry_cap_s=0.01,
                        store_process=cast(Any, _StoreProcess()) if store_process else None)

    async def hook(stored: StoredBatch) -> None:
        log.append(("hook", _batch_of(stored)))
        await asyncio.sleep(0.01)  # hooks take time: the next batch's storage must not wait for them
        log.append(("hook done", _batch_of(stored)))

    pipeline.hooks = [hook]
    pipeline.process = lambda messages: process(messages, log)  # type: ignore[method-assign]
    pipeline.start()
    for _ in range(500):
        if ("commit", n - 1) in log:
            break
        await asyncio.sleep(0.01)
    await pipeline.stop()
    return log


async def _store(messages: Sequence[Message], log: list[tuple[str, int]]) -> StoredBatch:
    batch = messages[0].offset // BATCH
    log.append(("store", batch))
    await asyncio.sleep(0.02)
    log.append(("stored", batch))
    return StoredBatch([], [], {0: {"batch": str(batch)}})


def _most_in_storage(log: list[tuple[str, int]]) -> int:
    now = most = 0
    for kind, _ in log:
        now += {"store": 1, "stored": -1}.get(kind, 0)
        most = max(most, now)
    return most


def _assert_in_order(log: list[tuple[str, int]], n: int) -> None:
    for b in range(n):  # each batch: stored, then its hook, then its commit; in batch order
        assert log.index(("stored", b)) < log.index(("hook", b)) < log.index(("commit", b))
        if b:
            assert log.index(("commit", b - 1)) < log.index(("commit", b))
            assert log.index(("hook", b - 1)) < log.index(("hook", b))
    assert [e for e in log if e[0] == "store"] == [("store", b) for b in range(n)]  # one store each: none repeated


async def test_the_next_batch_is_stored_while_the_last_ones_hooks_and_commit_run() -> None:
    log = await _run(4, _store)
    _assert_in_order(log, 4)
    for b in range(3):  # batch b+1 is being stored while batch b's hook runs (the overlap)
        assert log.index(("hook", b)) < log.index(("store", b + 1)) < log.index(("hook done", b))
    assert _most_in_storage(log) == 1  # in this process: one store transaction at a time


async def test_the_store_process_gets_the_next_batch_while_it_stores_one() -> None:
    child = asyncio.Lock()  # the child stores one batch at a time, in the order handed over

    async def one_at_a_time(messages: Sequence[Message], log: list[tuple[str, int]]) -> StoredBatch:
        batch = messages[0].offset // BATCH
        log.append(("store", batch))  # handed over
        async with child:
            await asyncio.sleep(0.02)
        log.append(("stored", batch))
        return StoredBatch([], [], {0: {"batch": str(batch)}})

    log = await _run(5, one_at_a_time, store_process=True)
    _assert_in_order(log, 5)
    for b in range(4):  # batch b+1 is handed over before batch b is stored
        assert log.index(("store", b + 1)) < log.index(("stored", b))
    assert _most_in_storage(log) == 2  # and never more than two at once


async def test_a_batch_failing_in_flight_is_retried_before_anything_after_it_commits() -> None:
    failures = {1: 2}  # batch 1 fails twice, then stores

    async def flaky(messages: Sequence[Message], log: list[tuple[str, int]]) -> StoredBatch:
        batch = messages[0].offset // BATCH
        if failures.get(batch):
            failures[batch] -= 1
            log.append(("failed", batch))
            raise OSError("storage unreachable")  # an outage: retried, never counted against the records
        return await _store(messages, log)

    pipeline_log = await _run(3, flaky)
    assert pipeline_log.count(("failed", 1)) == 2
    commits = [b for kind, b in pipeline_log if kind == "commit"]
    assert commits == [0, 1, 2]
    assert pipeline_log.index(("stored", 1)) < pipeline_log.index(("commit", 1))
