"""Runs the outbox dispatcher in a process of the platform (the pipeline role, with the alert service).

Alert changes write their notifications and commands to the outbox in their own transaction
(:func:`ghgwatch.alerts.outbox.enqueue.record_alert_changes`); the dispatcher delivers them with retries and
exponential back-off and logs every notification attempt in ``notification_deliveries``. Events on the hub only
wake it, so that a change of this process is sent at once instead of at the next poll.
"""

from __future__ import annotations

import asyncio
import contextlib

import httpx

from ghgwatch.alerts.hub import AlertHub
from ghgwatch.alerts.notify.notifier import NOTIFY_EVENTS
from ghgwatch.alerts.outbox.dispatcher import OutboxDispatcher
from ghgwatch.settings import NotifySettings
from ghgwatch.store import Database
from ghgwatch.web.context import AppContext


class OutboxNotifier:
    """The dispatcher, woken by the hub's events; ``start``/``stop``/``idle`` like the notifier it replaces."""

    def __init__(self, db: Database, hub: AlertHub, settings: NotifySettings,
                 client: httpx.AsyncClient | None = None, *, allow_private: bool = False) -> None:
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


async def start_dispatch(ctx: AppContext, hub: AlertHub) -> None:
    """Start the dispatcher as ``ctx.extras["notifier"]`` unless ``notify.dispatch`` is off for this process."""
    if not ctx.settings.notify.dispatch:
        return
    notifier = OutboxNotifier(ctx.db, hub, ctx.settings.notify,
                              allow_private=ctx.settings.security.allow_private_targets)
    await notifier.start()
    ctx.extras["notifier"] = notifier
