"""The transactional outbox: one row per message to send (a notification, or a command to equipment).

A row is written in the same transaction as the alert change that causes it, so a committed alert always has its
messages, and a rolled-back one has none. The dispatcher delivers rows with retries and back-off; it claims a row
with a lease (``lease_until``) so that after a crash (even SIGKILL) another or the restarted process takes it over
once the lease has run out. Every attempt carries the row's ``idempotency_key`` (header ``Idempotency-Key``), so a
receiver that saw the request before the crash can tell the repeat apart: delivery is at least once, and exactly
once per idempotency key at a receiver that dedupes.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ghgwatch.kit.timeutil import utcnow
from ghgwatch.responses import models as _responses  # noqa: F401 (the table that command_id refers to)
from ghgwatch.store.base import Base


class OutboxKind(StrEnum):
    NOTIFICATION = "notification"  # to a notification route (webhook or e-mail)
    COMMAND = "command"  # to the command webhook of a response rule


class OutboxStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class OutboxMessage(Base):
    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_status_next_attempt_at", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    route_id: Mapped[int | None] = mapped_column(ForeignKey("notification_routes.id", ondelete="CASCADE"),
                                                 default=None, index=True)
    command_id: Mapped[int | None] = mapped_column(ForeignKey("response_commands.id", ondelete="CASCADE"),
                                                   default=None, index=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), default=None,
                                                 index=True)
    event: Mapped[str] = mapped_column(String(20))
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(12), default=OutboxStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    """Set while a dispatcher delivers the row (renewed by it); another dispatcher takes the row only after it has
    passed."""
    lease_owner: Mapped[str | None] = mapped_column(String(40), default=None)
    """The dispatcher holding the lease (a random id per process)."""
    last_code: Mapped[int | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(String(500), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)
