"""The transactional outbox of notifications and equipment commands (see :mod:`.models`)."""

from __future__ import annotations

from ghgwatch.alerts.outbox.models import OutboxKind, OutboxMessage, OutboxStatus

__all__ = ["OutboxKind", "OutboxMessage", "OutboxStatus"]
