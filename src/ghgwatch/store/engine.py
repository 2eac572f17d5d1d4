"""The database handle built at start-up and passed down (never created at import time)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from ghgwatch.store._turn import FileTurn, WriteTurn
from ghgwatch.store.dialect import READ_ONLY, create_engine, sqlite_file

__all__ = ["Database", "WriteTurn", "open_database"]


@dataclass(frozen=True)
class Database:
    url: str
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    reads: async_sessionmaker[AsyncSession]
    """Sessions that only read: on SQLite their transactions take no write lock, so they never hold up a writer
    (the pipeline's store process) however long the caller takes to finish them. Writing in one may fail with
    "database is locked" when another writer got there first: use :attr:`sessions` or :meth:`transaction`."""
    state: dict[str, Any] = field(default_factory=dict, compare=False)
    """Per-database caches of the store layer (for example the known partitions of ``readings``)."""

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A unit of work: commits on success, rolls back on error."""
        async with self.sessions() as session, session.begin():
            yield session

    def write_turn(self, *, urgent: bool = False) -> contextlib.AbstractAsyncContextManager[object]:
        """SQLite: one writer at a time, in arrival order, so a long clean-up in small transactions lets the
        pipeline's next write in after at most one of them (SQLite's own busy wait polls, sleeping up to 100 ms
        between tries, and can starve a waiter). ``urgent`` (alert persistence) goes before every ordinary
        waiter: an alarm waits for the one transaction running, never for a queue of bulk writes.

        For a database file this holds across processes too (store/_turn.py): ordinary writers of every process
        (the pipeline's store process) do not begin while an urgent writer of any process waits, for at most
        two seconds; an urgent writer begins once the ordinary transaction in hand has committed. Writers that
        do not take a turn still go through SQLite's busy wait. PostgreSQL: no-op, its row locks suffice."""
        if self.dialect != "sqlite":
            return contextlib.nullcontext()
        turn = self.state.get("write_turn")
        if turn is None:
            turn = self.state["write_turn"] = WriteTurn()
        if "file_turn" not in self.state:
            path = sqlite_file(self.url)
            self.state["file_turn"] = None if path is None else FileTurn(path, turn)
        files: FileTurn | None = self.state["file_turn"]
        if files is None:  # in memory: one process
            return turn.urgent() if urgent else turn
        return files.urgent() if urgent else files.ordinary()

    async def dispose(self) -> None:
        await self.engine.dispose()
        files: FileTurn | None = self.state.pop("file_turn", None)
        if files is not None:
            files.close()


def open_database(url: str, *, echo: bool = False, pool_size: int = 10) -> Database:
    engine = create_engine(url, echo=echo, pool_size=pool_size)
    return Database(url=url, engine=engine, sessions=async_sessionmaker(engine, expire_on_commit=False),
                    reads=async_sessionmaker(engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False))
