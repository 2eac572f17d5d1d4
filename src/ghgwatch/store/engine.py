"""The database handle built at start-up and passed down (never created at import time)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from ghgwatch.store.dialect import create_engine


@dataclass(frozen=True)
class Database:
    url: str
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
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

    def write_turn(self) -> contextlib.AbstractAsyncContextManager[object]:
        """SQLite: one bulk writer of this process at a time, in arrival order (an ``asyncio.Lock`` is FIFO), so
        a long clean-up in small transactions lets the pipeline's next write in after at most one of them
        (SQLite's own busy wait polls and can starve a waiter). PostgreSQL: no-op, its row locks suffice."""
        if self.dialect != "sqlite":
            return contextlib.nullcontext()
        lock = self.state.get("write_turn")
        if lock is None:
            lock = self.state["write_turn"] = asyncio.Lock()
        return lock

    async def dispose(self) -> None:
        await self.engine.dispose()


def open_database(url: str, *, echo: bool = False, pool_size: int = 10) -> Database:
    engine = create_engine(url, echo=echo, pool_size=pool_size)
    return Database(url=url, engine=engine, sessions=async_sessionmaker(engine, expire_on_commit=False))
