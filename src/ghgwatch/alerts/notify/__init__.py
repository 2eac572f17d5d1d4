"""Alert notifications: signed webhooks and e-mail, routed by organisation, severity and facility."""

from __future__ import annotations

from ghgwatch.alerts.notify.notifier import NOTIFY_EVENTS, route_matches
from ghgwatch.alerts.notify.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign, verify

__all__ = ["NOTIFY_EVENTS", "SIGNATURE_HEADER", "TIMESTAMP_HEADER", "route_matches", "sign", "verify"]
