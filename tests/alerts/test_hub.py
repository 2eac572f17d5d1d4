"""The SSE hub: per-organisation fan-out, and no resolved alarm announced open again (cluster relay lag)."""

from __future__ import annotations

from typing import Any

from ghgwatch.alerts.hub import AlertHub


def _event(kind: str, alert_id: int, org: int = 1) -> dict[str, Any]:
    return {"event": kind, "alert": {"id": alert_id, "organization_id": org}}


async def test_a_late_relayed_opened_of_a_resolved_alert_is_dropped() -> None:
    hub = AlertHub()
    async with hub.subscribe(1) as sub, hub.subscribe(2) as other:
        hub.publish(_event("auto_resolved", 7))  # this replica's own resolution
        hub.publish(_event("opened", 7))  # the other replica's opening, relayed late from alerts.v1
        hub.publish(_event("updated", 7))
        hub.publish(_event("opened", 8))  # another alert is delivered as always
        got = [await sub.get(0.1) for _ in range(3)]
        assert [(e["event"], e["alert"]["id"]) for e in got if e is not None] == [("auto_resolved", 7), ("opened", 8)]
        assert await other.get(0.05) is None  # organisation 2 hears nothing of organisation 1


async def test_the_resolved_memory_is_bounded() -> None:
    hub = AlertHub()
    for i in range(AlertHub.RESOLVED_KEPT + 5):
        hub.publish(_event("resolved", i))
    async with hub.subscribe(1) as sub:
        hub.publish(_event("opened", 0))  # forgotten (the oldest): delivered
        hub.publish(_event("opened", AlertHub.RESOLVED_KEPT))  # remembered: dropped
        assert (await sub.get(0.1) or {}).get("alert", {}).get("id") == 0
        assert await sub.get(0.05) is None
