"""Alert tables: alerts and their history, configurable rules, notification routes and deliveries."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column

from ghgwatch.kit.timeutil import utcnow
from ghgwatch.security.crypto import EncryptedString
from ghgwatch.store.base import Base, TimestampMixin


class AlertState(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class HistoryAction(StrEnum):
    OPENED = "opened"
    ESCALATED = "escalated"
    UPDATED = "updated"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"  # by a person
    AUTO_RESOLVED = "auto_resolved"  # by the engine (condition clear, rule gone)
    COMMENTED = "commented"  # a person added a comment (after acknowledging, or at any time)


class RuleScope(StrEnum):
    """Which ``RuleSet`` layer a stored rule belongs to; ``selector`` names the kind, source type or sensor."""

    KIND = "kind"  # selector: sensor kind ("methane") or "*"
    KIND_LOCATION = "kind_location"  # selector: "methane:longwall_outgoing"
    SOURCE_TYPE = "source_type"  # selector: "drainage_station"
    SENSOR = "sensor"  # selector: the sensor id


class Channel(StrEnum):
    WEBHOOK = "webhook"
    EMAIL = "email"


class Alert(Base):
    """One alert per (sensor, rule) at a time: escalation and new peaks update the same row."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_sensor_rule_state", "sensor_id", "rule_id", "state"),
        # One unresolved alert per (sensor, rule), whatever the number of processes judging readings.
        Index("uq_alerts_one_unresolved", "sensor_id", "rule_id", unique=True,
              sqlite_where=text("state != 'resolved'"), postgresql_where=text("state != 'resolved'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    facility_id: Mapped[int] = mapped_column(index=True)
    sensor_id: Mapped[int] = mapped_column(index=True)
    rule_id: Mapped[str] = mapped_column(String(60))
    condition: Mapped[str] = mapped_column(String(20))
    """The rule kind: threshold, rate_of_change, silent, stuck, out_of_range, anomaly."""
    severity: Mapped[str] = mapped_column(String(10), index=True)
    state: Mapped[str] = mapped_column(String(16), index=True, default=AlertState.OPEN.value)
    threshold: Mapped[float | None] = mapped_column(default=None)
    """The level in force for the severity (seconds for silent and stuck rules)."""
    unit: Mapped[str | None] = mapped_column(String(20), default=None)
    rule_source: Mapped[str] = mapped_column(String(500), default="")
    reason: Mapped[str] = mapped_column(String(500), default="")
    reading_ts: Mapped[datetime | None] = mapped_column(default=None)
    """Timestamp of the reading that opened the alert (the last one before silence for ``silent``)."""
    reading_value: Mapped[float | None] = mapped_column(default=None)
    peak_ts: Mapped[datetime | None] = mapped_column(default=None)
    peak_value: Mapped[float | None] = mapped_column(default=None)
    opened_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    acknowledged_by: Mapped[str | None] = mapped_column(String(120), default=None)
    acknowledged_at: Mapped[datetime | None] = mapped_column(default=None)
    comment: Mapped[str | None] = mapped_column(String(2000), default=None)
    late: Mapped[bool] = mapped_column(default=False, server_default=false())
    """Opened by a late reading (older than one of its sensor already judged; docs/alerts.md)."""


class AlertHistory(Base):
    __tablename__ = "alert_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    action: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(120))
    comment: Mapped[str | None] = mapped_column(String(2000), default=None)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class AlertRule(TimestampMixin, Base):
    """A rule definition (the fields of a rule of ``rules.model`` plus ``kind``) for one layer of an
    organisation's rule set. It replaces the default rule with the same ``rule_id`` in that layer."""

    __tablename__ = "alert_rules"
    __table_args__ = (UniqueConstraint("organization_id", "scope", "selector", "rule_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    scope: Mapped[str] = mapped_column(String(20))
    selector: Mapped[str] = mapped_column(String(100))
    rule_id: Mapped[str] = mapped_column(String(60))
    definition: Mapped[dict[str, Any]] = mapped_column(default=dict)
    description: Mapped[str | None] = mapped_column(String(2000), default=None)


class NotificationRoute(TimestampMixin, Base):
    __tablename__ = "notification_routes"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    min_severity: Mapped[str] = mapped_column(String(10), default="warning")
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("facilities.id", ondelete="CASCADE"), default=None)
    channel: Mapped[str] = mapped_column(String(10))
    target: Mapped[str] = mapped_column(String(500))
    """Webhook URL or e-mail address."""
    secret: Mapped[str | None] = mapped_column(EncryptedString(1000), default=None, info={"secret": True})
    """HMAC key of a webhook route: encrypted at rest, redacted in audit snapshots."""
    active: Mapped[bool] = mapped_column(default=True)


class NotificationDelivery(Base):
    """One delivery attempt (every retry is a row of its own)."""

    __tablename__ = "notification_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(index=True)
    route_id: Mapped[int] = mapped_column(ForeignKey("notification_routes.id", ondelete="CASCADE"), index=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(20))
    attempt: Mapped[int]
    status: Mapped[str] = mapped_column(String(20))
    """``delivered``, ``retrying`` (failed, will retry) or ``failed`` (given up)."""
    response_code: Mapped[int | None] = mapped_column(default=None)
    error: Mapped[str | None] = mapped_column(String(500), default=None)
    at: Mapped[datetime] = mapped_column(default=utcnow)
