"""The notifier: alert changes write their notifications to the outbox in their own transaction (see
:mod:`ghgwatch.alerts.outbox`); this runs the outbox dispatcher, which delivers them with retries and exponential
back-off and logs every attempt in ``notification_deliveries``. Events on the hub only wake the dispatcher."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any, Final

import httpx

from ghgwatch.alerts.hub import AlertHub
from ghgwatch.settings import NotifySettings
from ghgwatch.store import Database

if TYPE_CHECKING:
    from ghgwatch.alerts.models import NotificationRoute

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
        from ghgwatch.alerts.outbox.dispatcher import OutboxDispatcher

        self.hub = hub
        self.dispatcher = OutboxDispatcher(db, settings, allow_private=allow_private, client=client)
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self) -> None:
        await self.dispatcher.start()
        self._task = asyncio.create_task(self._run(), name="alert-notifier")
        await self._ready.wait()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.dispatcher.stop()

    async def idle(self) -> None:
        """Wait until every delivery in progress has finished (tests, shutdown drains)."""
        await self.dispatcher.idle()

    async def _run(self) -> None:
        async with self.hub.subscribe(None) as sub:
            self._ready.set()
            while True:
                event = await sub.get()
                if event is not None and event["event"] in NOTIFY_EVENTS:
                    self.dispatcher.wake()
