"""Read-only sessions (``Database.reads``) take no write lock on SQLite, so a slow reader never holds up a writer
(the pipeline's store process waited in SQLite's busy wait behind the server's periodic reads, docs/benchmarks.md);
the server's frequent reads use them."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import event, text

from ghgwatch.registry.cache import SensorCache
from ghgwatch.store import Database
from ghgwatch.store.engine import open_database
from tests.conftest import World


async def test_a_read_session_leaves_the_write_lock_free(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    db = open_database(f"sqlite+aiosqlite:///{path}")
    async with db.engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (x INTEGER)"))

    def write() -> None:  # another process's writer, which gives up after half a second
        with contextlib.closing(sqlite3.connect(path, timeout=0.5, isolation_level=None)) as conn:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO t VALUES (1)")
            conn.execute("COMMIT")

    try:
        async with db.reads() as s:
            assert (await s.execute(text("SELECT count(*) FROM t"))).scalar_one() == 0
            await asyncio.to_thread(write)  # commits while the read transaction is still open
            assert (await s.execute(text("SELECT count(*) FROM t"))).scalar_one() == 0  # its own snapshot
        async with db.sessions() as s:  # an ordinary session holds the write lock from its first statement on
            assert (await s.execute(text("SELECT count(*) FROM t"))).scalar_one() == 1
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                await asyncio.to_thread(write)
    finally:
        await db.dispose()


async def test_the_servers_frequent_reads_begin_without_the_write_lock(world: World, db: Database) -> None:
    begins: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.startswith("BEGIN"):
            begins.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", seen)
    try:
        await SensorCache(db).refresh()  # ingest and the live alert lane reload it under load
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", seen)
    if db.dialect == "sqlite":
        assert begins == ["BEGIN"]
    else:  # PostgreSQL: readers never block writers; the option changes nothing there
        assert "BEGIN IMMEDIATE" not in begins
