"""Rate limits: in-process ones (a sliding window for sign-in, a token bucket for ingest) and shared ones kept in
the database (:class:`SharedLimits`).

In-process state is kept in memory: with several API replicas each enforces its own limit, so the effective
limit would be the configured one times the replicas. With a shared database (PostgreSQL; setting
``security.rate_limit_store``) the limits are kept in the table ``rate_limits`` instead and hold for all
processes together; the in-process limiters remain for embedded mode and as the fallback while the database does
not answer (docs/security.md). In-process keys are bounded: when more than ``max_keys`` are tracked the least
recently used is dropped, so a flood of distinct keys (addresses, usernames) cannot exhaust memory; a dropped key
starts afresh, which only ever loosens the limit. Shared rows are deleted once they hold nothing (``expires_at``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from sqlalchemy import Float, String, TextClause, bindparam, delete, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from ghgwatch.store import Database
from ghgwatch.store.base import Base

log = logging.getLogger(__name__)
Executor = AsyncSession | AsyncConnection


class SlidingWindow:
    """At most ``limit`` events per ``window_s`` per key."""

    def __init__(self, limit: int, window_s: float, *, max_keys: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window_s, self.max_keys, self._clock = limit, window_s, max_keys, clock
        self._events: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, key: str) -> float | None:
        """Seconds until ``key`` may act again, or ``None`` when it may act now."""
        if self.limit <= 0:
            return None
        events = self._recent(key)
        if events is None or len(events) < self.limit:
            return None
        return max(0.0, events[0] + self.window_s - self._clock())

    def hit(self, key: str) -> None:
        if self.limit <= 0:
            return
        events = self._recent(key)
        if events is None:
            events = self._events[key] = deque()
            while len(self._events) > self.max_keys:
                self._events.popitem(last=False)
        events.append(self._clock())
        self._events.move_to_end(key)

    def reset(self, key: str) -> None:
        self._events.pop(key, None)

    def _recent(self, key: str) -> deque[float] | None:
        events = self._events.get(key)
        if events is None:
            return None
        horizon = self._clock() - self.window_s
        while events and events[0] <= horizon:
            events.popleft()
        if not events:
            del self._events[key]
            return None
        return events


class TokenBucket:
    """``rate`` actions per second per key, sustained, with bursts of up to ``burst``."""

    def __init__(self, rate: float, burst: int, *, max_keys: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self.max_keys, self._clock = rate, burst, max_keys, clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str) -> float | None:
        """Take one token; return ``None`` when granted, else the seconds until one is available."""
        if self.rate <= 0:
            return None
        now = self._clock()
        tokens, last = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate
        self._buckets[key] = (tokens - 1.0, now)
        self._buckets.move_to_end(key)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return None


# -- shared by every process through the database -----------------------------------------------------------------


class RateLimitRow(Base):
    """One limit's state for one key, shared by every process that uses the database (``SharedLimits``)."""

    __tablename__ = "rate_limits"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    """Which limit: ``login_address``, ``login_user`` or ``ingest_device`` (``metrics.RateLimit``)."""
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    """The client address, the case-folded username (at most 200 characters) or the device id."""
    level: Mapped[float] = mapped_column(Float)
    """Token bucket: tokens left after the last take. Window: attempts counted in the current window."""
    stamp: Mapped[float] = mapped_column(Float)
    """Unix seconds. Token bucket: the last refill. Window: when the current window began (its first attempt)."""
    taken: Mapped[float] = mapped_column(Float)
    """Token bucket: how many tokens the last take got (0: refused). Window: 1."""
    expires_at: Mapped[float] = mapped_column(Float, index=True)
    """Unix seconds after which the row holds nothing (a full bucket, an ended window) and may be deleted."""


class SharedLimitsUnavailable(Exception):
    """The database did not answer: the caller falls back to its own process's limiter."""


# Takes ``:want`` tokens when there are that many, else one when there is one, else none.
_BUCKET_SQL = """
INSERT INTO rate_limits (name, key, level, stamp, taken, expires_at)
VALUES (:name, :key, :burst - {least}(:want, :burst), :now, {least}(:want, :burst), :now + :burst / :rate)
ON CONFLICT (name, key) DO UPDATE SET
  level = {avail} - {taken},
  taken = {taken},
  stamp = {greatest}(rate_limits.stamp, :now),
  expires_at = {greatest}(rate_limits.stamp, :now) + :burst / :rate
RETURNING level, taken
"""
_TAKEN = "CASE WHEN {avail} >= :want THEN :want WHEN {avail} >= 1 THEN 1 ELSE 0 END"
_AVAIL = "{least}(:burst, rate_limits.level + {greatest}(0, :now - rate_limits.stamp) * :rate)"

