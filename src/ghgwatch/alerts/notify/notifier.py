"""The notifier: takes alert events from the hub, finds the organisation's matching routes and delivers
each with retries and exponential back-off, logging every attempt in ``notification_deliveries``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any, Final

import httpx
from sqlalchemy import select

from ghgwatch.alerts.hub import AlertHub
from ghgwatch.alerts.models import Channel, NotificationDelivery, NotificationRoute
from ghgwatch.alerts.notify import mail, webhook
from ghgwatch.alerts.notify.webhook import Attempt
from ghgwatch.observability import metrics, tracing
from ghgwatch.security.egress import UnsafeTarget, check_url
from ghgwatch.settings import NotifySettings
from ghgwatch.store import Database

log = logging.getLogger(__name__)

NOTIFY_EVENTS: Final = frozenset({"opened", "escalated", "resolved", "auto_resolved"})
_RANK: Final = {"warning": 1, "alarm": 2}


def route_matches(route: NotificationRoute, alert: dict[str, Any]) -> bool:
    """Same organisation, severity at least the route's, and the route's facility if it names one."""
    return (
        route.active
        and route.organization_id == alert["organization_id"]
        and _RANK.get(alert["severity"], 0) >= _RANK.get(route.min_severity, 1)
        and (route.facility_id is None or route.facility_id == alert["facility_id"])
    )


class Notifier:
    def __init__(self, db: Database, hub: AlertHub, settings: NotifySettings,
                 client: httpx.AsyncClient | None = None, *, allow_private: bool = False) -> None:
        self.db, self.hub, self.settings = db, hub, settings
        self.allow_private = allow_private
        """Deliver to loopback and private addresses too (``security.allow_private_targets``)."""
        self._client = client or httpx.AsyncClient()
        self._task: asyncio.Task[None] | None = None
        self._deliveries: set[asyncio.Task[bool]] = set()
        self._ready = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="alert-notifier")
        await self._ready.wait()

    async def stop(self) -> None:
        tasks = [t for t in (self._task, *self._deliveries) if t is not None]
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        await self._client.aclose()

    async def idle(self) -> None:
        """Wait until every delivery in progress has finished (tests, shutdown drains)."""
        while self._deliveries:
            await asyncio.gather(*list(self._deliveries), return_exceptions=True)

    async def _run(self) -> None:
        async with self.hub.subscribe(None) as sub:
            self._ready.set()
            while True:
                event = await sub.get()
                if event is None or event["event"] not in NOTIFY_EVENTS:
                    continue
                try:
                    routes = await self._routes(event["alert"])
                except Exception:
                    log.exception("loading notification routes failed; event dropped")
                    continue
                for route in routes:
                    task = asyncio.create_task(self.deliver(route, event))
                    self._deliveries.add(task)
                    task.add_done_callback(self._deliveries.discard)

    async def _routes(self, alert: dict[str, Any]) -> list[NotificationRoute]:
        async with self.db.sessions() as s:
            rows = (await s.execute(select(NotificationRoute).where(
                NotificationRoute.organization_id == alert["organization_id"],
                NotificationRoute.active.is_(True)))).scalars().all()
        return [r for r in rows if route_matches(r, alert)]

    async def deliver(self, route: NotificationRoute, event: dict[str, Any]) -> bool:
        """Up to ``webhook_max_attempts`` attempts; back-off ``retry_backoff_s`` × 2^(attempt-1)."""
        with tracing.span("alert.notify", parent=tracing.alert_context(event["alert"]["id"]), channel=route.channel,
                          route=route.id, event=event["event"]):
            return await self._deliver(route, event)

    async def _deliver(self, route: NotificationRoute, event: dict[str, Any]) -> bool:
        body = json.dumps(event, separators=(",", ":"), sort_keys=True).encode()
        attempts = max(1, self.settings.webhook_max_attempts)
        for n in range(1, attempts + 1):
            result = await self._attempt(route, event, body)
            last = result.ok or not result.retry or n == attempts
            status = "delivered" if result.ok else ("failed" if last else "retrying")
            await self._log(route, event, n, status, result)
            metrics.observe_notification(route.channel, "success" if result.ok else "failure")
            if last:
                return result.ok
            await asyncio.sleep(self.settings.retry_backoff_s * 2 ** (n - 1))
        return False

    async def _attempt(self, route: NotificationRoute, event: dict[str, Any], body: bytes) -> Attempt:
        try:
            if route.channel == Channel.WEBHOOK.value:
                # Checked again at each delivery: the name may have been re-pointed since the route was saved.
                try:
                    await check_url(route.target, allow_private=self.allow_private)
                except UnsafeTarget as exc:
                    return Attempt(False, False, None, f"target refused: {exc}"[:500])
                return await webhook.post(self._client, route.target, body, route.secret,
                                          self.settings.webhook_timeout_s)
            if route.channel == Channel.EMAIL.value:
                return await mail.send(self.settings, event, route.target)
        except Exception as exc:  # a bug in one channel must still leave a logged failure
            log.exception("notification attempt failed")
            return Attempt(False, False, None, f"{type(exc).__name__}: {exc}"[:500])
        return Attempt(False, False, None, f"unknown channel {route.channel!r}")

    async def _log(self, route: NotificationRoute, event: dict[str, Any], attempt: int, status: str,
                   result: Attempt) -> None:
        async with self.db.transaction() as s:
            s.add(NotificationDelivery(
                organization_id=route.organization_id, route_id=route.id, alert_id=event["alert"]["id"],
                event=event["event"], attempt=attempt, status=status, response_code=result.code,
                error=result.error))
