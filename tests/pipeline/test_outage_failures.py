"""Storage failures that are outages never count against the records (``store/failures.py``): after PostgreSQL
came back from a stop, its "the database system is starting up" answer, with the failures counted during the stop,
sent 100 acknowledged readings to a dead letter in a crash test (tests/pipeline/test_outages.py). Errors from a
real PostgreSQL, and the pipeline's retry loop with its storage step replaced (our own logic)."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, cast

import asyncpg  # type: ignore[import-untyped]
import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import text

from ghgwatch.bus import Message
from ghgwatch.pipeline.runner import Pipeline, StoredBatch
from ghgwatch.pipeline.store_process import StoreProcessError
from ghgwatch.store import open_database
from ghgwatch.store.failures import is_outage
from tests.support import postgres
from tests.support.net import free_port


@pytest.fixture
def pg_url(pg_admin_url: str) -> Iterator[str]:
    name = f"ghgwatch_failures_{uuid.uuid4().hex[:8]}"
    url = postgres.create_database(pg_admin_url, name)
    yield postgres.asyncpg_url(url)
    postgres.drop_database(pg_admin_url, name)


async def _error_of(url: str, *statements: str) -> BaseException:
    db = open_database(url)
    try:
        async with db.engine.begin() as conn:
            for sql in statements:
                await conn.execute(text(sql))
    except Exception as exc:
        return exc
    finally:
        await db.dispose()
    raise AssertionError("no error")


@pytest.mark.postgres
async def test_real_postgresql_errors_of_the_data_are_not_outages_and_a_refused_connection_is(pg_url: str) -> None:
    table = "CREATE TABLE t (id bigint PRIMARY KEY, v smallint)"
    assert not is_outage(await _error_of(pg_url, table, "INSERT INTO t VALUES (1, 1)", "INSERT INTO t VALUES (1, 2)"))
    assert not is_outage(await _error_of(pg_url, table, "INSERT INTO t VALUES (1, 99999)"))  # out of range
    assert not is_outage(await _error_of(pg_url, "INSERT INTO missing_table VALUES (1)"))
    closed = pg_url.rsplit("@", 1)[0] + f"@127.0.0.1:{free_port()}/postgres"
    assert is_outage(await _error_of(closed, "SELECT 1"))


def test_starting_up_and_broken_connections_are_outages_wherever_they_sit_in_the_chain() -> None:
    starting = asyncpg.exceptions.CannotConnectNowError("the database system is starting up")
    assert starting.sqlstate == "57P03"  # PostgreSQL Error Codes: cannot_connect_now
    wrapped = sa_exc.DBAPIError("INSERT INTO readings ...", None, starting)  # as SQLAlchemy raises it
    assert is_outage(wrapped) and is_outage(RuntimeError("a batch failed")) is False
    chained = RuntimeError("storing failed")
    chained.__cause__ = wrapped
    assert is_outage(chained)
    assert is_outage(asyncpg.exceptions.AdminShutdownError("terminating connection"))  # 57P01
    assert is_outage(asyncpg.exceptions.DeadlockDetectedError("deadlock detected"))  # 40P01
    assert not is_outage(asyncpg.exceptions.NumericValueOutOfRangeError("smallint out of range"))  # 22003
    assert not is_outage(OverflowError("Python int too large to convert to SQLite INTEGER"))
    assert is_outage(StoreProcessError("OperationalError: database is locked", storage_outage=True))
    assert not is_outage(StoreProcessError("OverflowError: Python int too large"))


def test_sqlite_busy_is_an_outage_and_its_errors_of_the_statement_are_not(tmp_path: Path) -> None:
    path = tmp_path / "busy.db"
    with sqlite3.connect(path, isolation_level=None) as holder, sqlite3.connect(path, timeout=0) as other:
        holder.execute("CREATE TABLE t (v int)")
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(sqlite3.OperationalError) as busy:
            other.execute("INSERT INTO t VALUES (1)")
        holder.execute("ROLLBACK")
        with pytest.raises(sqlite3.OperationalError) as missing:
            other.execute("INSERT INTO missing_table VALUES (1)")
    assert is_outage(sa_exc.OperationalError("INSERT", None, busy.value))
    assert not is_outage(sa_exc.OperationalError("INSERT", None, missing.value))


class _Steps:
    """The storage step fails with each of ``errors`` in turn, then stores; the probe answers from ``health``."""

    def __init__(self, errors: Sequence[Exception], health: list[bool]) -> None:
        self.errors, self.health, self.aside = list(errors), health, 0

    async def process(self, messages: object) -> StoredBatch:
        if self.errors:
            raise self.errors.pop(0)
        return StoredBatch([], [])

    async def answers(self) -> bool:
        return self.health.pop(0) if self.health else True

    async def set_aside(self, message: object, exc: BaseException, attempts: int) -> StoredBatch:
        self.aside += 1
        return StoredBatch([], [])


def _pipeline(steps: _Steps, monkeypatch: pytest.MonkeyPatch) -> Pipeline:
    pipeline = Pipeline(cast(Any, None), cast(Any, None), cast(Any, None), max_attempts=5, retry_cap_s=0.001)
    monkeypatch.setattr(pipeline, "process", steps.process)
    monkeypatch.setattr(pipeline, "_storage_answers", steps.answers)
    monkeypatch.setattr(pipeline, "_set_aside", steps.set_aside)
    return pipeline


ONE = [Message("readings.raw.v1", 3, 24, b"k", b"v", (), 0.0)]


async def test_failures_during_an_outage_do_not_count_against_the_record(monkeypatch: pytest.MonkeyPatch) -> None:
    # Ten failures while the database is down, then one with it up (the first write after the restart), then it
    # stores: before, the ten counted and the record went to the dead letters at the eleventh.
    steps = _Steps([RuntimeError("down")] * 10 + [RuntimeError("first write after the restart")], [False] * 10)
    await _pipeline(steps, monkeypatch)._store(ONE)
    assert steps.aside == 0 and not steps.errors


async def test_an_outage_error_never_counts_even_when_the_probe_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    steps = _Steps([asyncpg.exceptions.CannotConnectNowError("the database system is starting up")] * 12, [])
    await _pipeline(steps, monkeypatch)._store(ONE)
    assert steps.aside == 0 and not steps.errors


async def test_a_record_that_fails_with_the_database_up_is_still_set_aside(monkeypatch: pytest.MonkeyPatch) -> None:
    steps = _Steps([OverflowError("Python int too large to convert to SQLite INTEGER")] * 50, [])
    await _pipeline(steps, monkeypatch)._store(ONE)
    assert steps.aside == 1 and len(steps.errors) == 45  # after max_attempts = 5
