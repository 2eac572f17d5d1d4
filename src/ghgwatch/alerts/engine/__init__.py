"""In-memory rule engine: readings in, alert events out. No database."""

from __future__ import annotations

from ghgwatch.alerts.engine.engine import RuleEngine
from ghgwatch.alerts.engine.events import AlertEvent, AlertKey, EventKind, OpenAlert, Reading, RuleRef

__all__ = ["AlertEvent", "AlertKey", "EventKind", "OpenAlert", "Reading", "RuleEngine", "RuleRef"]
