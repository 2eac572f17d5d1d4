"""Every difference between SQLite and PostgreSQL lives here."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def sqlite_file(url: str) -> str | None:
    """The path of a SQLite database file; None for other databases and for in-memory or URI (``file:``) ones."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:" \
            or parsed.database.startswith("file:"):
        return None
    return parsed.database


def secure_sqlite_file(url: str) -> None:
    """Create the SQLite file (and its WAL and shared-memory files) readable by the owner only (0600).

    The database holds password hashes, token hashes and encrypted secrets; SQLite creates files with the
    process umask (often 0644, world-readable). Existing files are tightened too. No-op for other databases
    and for in-memory SQLite.
    """
    import os
    from pathlib import Path

    database = sqlite_file(url)
    if database is None:
        return
    path = Path(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    for suffix in ("", "-wal", "-shm"):
        candidate = Path(f"{path}{suffix}")
        if candidate.exists():
            candidate.chmod(0o600)


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the single writer; NORMAL sync is durable at checkpoint granularity in
    # WAL mode, which PERFORMANCE.md (b) measured at 5x the throughput of FULL. Durability of readings is
    # provided by the bus, which is fsync'd before a sender is answered.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    # A 256 MB page cache (allocated as used): PERFORMANCE.md (b) measured 98k -> 159k rows/s for the
    # (sensor_id, ts) unique key with it, since readings of many sensors insert at many places in the index.
    cursor.execute("PRAGMA cache_size=-262144")
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()
    # Let SQLAlchemy, not the sqlite3 module, emit BEGIN, so that SAVEPOINTs work (SQLAlchemy's documented
    # pysqlite/aiosqlite recipe).
    dbapi_connection.isolation_level = None


READ_ONLY = "ghgwatch_read_only"
"""Execution option of :attr:`ghgwatch.store.engine.Database.reads`: its SQLite transactions begin DEFERRED."""


def _sqlite_begin(conn: Any) -> None:
    # IMMEDIATE takes the write lock up front: a deferred transaction that reads and then writes fails at
    # once with SQLITE_BUSY (no busy wait) when another writer got there first. A read-only transaction begins
    # DEFERRED: in WAL mode it takes no write lock, so it never makes a writer wait. (With IMMEDIATE, the
    # server's periodic reads (device tokens, the sensor registry, alert rules, about 9 a second under load)
    # each held the one write lock while a busy event loop got round to finishing them, and the pipeline's
    # store process slept in SQLite's busy wait meanwhile, docs/benchmarks.md.)
    conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")


def create_engine(url: str, *, echo: bool = False, pool_size: int = 10) -> AsyncEngine:
    if is_sqlite(url):
        secure_sqlite_file(url)
        # Pooled connections keep SQLite's page cache warm between transactions (a new connection per
        # transaction starts cold and re-reads the index pages it touches).
        engine = create_async_engine(url, echo=echo, pool_size=4, max_overflow=4)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    return create_async_engine(url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


def sync_url(url: str) -> str:
    """The synchronous driver URL for the same database (Alembic's offline paths, bulk loaders)."""
    parsed = make_url(url)
    driver = {"sqlite": "sqlite", "postgresql": "postgresql+psycopg"}[parsed.get_backend_name()]
    return parsed.set(drivername=driver).render_as_string(hide_password=False)


def supports_for_update(dialect_name: str) -> bool:
    """Whether ``SELECT ... FOR UPDATE`` is needed to serialise writers (SQLite serialises every write)."""
    return dialect_name == "postgresql"
