"""Device authentication for ingest: bearer tokens, HMAC signatures, stale and replayed signatures.

Signature: ``X-Signature: sha256=<hex HMAC-SHA256 of "<X-Timestamp>.<raw body>">`` keyed with the device's
HMAC secret. Timestamps more than ``max_age_s`` away from now (or not finite: ``nan``, ``inf``) are refused,
and a signature seen within that window is refused as a replay. The replay memory is shared through the
database (``seen_signatures``, see :mod:`ghgwatch.ingest.nonces`), so a replay to another replica or after a
restart is caught too; a process also keeps what it saw itself, which answers during a database outage.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import time
from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from ghgwatch.ingest.nonces import SeenSignature
from ghgwatch.kit.problems import Problem, unauthorized
from ghgwatch.security import service
from ghgwatch.security.models import Device
from ghgwatch.store import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    id: int
    organization_id: int
    hmac_secret: str
    require_signature: bool


def signature_for(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class DeviceAuthenticator:
    """Authenticates device tokens with a short cache (``ttl_s``): a revoked token stops working within
    that time. Keeps the signatures seen recently to refuse replays."""

    def __init__(self, db: Database, *, ttl_s: float = 2.0, max_age_s: float = 300.0) -> None:
        self._db = db
        self._ttl_s = ttl_s
        self.max_age_s = max_age_s
        self._tokens: dict[str, tuple[float, DeviceInfo | None]] = {}
        self._seen: dict[str, float] = {}
        self._next_purge = 0.0
        self._next_db_purge = 0.0

    async def device(self, token: str) -> DeviceInfo:
        now = time.monotonic()
        cached = self._tokens.get(token)
        if cached is None or cached[0] < now:
            try:
                async with self._db.reads() as session:
                    found = await service.authenticate_device(session, token)
            except (SQLAlchemyError, OSError) as exc:
                # Database unreachable: keep the last answer, so ingest goes on accepting to the bus through a
                # database outage (the bus, not the database, makes readings durable); unknown tokens wait.
                if cached is None:
                    raise Problem(503, "Unavailable", "device tokens cannot be checked right now; retry",
                                  type_="unavailable", headers={"Retry-After": "5"}) from exc
                log.warning("device token check failed (%s); using the answer from before", exc)
                self._tokens[token] = (now + self._ttl_s, cached[1])
                found = None
            else:
                cached = None
            info = cached[1] if cached is not None else None if found is None else DeviceInfo(
                found.id, found.organization_id, found.hmac_secret, found.require_signature)
            if len(self._tokens) > 10_000:
                self._tokens.clear()
            self._tokens[token] = cached = (now + self._ttl_s, info)
        if cached[1] is None:
            raise unauthorized("unknown or revoked device token")
        return cached[1]

    async def device_by_id(self, device_id: int) -> DeviceInfo | None:
        """For transports that authenticate elsewhere (the MQTT broker): the device, unless revoked."""
        key = f"id:{device_id}"
        now = time.monotonic()
        cached = self._tokens.get(key)
        if cached is None or cached[0] < now:
            async with self._db.reads() as session:
                found = await session.get(Device, device_id)
            info = None if found is None or found.revoked_at is not None else DeviceInfo(
                found.id, found.organization_id, found.hmac_secret, found.require_signature)
            self._tokens[key] = cached = (now + self._ttl_s, info)
        return cached[1]

    async def verify_signature(self, device: DeviceInfo, timestamp: str | None, signature: str | None,
                               body: bytes) -> None:
        """:meth:`check_signature`, then the signature is remembered in the database (409 if already there)."""
        expected = self.check_signature(device, timestamp, signature, body)
        if expected is not None:
            await self.remember(expected)

    async def remember(self, expected: str) -> None:
        """Record a signature in the shared memory; a second record of it (any process) is a replay."""
        if self._db is None:
            return
        wall = time.time()
        digest = hashlib.sha256(expected.encode()).hexdigest()
        try:
            async with self._db.transaction() as session:
                if wall >= self._next_db_purge:
                    self._next_db_purge = wall + 60.0
                    await session.execute(delete(SeenSignature).where(SeenSignature.expires_at < int(wall)))
                session.add(SeenSignature(digest=digest, expires_at=int(wall + 2 * self.max_age_s) + 1))
        except IntegrityError as exc:
            raise Problem(409, "Replayed request", "this signature was already used",
                          type_="replayed-signature") from exc
        except (SQLAlchemyError, OSError) as exc:
            # Database unreachable: this process's own memory (checked already) is all there is; ingest goes on.
            log.warning("shared replay memory unavailable (%s); only this process's memory was checked", exc)

    def check_signature(self, device: DeviceInfo, timestamp: str | None, signature: str | None,
                        body: bytes) -> str | None:
        """Check a signature against this process's memory; returns it (``None``: unsigned and allowed)."""
        if signature is None and timestamp is None:
            if device.require_signature:
                raise Problem(401, "Signature required", "this device must sign its requests (X-Timestamp, "
                              "X-Signature)", type_="signature-required")
            return None
        if signature is None or timestamp is None:
            raise Problem(401, "Bad signature", "X-Timestamp and X-Signature go together", type_="bad-signature")
        try:
            sent = float(timestamp)
        except ValueError as exc:
            raise Problem(401, "Bad signature", "X-Timestamp must be Unix seconds", type_="bad-signature") from exc
        if not math.isfinite(sent):  # nan compares false with everything and would pass the age check
            raise Problem(401, "Bad signature", "X-Timestamp must be finite Unix seconds", type_="bad-signature")
        wall = time.time()
        if abs(wall - sent) > self.max_age_s:
            raise Problem(401, "Stale signature", "timestamp is {away} s away from now; at most {limit} s",
                          type_="stale-signature",
                          values={"away": f"{wall - sent:.0f}", "limit": f"{self.max_age_s:.0f}"})
        expected = signature_for(device.hmac_secret, timestamp, body)
        if not hmac.compare_digest(expected, signature.strip()):
            raise Problem(401, "Bad signature", "X-Signature does not match the body", type_="bad-signature")
        self._purge(wall)
        if expected in self._seen:
            raise Problem(409, "Replayed request", "this signature was already used", type_="replayed-signature")
        self._seen[expected] = wall + 2 * self.max_age_s
        return expected

    def _purge(self, wall: float) -> None:
        if wall < self._next_purge:
            return
        self._seen = {k: v for k, v in self._seen.items() if v > wall}
        self._next_purge = wall + 10.0
