"""The database handle built at start-up and passed down (never created at import time)."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from ghgwatch.store.dialect import create_engine


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

    def write_turn(self, *, urgent: bool = False) -> contextlib.AbstractAsyncContextManager[object]:
        """SQLite: one writer of this process at a time, in arrival order, so a long clean-up in small
        transactions lets the pipeline's next write in after at most one of them (SQLite's own busy wait polls,
        sleeping up to 100 ms between tries, and can starve a waiter). ``urgent`` (alert persistence) goes
        before every ordinary waiter: an alarm waits for the one transaction running, never for a queue of bulk
        writes. PostgreSQL: no-op, its row locks suffice."""
        if self.dialect != "sqlite":
            return contextlib.nullcontext()
        turn = self.state.get("write_turn")
        if turn is None:
            turn = self.state["write_turn"] = WriteTurn()
        return turn.urgent() if urgent else turn

    async def dispose(self) -> None:
        await self.engine.dispose()


def open_database(url: str, *, echo: bool = False, pool_size: int = 10) -> Database:
    engine = create_engine(url, echo=echo, pool_size=pool_size)
    return Database(url=url, engine=engine, sessions=async_sessionmaker(engine, expire_on_commit=False))
