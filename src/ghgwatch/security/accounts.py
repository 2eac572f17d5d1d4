"""Checking a token's user on every request, and guarding sign-in (rate limits, even timing, audit).

A valid signature is not enough: the token's user must still exist and be active, and the token must carry
the user's current ``token_version`` (bumped by deactivation, a role or password change and revocation).
The user's state is cached for ``security.user_cache_ttl_s`` (5 s by default), so a change made through
another process takes effect within that time; this process forgets its cached entry at once.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from ghgwatch.kit.problems import Problem, Term, unauthorized
from ghgwatch.observability import metrics
from ghgwatch.security.models import Role, User
from ghgwatch.security.principal import Principal
from ghgwatch.security.ratelimit import (
    SharedLimits,
    SharedLimitsUnavailable,
    SharedTokenBucket,
    SlidingWindow,
    TokenBucket,
    retry_after_header,
)
from ghgwatch.security.tokens import Claims
from ghgwatch.settings import SecuritySettings
from ghgwatch.store import Database


@dataclass(frozen=True)
class UserState:
    id: int
    username: str
    role: Role
    organization_id: int | None
    active: bool
    token_version: int


class UserCache:
    def __init__(self, db: Database, ttl_s: float = 5.0) -> None:
        self._db, self._ttl = db, ttl_s
        self._entries: dict[int, tuple[float, UserState | None]] = {}

    async def get(self, user_id: int) -> UserState | None:
        now = time.monotonic()
        cached = self._entries.get(user_id)
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        async with self._db.sessions() as s:
            row = (await s.execute(select(User.id, User.username, User.role, User.organization_id, User.active,
                                          User.token_version).where(User.id == user_id))).first()
        state = None if row is None else UserState(*row)
        if len(self._entries) > 50_000:
            self._entries.clear()
        self._entries[user_id] = (now, state)
        return state

    def forget(self, user_id: int) -> None:
        self._entries.pop(user_id, None)


def user_cache(extras: dict[str, Any], db: Database, settings: SecuritySettings) -> UserCache:
    cache = extras.get("user_cache")
    if cache is None:
        cache = extras["user_cache"] = UserCache(db, settings.user_cache_ttl_s)
    return cache


async def principal_for(claims: Claims, cache: UserCache) -> Principal:
    """The principal of a verified token, from the user's current state; 401 if the token no longer holds."""
    if not 0 < claims.user_id < 2**63:
        raise unauthorized("invalid token")
    state = await cache.get(claims.user_id)
    if state is None:
        raise unauthorized("the token's user does not exist")
    if not state.active:
        raise unauthorized("this account is deactivated")
    if state.token_version != claims.token_version:
        raise unauthorized("this token was revoked (the account changed): sign in again")
    return Principal(state.id, state.username, state.role, state.organization_id)


class LoginGuard:
    """Limits sign-in attempts per client address and failed attempts per username.

    With ``shared`` (a shared database) the counts are kept there, for all processes together; this process's
    own sliding windows apply when there is no shared store or while it does not answer."""

    def __init__(self, settings: SecuritySettings, shared: SharedLimits | None = None) -> None:
        self.settings, self.shared = settings, shared
        self.by_address = SlidingWindow(settings.login_attempts_per_address, settings.login_window_s)
        self.by_user = SlidingWindow(settings.login_failures_per_user, settings.login_window_s)

    async def admit(self, address: str, username: str) -> None:
        """Raise 429 with ``Retry-After`` when either limit is reached; otherwise count the attempt."""
        s, user_key = self.settings, _user_key(username)
        counted, wait = False, None
        if self.shared is not None and s.login_attempts_per_address > 0:
            try:  # counts the attempt and checks the count in one statement
                wait = await self.shared.count(metrics.RateLimit.LOGIN_ADDRESS.value, address,
                                               s.login_attempts_per_address, s.login_window_s)
                counted = True
            except SharedLimitsUnavailable:
                pass
        if not counted:
            wait = self.by_address.retry_after(address)
        limit = metrics.RateLimit.LOGIN_ADDRESS
        if wait is None:
            wait, limit = await self._user_wait(user_key), metrics.RateLimit.LOGIN_USER
        if wait is not None:
            metrics.observe_rate_limited(limit)
            metrics.observe_login(metrics.LoginOutcome.LIMITED)
            what = Term("this address" if limit is metrics.RateLimit.LOGIN_ADDRESS else "this user")
            raise Problem(429, "Too many sign-in attempts", "too many sign-in attempts from {what}; retry later",
                          type_="rate-limited", headers=retry_after_header(wait), values={"what": what})
        if not counted:
            self.by_address.hit(address)

    async def _user_wait(self, user_key: str) -> float | None:
        s = self.settings
        if self.shared is not None and s.login_failures_per_user > 0:
            try:
                return await self.shared.peek(metrics.RateLimit.LOGIN_USER.value, user_key,
                                              s.login_failures_per_user)
            except SharedLimitsUnavailable:
                pass
        return self.by_user.retry_after(user_key)

    async def failed(self, username: str) -> None:
        metrics.observe_login(metrics.LoginOutcome.FAILURE)
        s, user_key = self.settings, _user_key(username)
        if self.shared is not None and s.login_failures_per_user > 0:
            try:
                await self.shared.count(metrics.RateLimit.LOGIN_USER.value, user_key, s.login_failures_per_user,
                                        s.login_window_s)
                return
            except SharedLimitsUnavailable:
                pass
        self.by_user.hit(user_key)

    async def succeeded(self, username: str) -> None:
        metrics.observe_login(metrics.LoginOutcome.SUCCESS)
        user_key = _user_key(username)
        self.by_user.reset(user_key)
        if self.shared is not None and self.settings.login_failures_per_user > 0:
            with contextlib.suppress(SharedLimitsUnavailable):
                await self.shared.reset(metrics.RateLimit.LOGIN_USER.value, user_key)


