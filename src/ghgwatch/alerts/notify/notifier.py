"""Which alert events notify, and which routes an alert matches. Delivery itself goes through the transactional
outbox (``ghgwatch.alerts.outbox``): rows written with the alert change, sent by a leased dispatcher."""

from __future__ import annotations

import logging
from typing import Any, Final

from ghgwatch.alerts.models import NotificationRoute

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