_WINDOW_SQL = """
INSERT INTO rate_limits (name, key, level, stamp, taken, expires_at)
VALUES (:name, :key, 1, :now, 1, :now + :window)
ON CONFLICT (name, key) DO UPDATE SET
  level = CASE WHEN rate_limits.expires_at <= :now THEN 1 ELSE rate_limits.level + 1 END,
  stamp = CASE WHEN rate_limits.expires_at <= :now THEN :now ELSE rate_limits.stamp END,
  expires_at = CASE WHEN rate_limits.expires_at <= :now THEN :now + :window ELSE rate_limits.expires_at END
RETURNING level, expires_at
"""


class SharedLimits:
    """Token buckets and fixed windows kept in the table ``rate_limits``, so that every process using the same
    database (API replicas in cluster mode) enforces one limit together, not one each.

    Each take or count is one ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` statement: the database locks
    the key's row for it, so concurrent requests of several processes are counted one after the other and no
    more than the limit pass. Times are the processes' wall clocks (keep them in sync, NTP); a clock behind the
    stored one refills nothing rather than a negative amount. Windows start at a key's first attempt and last
    ``window_s`` (a fixed window per key, not a sliding one: at most twice the limit can pass within one window's
    length across a window's end, against the in-process sliding window's once).

    When the database does not answer (an error or ``timeout_s``), :class:`SharedLimitsUnavailable` is raised and
    the database is not asked again for ``retry_after_s``, so that an outage costs no time per request: the
    callers then use their process's own limiter (ingest keeps accepting during a database outage).
    """

    def __init__(self, db: Database, *, clock: Callable[[], float] = time.time, timeout_s: float = 5.0,
                 retry_after_s: float = 10.0, purge_every_s: float = 60.0) -> None:
        self._db, self._clock, self._timeout_s = db, clock, timeout_s
        self._retry_after_s, self._purge_every_s = retry_after_s, purge_every_s
        self._down_until = 0.0
        self._next_purge = 0.0
        if db.dialect == "sqlite":
            fn = {"least": "min", "greatest": "max"}
        else:
            fn = {"least": "LEAST", "greatest": "GREATEST"}
        avail = _AVAIL.format(**fn)
        taken = _TAKEN.format(avail=avail)
        # Typed parameters: PostgreSQL would take ``:burst - 1`` for an integer expression without the casts.
        typed = [bindparam("name", type_=String), bindparam("key", type_=String), bindparam("now", type_=Float)]
        self._bucket = text(_BUCKET_SQL.format(avail=avail, taken=taken, **fn)).bindparams(
            *typed, bindparam("rate", type_=Float), bindparam("burst", type_=Float), bindparam("want", type_=Float))
        self._window = text(_WINDOW_SQL).bindparams(*typed, bindparam("window", type_=Float))

    async def take(self, name: str, key: str, rate: float, burst: int) -> float | None:
        """Token bucket: take one token; ``None`` when granted, else the seconds until one is available."""
        taken, wait = await self.take_up_to(name, key, rate, burst, 1)
        return None if taken else wait

    async def take_up_to(self, name: str, key: str, rate: float, burst: int, want: int) -> tuple[int, float]:
        """Token bucket: take ``want`` tokens if there are that many, else one if there is one. Returns how many
        were taken and, when none, the seconds until one is available."""
        now = self._clock()
        row = await self._run(self._bucket, {"name": name, "key": key, "now": now, "rate": float(rate),
                                             "burst": float(burst), "want": float(want)}, now)
        level, taken = float(row[0]), int(row[1])
        return taken, (0.0 if taken else max(0.0, (1.0 - level) / rate))

    async def count(self, name: str, key: str, limit: int, window_s: float) -> float | None:
        """Fixed window: count one attempt; ``None`` while the window holds at most ``limit`` of them, else the
        seconds until the window ends (the refused attempt is counted too, which changes nothing: the window
        does not move)."""
        now = self._clock()
        row = await self._run(self._window, {"name": name, "key": key, "now": now, "window": float(window_s)}, now)
        level, ends = float(row[0]), float(row[1])
        return None if level <= limit else max(0.0, ends - now)

    async def peek(self, name: str, key: str, limit: int) -> float | None:
        """Fixed window, without counting: the seconds until the window ends when it holds ``limit`` or more
        attempts already, else ``None``."""
        now = self._clock()

        async def go(session: Executor) -> Any:
            return (await session.execute(select(RateLimitRow.level, RateLimitRow.expires_at).where(
                RateLimitRow.name == name, RateLimitRow.key == key))).first()

        row = await self._guard(go, now, write=False)
        if row is None or float(row[1]) <= now or float(row[0]) < limit:
            return None
        return float(row[1]) - now

    async def reset(self, name: str, key: str) -> None:
        now = self._clock()

        async def go(session: Executor) -> None:
            await session.execute(delete(RateLimitRow).where(RateLimitRow.name == name, RateLimitRow.key == key))

        await self._guard(go, now)

    async def _run(self, statement: TextClause, params: dict[str, Any], now: float) -> Any:
        async def go(session: Executor) -> Any:
            return (await session.execute(statement, params)).one()

        return await self._guard(go, now)

    async def _guard(self, work: Callable[[Executor], Awaitable[Any]], now: float, *, write: bool = True) -> Any:
        if now < self._down_until:
            raise SharedLimitsUnavailable("the database did not answer a moment ago")
        try:
            async with asyncio.timeout(self._timeout_s), self._executor() as executor:
                if write and now >= self._next_purge:
                    self._next_purge = now + self._purge_every_s
                    await executor.execute(delete(RateLimitRow).where(RateLimitRow.expires_at < now))
                return await work(executor)
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            self._down_until = self._clock() + self._retry_after_s
            log.warning("shared rate limits unavailable (%s); this process's own limits apply for %.0f s",
                        type(exc).__name__, self._retry_after_s)
            raise SharedLimitsUnavailable(str(exc)) from exc

    @contextlib.asynccontextmanager
    async def _executor(self) -> AsyncIterator[Executor]:
        """PostgreSQL: each statement commits by itself (one round trip instead of BEGIN, statement, COMMIT;
        each statement is atomic on its own). SQLite: a transaction, which takes the write lock up front."""
        if self._db.dialect == "sqlite":
            async with self._db.transaction() as session:
                yield session
        else:
            async with self._db.engine.connect() as connection:
                yield await connection.execution_options(isolation_level="AUTOCOMMIT")


