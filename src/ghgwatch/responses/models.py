"""Automated responses: rules that act on alerts, the commands they send to equipment, and work orders."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ghgwatch.kit.timeutil import utcnow
from ghgwatch.security.crypto import EncryptedString
from ghgwatch.store.base import Base, TimestampMixin


class ResponseAction(StrEnum):
    """What a command webhook asks the equipment to do (the mine's control system maps it to its own signals)."""

    REDUCE_COMBINE_LOAD = "reduce_combine_load"
    STOP_SHEARER = "stop_shearer"
    START_DEGASSING_PUMP = "start_degassing_pump"
    OPEN_FLARE_VALVE = "open_flare_valve"


class CommandStatus(StrEnum):
    PENDING = "pending"  # written; being delivered or waiting for the equipment's acknowledgement
    ACKNOWLEDGED = "acknowledged"  # the equipment has taken the command
    DONE = "done"  # the equipment reports the action carried out
    FAILED = "failed"  # delivery failed, the equipment reported failure, or a deadline passed


class WorkOrderStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"


class ResponseRule(TimestampMixin, Base):
    """On an alert of the organisation (optionally only of one facility and one kind of emission source) at or above
    ``min_severity``, when it opens or escalates: send ``action`` to ``equipment`` and/or open a work order."""

    __tablename__ = "response_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("facilities.id", ondelete="CASCADE"), default=None)
    source_type: Mapped[str | None] = mapped_column(String(40), default=None)
    """Kind of emission source (``ventilation_shaft``, ``drainage_station`` ...); empty: any."""
    min_severity: Mapped[str] = mapped_column(String(10), default="alarm")
    on_escalation: Mapped[bool] = mapped_column(default=True)
    action: Mapped[str | None] = mapped_column(String(40), default=None)
    equipment: Mapped[str | None] = mapped_column(String(120), default=None)
    command_url: Mapped[str | None] = mapped_column(String(500), default=None)
    secret: Mapped[str | None] = mapped_column(EncryptedString(500), default=None, info={"secret": True})
    """HMAC key: signs commands, and authenticates the equipment's acknowledgements."""
    ack_timeout_s: Mapped[float] = mapped_column(default=30.0)
    done_timeout_s: Mapped[float] = mapped_column(default=600.0)
    work_order: Mapped[bool] = mapped_column(default=False)
    work_order_assignee: Mapped[str | None] = mapped_column(String(120), default=None)
    work_order_due_s: Mapped[float] = mapped_column(default=3600.0)
    active: Mapped[bool] = mapped_column(default=True)


class ResponseCommand(Base):
    __tablename__ = "response_commands"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("response_rules.id", ondelete="SET NULL"), default=None)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(40))
    equipment: Mapped[str] = mapped_column(String(120))
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=CommandStatus.PENDING.value, index=True)
    detail: Mapped[str | None] = mapped_column(String(500), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    acknowledged_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    ack_deadline: Mapped[datetime] = mapped_column()
    done_deadline: Mapped[datetime | None] = mapped_column(default=None)


class WorkOrder(TimestampMixin, Base):
    __tablename__ = "work_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("facilities.id", ondelete="SET NULL"), default=None)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"), default=None,
                                                 index=True)
    response_rule_id: Mapped[int | None] = mapped_column(ForeignKey("response_rules.id", ondelete="SET NULL"),
                                                         default=None)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(2000), default=None)
    assignee: Mapped[str | None] = mapped_column(String(120), default=None)
    due_at: Mapped[datetime | None] = mapped_column(default=None)
    status: Mapped[str] = mapped_column(String(16), default=WorkOrderStatus.OPEN.value, index=True)
    created_by: Mapped[str] = mapped_column(String(120))
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    done_at: Mapped[datetime | None] = mapped_column(default=None)
