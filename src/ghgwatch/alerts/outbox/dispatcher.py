"""The outbox dispatcher: claims due rows with a lease, delivers them, and records the outcome.

Safe with several dispatchers on one database (the claim is a conditional UPDATE that only one of them wins) and
after a crash (a claimed row whose lease ran out is claimed again). The lease is short (``outbox_lease_s``) and
renewed by its owner while the attempt runs, so a slow receiver (up to ``webhook_timeout_s``) keeps its row, and a
dead dispatcher's rows are taken over within one lease. Back-off: ``retry_backoff_s`` × 2^(attempt-1).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import or_, select, update

from ghgwatch.alerts.models import Channel, NotificationDelivery, NotificationRoute
from ghgwatch.alerts.notify import mail, webhook
from ghgwatch.alerts.notify.webhook import Attempt
from ghgwatch.alerts.outbox.models import OutboxKind, OutboxMessage, OutboxStatus
from ghgwatch.kit.timeutil import ensure_utc, utcnow
from ghgwatch.observability import metrics, tracing
from ghgwatch.security.egress import UnsafeTarget, check_url
from ghgwatch.settings import NotifySettings
from ghgwatch.store import Database

log = logging.getLogger(__name__)
IDEMPOTENCY_HEADER = "Idempotency-Key"
_BATCH = 50


class OutboxDispatcher:
    def __init__(self, db: Database, settings: NotifySettings, *, allow_private: bool = False,
                 client: httpx.AsyncClient | None = None) -> None:
        self.db, self.settings, self.allow_private = db, settings, allow_private
        self._client = client or httpx.AsyncClient()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._inflight: set[asyncio.Task[None]] = set()
        self.lease_s = max(0.1, settings.outbox_lease_s)
        self.owner = f"{uuid.uuid4().hex[:16]}"
        """Written into ``lease_owner`` of the rows this dispatcher holds: only the owner renews a lease."""

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-dispatcher")

    async def stop(self) -> None:
        tasks = [t for t in (self._task, *self._inflight) if t is not None]
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        await self._client.aclose()

    def wake(self) -> None:
        """New rows were committed: look now instead of at the next poll."""
        self._wake.set()

    async def idle(self) -> None:
        while self._inflight:
            await asyncio.gather(*list(self._inflight), return_exceptions=True)

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            wait = self.settings.outbox_poll_s
            try:
                await self._expire()
                wait = min(wait, await self.dispatch_due())
            except Exception:  # a failing round (database away) must not stop the dispatcher
                log.exception("outbox round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(0.01, wait))

    async def _expire(self) -> None:
        from ghgwatch.responses.service import any_overdue, expire

        async with self.db.reads() as s:
            if not await any_overdue(s):
                return
        async with self.db.transaction() as s:
            await expire(s)

    async def dispatch_due(self) -> float:
        """Start delivering every due row this process can claim; returns seconds until the next known due row."""
        now = utcnow()
        async with self.db.reads() as s:
            due = list((await s.execute(select(OutboxMessage.id, OutboxMessage.next_attempt_at).where(
                OutboxMessage.status == OutboxStatus.PENDING.value,
                or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now))
                .order_by(OutboxMessage.next_attempt_at).limit(_BATCH))).all())
        later = self.settings.outbox_poll_s
        for row_id, at in due:
            delay = (ensure_utc(at) - now).total_seconds()
            if delay > 0:
                later = min(later, delay)
                continue
            if await self._claim(row_id):
                task = asyncio.create_task(self._deliver(row_id))
                self._inflight.add(task)
                task.add_done_callback(self._inflight.discard)
        return later

    async def _claim(self, row_id: int) -> bool:
        now = utcnow()
        async with self.db.transaction() as s:
            result = await s.execute(update(OutboxMessage).where(
                OutboxMessage.id == row_id, OutboxMessage.status == OutboxStatus.PENDING.value,
                or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now),
            ).values(lease_until=now + timedelta(seconds=self.lease_s), lease_owner=self.owner))
        return bool(getattr(result, "rowcount", 0) == 1)

    async def _renew(self, row_id: int) -> None:
        """Keep the lease of a row in flight, every third of a lease, until cancelled (the attempt has ended)."""
        while True:
            await asyncio.sleep(self.lease_s / 3)
            try:
                async with self.db.transaction() as s:
                    await s.execute(update(OutboxMessage).where(
                        OutboxMessage.id == row_id, OutboxMessage.lease_owner == self.owner,
                        OutboxMessage.status == OutboxStatus.PENDING.value,
                    ).values(lease_until=utcnow() + timedelta(seconds=self.lease_s)))
            except Exception:  # a missed renewal only lets another dispatcher repeat the attempt (same key)
                log.warning("renewing the lease of outbox row %s failed", row_id, exc_info=True)

    async def _deliver(self, row_id: int) -> None:
        try:
            async with self.db.reads() as s:
                msg = await s.get(OutboxMessage, row_id)
                target = None if msg is None else await self._target(s, msg)
            if msg is None:
                return
            renew = asyncio.create_task(self._renew(row_id), name=f"outbox-lease-{row_id}")
            name = "alert.notify" if msg.kind == OutboxKind.NOTIFICATION.value else "alert.command"
            parent = None if msg.alert_id is None else tracing.alert_context(msg.alert_id)
            try:
                with tracing.span(name, parent=parent, channel=getattr(target, "channel", msg.kind),
                                  event=msg.event, attempt=msg.attempts + 1):
                    result = await self._attempt(msg, target)
            finally:
                renew.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await renew
            await self._record(msg, target, result)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("delivering outbox row %s failed; the lease expires and it is tried again", row_id)

    async def _target(self, s: Any, msg: OutboxMessage) -> Any:
        if msg.kind == OutboxKind.NOTIFICATION.value:
            return None if msg.route_id is None else await s.get(NotificationRoute, msg.route_id)
        from ghgwatch.responses.models import ResponseCommand, ResponseRule

        command = None if msg.command_id is None else await s.get(ResponseCommand, msg.command_id)
        return None if command is None or command.rule_id is None else await s.get(ResponseRule, command.rule_id)

    async def _attempt(self, msg: OutboxMessage, target: Any) -> Attempt:
        if target is None or not target.active:
            return Attempt(False, False, None, "the route or response rule was removed or switched off")
        headers = {IDEMPOTENCY_HEADER: msg.idempotency_key}
        try:
            if msg.kind == OutboxKind.COMMAND.value:
                return await self._post(target.command_url, msg, target.secret, headers)
            if target.channel == Channel.WEBHOOK.value:
                return await self._post(target.target, msg, target.secret, headers)
            if target.channel == Channel.EMAIL.value:
                return await mail.send(self.settings, msg.payload, target.target)
        except Exception as exc:  # a bug in one channel must still leave a recorded failure
            log.exception("outbox attempt failed")
            return Attempt(False, False, None, f"{type(exc).__name__}: {exc}"[:500])
        return Attempt(False, False, None, f"unknown channel {target.channel!r}")

    async def _post(self, url: str, msg: OutboxMessage, secret: str | None, headers: dict[str, str]) -> Attempt:
        try:
            await check_url(url, allow_private=self.allow_private)
        except UnsafeTarget as exc:
            return Attempt(False, False, None, f"target refused: {exc}"[:500])
        body = json.dumps(msg.payload, separators=(",", ":"), sort_keys=True).encode()
        return await webhook.post(self._client, url, body, secret, self.settings.webhook_timeout_s,
                                  extra_headers=headers)

    async def _record(self, msg: OutboxMessage, target: Any, result: Attempt) -> None:
        from ghgwatch.responses.service import fail_command, mark_sent

        attempt = msg.attempts + 1
        last = result.ok or not result.retry or attempt >= max(1, self.settings.webhook_max_attempts)
        status = OutboxStatus.DELIVERED if result.ok else (OutboxStatus.FAILED if last else OutboxStatus.PENDING)
        now = utcnow()
        values: dict[str, Any] = {"attempts": attempt, "status": status.value, "lease_until": None,
                                  "lease_owner": None, "last_code": result.code, "last_error": result.error}
        if result.ok:
            values["delivered_at"] = now
        elif not last:
            values["next_attempt_at"] = now + timedelta(seconds=self.settings.retry_backoff_s * 2 ** (attempt - 1))
        async with self.db.transaction() as s:
            changed = await s.execute(update(OutboxMessage).where(
                OutboxMessage.id == msg.id, OutboxMessage.status == OutboxStatus.PENDING.value,
                OutboxMessage.lease_owner == self.owner).values(**values))
            if getattr(changed, "rowcount", 1) == 0:
                # The lease lapsed during the attempt (a stalled process) and another dispatcher took the row over,
                # or a deadline failed the command: the receiver may see the key twice; the other outcome stands.
                log.warning("outbox row %s was taken over or closed during this attempt", msg.id)
                return
            if msg.kind == OutboxKind.NOTIFICATION.value and msg.route_id is not None and msg.alert_id is not None:
                s.add(NotificationDelivery(
                    organization_id=msg.organization_id, route_id=msg.route_id, alert_id=msg.alert_id,
                    event=msg.event, attempt=attempt,
                    status="delivered" if result.ok else ("failed" if last else "retrying"),
                    response_code=result.code, error=result.error))
            elif msg.kind == OutboxKind.COMMAND.value and msg.command_id is not None:
                if result.ok:
                    await mark_sent(s, msg.command_id)
                elif last:
                    await fail_command(s, msg.command_id, f"command webhook failed: {result.error or result.code}")
        channel = "command" if msg.kind == OutboxKind.COMMAND.value else getattr(target, "channel", "webhook")
        metrics.observe_notification(channel, "success" if result.ok else "failure")
        if not last:
            self.wake()

