"""Writing outbox rows for alert changes, inside the caller's transaction (the one that writes the change)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ghgwatch.alerts.models import NotificationRoute
from ghgwatch.alerts.notify.notifier import NOTIFY_EVENTS, route_matches
from ghgwatch.alerts.outbox.models import OutboxKind, OutboxMessage
from ghgwatch.alerts.store import ENGINE_ACTOR, event_payload

Change = tuple[str, dict[str, Any], str]
"""``(action, alert as JSON, reason)``, as :func:`ghgwatch.alerts.store.persist_events` returns them."""


async def record_alert_changes(session: AsyncSession, changes: Sequence[Change], *,
                               actor: str = ENGINE_ACTOR) -> int:
    """Queue the notifications of ``changes`` and run the automated responses they trigger; returns the number
    of outbox rows written. Nothing is sent here: the dispatcher sends after the commit."""
    from ghgwatch.responses.service import trigger_responses

    written = 0
    routes: dict[int, list[NotificationRoute]] = {}
    for action, alert, reason in changes:
        if action in NOTIFY_EVENTS:
            org = alert["organization_id"]
            if org not in routes:
                routes[org] = list((await session.execute(select(NotificationRoute).where(
                    NotificationRoute.organization_id == org, NotificationRoute.active.is_(True)))).scalars())
            event = event_payload(action, alert, actor=actor, reason=reason)
            for route in routes[org]:
                if route_matches(route, alert):
                    key = f"notify:route-{route.id}:alert-{alert['id']}:{action}:{uuid.uuid4().hex[:12]}"
                    session.add(OutboxMessage(organization_id=org, kind=OutboxKind.NOTIFICATION.value,
                                              route_id=route.id, alert_id=alert["id"], event=action,
                                              idempotency_key=key, payload=event))
                    written += 1
        written += await trigger_responses(session, action, alert)
    if written:
        await session.flush()
    return written