class SharedTokenBucket:
    """A token bucket per key in :class:`SharedLimits`, with this process's own :class:`TokenBucket` while the
    database does not answer.

    To ask the database less often for a busy key, a take may get ``lease`` tokens at once (when the bucket holds
    that many) and spend the rest in this process for up to ``lease_s`` (1 s); unspent ones then lapse. Leased
    tokens are taken from the shared bucket, so all processes together grant no more than the bucket gives out;
    a process may refuse a little earlier than a single process would while another holds leased tokens, and
    a momentary burst can exceed ``burst`` by the leases held (at most ``lease - 1`` per process)."""

    def __init__(self, shared: SharedLimits, name: str, rate: float, burst: int, *, lease: int = 1,
                 lease_s: float = 1.0, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000) -> None:
        self.shared, self.name, self.rate, self.burst = shared, name, rate, burst
        self.lease, self.lease_s, self._clock, self.max_keys = max(1, min(lease, burst)), lease_s, clock, max_keys
        self.local = TokenBucket(rate, burst)
        self._leased: OrderedDict[str, tuple[int, float]] = OrderedDict()
        """key: (leased tokens left, until when they may be spent)"""
        self._refused: OrderedDict[str, float] = OrderedDict()
        """key: until when the shared bucket cannot have a token (it only fills with time; others only take)"""

    async def take(self, key: str) -> float | None:
        if self.rate <= 0:
            return None
        now = self._clock()
        left, until = self._leased.pop(key, (0, 0.0))
        if left > 0 and now < until:
            if left > 1:
                self._leased[key] = (left - 1, until)
            return None
        refused_until = self._refused.get(key, 0.0)
        if now < refused_until:  # a device over its limit costs no statement per request
            return refused_until - now
        self._refused.pop(key, None)
        try:
            taken, wait = await self.shared.take_up_to(self.name, key, self.rate, self.burst, self.lease)
        except SharedLimitsUnavailable:
            return self.local.take(key)
        if not taken:
            _bounded_put(self._refused, key, now + wait, self.max_keys)
            return wait
        if taken > 1:
            _bounded_put(self._leased, key, (taken - 1, now + self.lease_s), self.max_keys)
        return None


def _bounded_put(entries: OrderedDict[str, Any], key: str, value: Any, max_keys: int) -> None:
    entries[key] = value
    entries.move_to_end(key)
    while len(entries) > max_keys:
        entries.popitem(last=False)


def retry_after_header(seconds: float) -> dict[str, str]:
    """``Retry-After`` in whole seconds, at least 1 (RFC 9110 section 10.2.3)."""
    return {"Retry-After": str(max(1, math.ceil(seconds)))}
