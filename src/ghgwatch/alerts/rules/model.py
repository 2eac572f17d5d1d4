"""Rule kinds, the sensor description rules are resolved for, and layered rule sets.

All times are seconds, all values in the unit named by the rule (``unit``); the resolver converts
concentration units (see ``resolve.py``). Rules are frozen dataclasses so a rule set can be shared
between engines and compared after a reload.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum


class Severity(IntEnum):
    WARNING = 1
    ALARM = 2


class Direction(StrEnum):
    ABOVE = "above"
    BELOW = "below"


class RuleKind(StrEnum):
    THRESHOLD = "threshold"
    RATE_OF_CHANGE = "rate_of_change"
    SILENT = "silent"
    STUCK = "stuck"
    OUT_OF_RANGE = "out_of_range"
    ANOMALY = "anomaly"
    FORECAST_LIMIT = "forecast_limit"


class Location(StrEnum):
    """Where a methane sensor sits; selects the default limit (METHODOLOGY.md §2.3)."""

    LONGWALL_OUTGOING = "longwall_outgoing"  # outgoing air of a stope / dead-end working / panel
    WING_OUTGOING = "wing_outgoing"  # outgoing air of a wing
    MINE_OUTGOING = "mine_outgoing"  # outgoing air of the whole mine (main fan / ventilation shaft)
    INCOMING_AIR = "incoming_air"  # fresh air entering a panel or face
    LOCAL = "local"  # local accumulation points: drill rigs, shearers, cavities
    GOAF_PIPELINE = "goaf_pipeline"  # gas-outlet pipelines / isolated drainage (ГОУ) of the goaf
    DRAINAGE_PIPELINE = "drainage_pipeline"  # degasification pipeline feeding utilisation


@dataclass(frozen=True, slots=True)
class _RuleBase:
    id: str
    source: str = "configuration"
    unit: str | None = None  # None: the sensor's unit, no conversion
    clear_after_s: float = 60.0  # condition must stay clear this long before auto-resolve
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class ThresholdRule(_RuleBase):
    """Warning and/or alarm level; ``direction`` BELOW alarms when the value falls under the level.

    ``deadband``: after opening, the value must come back past the lowest level by this much before
    it counts as clear (hysteresis against chatter around the level).
    """

    warning: float | None = None
    alarm: float | None = None
    direction: Direction = Direction.ABOVE
    deadband: float = 0.0
    kind: RuleKind = field(default=RuleKind.THRESHOLD, init=False)

    @property
    def configured(self) -> bool:
        return self.warning is not None or self.alarm is not None


@dataclass(frozen=True, slots=True)
class RateOfChangeRule(_RuleBase):
    """Change per minute over ``window_s``: (value now - oldest value in the window) / minutes.

    ``direction`` ABOVE watches rising values, BELOW falling ones (levels are positive rates).
    """

    warning_per_min: float | None = None
    alarm_per_min: float | None = None
    window_s: float = 300.0
    direction: Direction = Direction.ABOVE
    kind: RuleKind = field(default=RuleKind.RATE_OF_CHANGE, init=False)


@dataclass(frozen=True, slots=True)
class SilentRule(_RuleBase):
    """No reading for ``factor`` × the sensor's expected interval (checked by ``RuleEngine.tick``)."""

    factor: float = 3.0
    severity: Severity = Severity.WARNING
    kind: RuleKind = field(default=RuleKind.SILENT, init=False)


@dataclass(frozen=True, slots=True)
class StuckRule(_RuleBase):
    """Consecutive readings differ by at most ``epsilon`` for at least ``duration_s``."""

    duration_s: float = 1800.0
    epsilon: float = 0.0
    severity: Severity = Severity.WARNING
    kind: RuleKind = field(default=RuleKind.STUCK, init=False)


@dataclass(frozen=True, slots=True)
class RangeRule(_RuleBase):
    """Value outside the physical range; ``None`` bounds are taken from the sensor description."""

    low: float | None = None
    high: float | None = None
    severity: Severity = Severity.WARNING
    kind: RuleKind = field(default=RuleKind.OUT_OF_RANGE, init=False)


@dataclass(frozen=True, slots=True)
class AnomalyRule(_RuleBase):
    """Detector score (computed upstream and passed with the reading) above warning/alarm levels."""

    warning: float | None = None
    alarm: float | None = None
    detector: str = "adaptive"  # ghgwatch.alerts.detectors.methods.DEFAULT_METHOD
    # The hold-off of the calibrated alarm policy (100 readings, docs/detection.md) at one reading a
    # minute: scores that return above the level within it keep the same alert open (one incident).
    clear_after_s: float = 6000.0
    kind: RuleKind = field(default=RuleKind.ANOMALY, init=False)


@dataclass(frozen=True, slots=True)
class ForecastLimitRule(_RuleBase):
    """Early warning: the upper bound of a stored forecast crosses ``limit`` within ``within_min`` minutes of the
    forecast's origin (its last value). Judged when a forecast is stored, not per reading (the rule engine skips
    it; see ``ghgwatch.alerts.early_warning``). ``limit`` ``None``: the sensor's alarm level (its own, else the
    alarm of its threshold rule). The alert resolves when a later forecast no longer crosses within the window.
    """

    within_min: float = 30.0
    limit: float | None = None
    severity: Severity = Severity.WARNING
    kind: RuleKind = field(default=RuleKind.FORECAST_LIMIT, init=False)


Rule = ThresholdRule | RateOfChangeRule | SilentRule | StuckRule | RangeRule | AnomalyRule | ForecastLimitRule

# One layer: rule id -> rule, or None to remove an inherited rule with that id.
RuleLayer = Mapping[str, Rule | None]


@dataclass(frozen=True, slots=True)
class SensorSpec:
    """What the resolver needs to know about a sensor (built from the registry by the caller)."""

    id: str
    kind: str  # "methane", "co2", "air_flow", ...
    unit: str
    source_type: str | None = None  # "ventilation_shaft", "drainage_station", ...
    location: Location | None = None
    warning: float | None = None  # the sensor's own levels, if the registry has them
    alarm: float | None = None
    expected_interval_s: float | None = None
    range_low: float | None = None
    range_high: float | None = None


@dataclass(frozen=True, slots=True)
class RuleSet:
    """Layers from general to specific; resolution precedence is sensor > source type >
    (kind, location) > kind. Within a layer, rule ids are unique."""

    by_kind: Mapping[str, RuleLayer] = field(default_factory=dict)
    by_kind_location: Mapping[tuple[str, Location], RuleLayer] = field(default_factory=dict)
    by_source_type: Mapping[str, RuleLayer] = field(default_factory=dict)
    by_sensor: Mapping[str, RuleLayer] = field(default_factory=dict)
