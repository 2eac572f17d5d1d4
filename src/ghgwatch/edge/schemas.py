"""What an edge gateway and the platform exchange (JSON, decoded with msgspec on both sides).

* ``GET /api/v1/edge/config`` → :class:`EdgeConfig`: the gateway's organisation, its sensors with their
  effective alert rules, and the devices that may send to the gateway (token hashes and HMAC keys).
* ``POST /api/v1/edge/summaries`` ← ``{"summaries": [Summary]}``: one per sensor and minute, idempotent by
  (sensor, minute): the minute's row of ``rollup_1m`` is replaced.
* ``POST /api/v1/edge/events`` ← ``{"events": [AlarmEvent]}``: alarm lifecycle events, idempotent by the
  event id (unique per gateway).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec


class SensorOut(msgspec.Struct, kw_only=True):
    """The fields of :class:`ghgwatch.registry.cache.SensorMeta`."""

    id: int
    organization_id: int
    facility_id: int
    source_id: int
    source_type: str
    kind: str
    unit: str
    range_min: float | None = None
    range_max: float | None = None
    warning_level: float | None = None
    alarm_level: float | None = None
    expected_interval_s: float = 60.0
    location: str | None = None
    active: bool = True


class SensorRules(msgspec.Struct, kw_only=True):
    sensor: int
    rules: dict[str, dict[str, Any]]
    """Rule id → definition (``rule_codec.rule_to_dict``), already resolved and unit-converted for the sensor."""
    problems: list[str] = msgspec.field(default_factory=list)


class DeviceKey(msgspec.Struct, kw_only=True):
    id: int
    token_hash: str
    hmac_secret: str
    require_signature: bool = False


class EdgeConfig(msgspec.Struct, kw_only=True):
    organization_id: int
    device_id: int
    """The gateway's own device."""
    generated_at: datetime
    sensors: list[SensorOut]
    rules: list[SensorRules]
    devices: list[DeviceKey]


class Summary(msgspec.Struct, kw_only=True):
    """The readings of one sensor in one minute, in the sensor's unit (what ``rollup_1m`` holds)."""

    sensor: int
    minute: datetime
    """Start of the minute, UTC."""
    count: int
    sum: float
    min: float
    max: float
    last: float
    last_ts: datetime


class AlarmEvent(msgspec.Struct, kw_only=True):
    """One event of an alarm evaluated at the edge; ``alert`` is the id of the event that opened it."""

    id: str
    alert: str
    kind: str
    """opened, escalated, updated or resolved (``alerts.engine.EventKind``)."""
    sensor: int
    rule_id: str
    condition: str
    severity: str
    at: datetime
    threshold: float | None = None
    unit: str | None = None
    rule_source: str = ""
    reason: str = ""
    reading_ts: datetime | None = None
    reading_value: float | None = None
    peak_ts: datetime | None = None
    peak_value: float | None = None
    opened_at: datetime | None = None


class SummariesIn(msgspec.Struct):
    summaries: list[msgspec.Raw]


class EventsIn(msgspec.Struct):
    events: list[msgspec.Raw]
