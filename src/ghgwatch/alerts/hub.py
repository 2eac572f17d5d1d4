"""In-process fan-out of alert events to server-sent-event streams and the notifier.

Each subscriber gets a bounded queue; a subscriber that does not keep up loses events (counted as
``dropped`` SSE notifications) rather than slowing the pipeline that publishes.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from ghgwatch.observability import metrics


class Subscription:
    def __init__(self, organization_id: int | None, maxsize: int) -> None:
        self.organization_id = organization_id
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize)

    async def get(self, timeout_s: float | None = None) -> dict[str, Any] | None:
        """The next event, or ``None`` after ``timeout_s`` without one."""
        try:
            return await asyncio.wait_for(self.queue.get(), timeout_s)
        except TimeoutError:
            return None


class AlertHub:
    """``publish(event)`` delivers to every subscriber of the event's organisation (``None``: all)."""

    RESOLVED_KEPT = 10_000
    """Alert ids remembered as resolved: a relayed event of one of them that arrives late is dropped."""

    def __init__(self, maxsize: int = 1000) -> None:
        self._subs: set[Subscription] = set()
        self._maxsize = maxsize
        self._resolved: OrderedDict[Any, None] = OrderedDict()

    @asynccontextmanager
    async def subscribe(self, organization_id: int | None = None) -> AsyncIterator[Subscription]:
        sub = Subscription(organization_id, self._maxsize)
        self._subs.add(sub)
        try:
            yield sub
        finally:
            self._subs.discard(sub)

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    def publish(self, event: dict[str, Any]) -> None:
        """Deliver ``event``; one of an alert already announced resolved here (an ``opened`` relayed from another
        replica behind this replica's own ``auto_resolved``, cluster mode) is dropped: no client sees a resolved
        alarm open again."""
        alert_id = event["alert"].get("id")
        if event.get("event") in ("resolved", "auto_resolved"):
            self._resolved[alert_id] = None
            if len(self._resolved) > self.RESOLVED_KEPT:
                self._resolved.popitem(last=False)
        elif alert_id is not None and alert_id in self._resolved:
            return
        org = event["alert"]["organization_id"]
        for sub in list(self._subs):
            if sub.organization_id is not None and sub.organization_id != org:
                continue
            try:
                sub.queue.put_nowait(event)
            except asyncio.QueueFull:
                metrics.observe_notification("sse", "dropped")


def hub_of(extras: dict[str, Any]) -> AlertHub:
    """The process's hub (created by whichever of the alert service or the API asks first)."""
    hub: AlertHub = extras.setdefault("alert_hub", AlertHub())
    return hub
