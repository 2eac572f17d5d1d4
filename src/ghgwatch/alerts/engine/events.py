"""Values the rule engine consumes and emits. Plain frozen dataclasses: easy to persist and send.

Timestamps are Unix seconds (UTC) as floats; values are in the sensor's unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ghgwatch.alerts.rules.model import RuleKind, Severity


@dataclass(frozen=True, slots=True)
class Reading:
    """One reading; ``score`` is an anomaly score computed upstream (``None``: not scored)."""

    sensor_id: str
    ts: float
    value: float
    score: float | None = None


@dataclass(frozen=True, slots=True)
class AlertKey:
    """One open alert at most per (sensor, rule id): the de-duplication key."""

    sensor_id: str
    rule_id: str


@dataclass(frozen=True, slots=True)
class RuleRef:
    """The rule as it was when the event happened: what an alert must record."""

    rule_id: str
    kind: RuleKind
    threshold: float | None  # the level in force for the event's severity (seconds for silent/stuck)
    unit: str | None
    source: str


class EventKind(StrEnum):
    OPENED = "opened"
    ESCALATED = "escalated"  # warning -> alarm on the same alert
    UPDATED = "updated"  # new peak (at most once per ``peak_report_interval_s``)
    PEAK = "peak"  # every new peak, only with ``RuleEngine(track_peaks=True)``: persisted, not announced
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class OpenAlert:
    """The state of an open alert; what the persistence layer gives back to ``RuleEngine.restore``."""

    key: AlertKey
    severity: Severity
    rule: RuleRef
    opened_by: Reading  # for silent alerts: the last reading before the silence (value may be NaN)
    peak: Reading
    opened_at: float
    late: bool = False
    """Opened by a late reading: one older than a reading of its sensor already judged (docs/alerts.md)."""


@dataclass(frozen=True, slots=True)
class AlertEvent:
    kind: EventKind
    alert: OpenAlert  # state after the event
    at: float  # reading timestamp, or ``now`` for tick/restore events
    reading: Reading | None = None  # the reading that caused the event, if any
    reason: str = ""

    @property
    def key(self) -> AlertKey:
        return self.alert.key

    @property
    def severity(self) -> Severity:
        return self.alert.severity