def _user_key(username: str) -> str:
    return username[:200].casefold()  # bounded: the limiter keeps up to 100,000 keys in memory


def shared_limits(extras: dict[str, Any], db: Database | None, settings: SecuritySettings) -> SharedLimits | None:
    """This process's handle on the shared limits, or ``None`` when limits are kept in memory
    (``security.rate_limit_store``: ``auto`` means the database on PostgreSQL, memory on SQLite; always memory
    without a database, as on the edge gateway)."""
    if "shared_limits" not in extras:
        store = settings.rate_limit_store
        shared = db is not None and (store == "database" or (store == "auto" and db.dialect != "sqlite"))
        extras["shared_limits"] = SharedLimits(db) if shared and db is not None else None
    limits: SharedLimits | None = extras["shared_limits"]
    return limits


def login_guard(extras: dict[str, Any], settings: SecuritySettings, db: Database) -> LoginGuard:
    guard = extras.get("login_guard")
    if guard is None:
        guard = extras["login_guard"] = LoginGuard(settings, shared_limits(extras, db, settings))
    return guard


async def sign_in(db: Database, extras: dict[str, Any], settings: SecuritySettings, *, address: str,
                  username: str, password: str) -> User | None:
    """Check a sign-in under the rate limits and audit it (success and failure alike, in their own transaction,
    so that a refused sign-in is recorded although the request fails). 429 when a limit is reached."""
    from ghgwatch import audit
    from ghgwatch.security import service

    guard = login_guard(extras, settings, db)
    await guard.admit(address, username)
    async with db.transaction() as s:
        user = await service.authenticate_user(s, username, password)
        if user is not None:
            await audit.record(s, actor=user.username, action="login", entity="user", entity_id=user.id,
                               organization_id=user.organization_id, after={"address": address})
        else:
            known = None
            if service.plausible_username(username):
                known = (await s.execute(select(User.id, User.organization_id)
                                         .where(User.username == username))).first()
            shown = "".join(c if c.isprintable() else "\N{REPLACEMENT CHARACTER}" for c in username[:120])
            await audit.record(s, actor=shown, action="login_failed", entity="user",
                               entity_id=None if known is None else known[0],
                               organization_id=None if known is None else known[1], after={"address": address})
    if user is None:
        await guard.failed(username)
    else:
        await guard.succeeded(username)
    return user


def client_address(scope_client: tuple[str, int] | None) -> str:
    return scope_client[0] if scope_client else "unknown"


async def admit_ingest(extras: dict[str, Any], settings: SecuritySettings, device_id: int,
                      db: Database | None) -> None:
    """Per-device limit of ingest requests: 429 with ``Retry-After`` beyond ``ingest_requests_per_device_s``
    (shared by every process when the limits are kept in the database)."""
    limiter: TokenBucket | SharedTokenBucket | None = extras.get("ingest_limiter")
    if limiter is None:
        shared = shared_limits(extras, db, settings)
        rate, burst = settings.ingest_requests_per_device_s, settings.ingest_burst
        # Leases of up to 10 tokens (a twentieth of the burst, so none for small bursts): a busy device costs one
        # database statement per 10 requests, not per request (docs/benchmarks.md, "Shared rate limits"), and a
        # replica holds back at most 9 of its tokens for at most 1 s.
        lease = max(1, min(10, burst // 20))
        limiter = extras["ingest_limiter"] = TokenBucket(rate, burst) if shared is None else SharedTokenBucket(
            shared, metrics.RateLimit.INGEST_DEVICE.value, rate, burst, lease=lease)
    key = str(device_id)
    wait = await limiter.take(key) if isinstance(limiter, SharedTokenBucket) else limiter.take(key)
    if wait is not None:
        metrics.observe_rate_limited(metrics.RateLimit.INGEST_DEVICE)
        raise Problem(429, "Too many requests", "device {device_id} sends faster than {rate} requests/s; retry later",
                      type_="rate-limited", headers=retry_after_header(wait),
                      values={"device_id": device_id, "rate": f"{settings.ingest_requests_per_device_s:g}"})
