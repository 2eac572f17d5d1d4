"""Level rules (threshold, out of range, anomaly score) compiled into numpy arrays per "lane".

Lane ``(kind, j)`` holds the ``j``-th rule of that kind of every sensor. Each reading is mapped to a
normalised exceedance ``z`` (larger is worse) and compared with the warning/alarm levels in one
vectorised step; Python code then runs only for in-order readings that exceed or whose sensor has an
open alert in the lane, and for late readings that exceed and are not already covered by the open alert
(``RuleEngine._late_no_change``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ghgwatch.alerts.detectors.base import BoolArray, FloatArray
from ghgwatch.alerts.rules.model import (
    AnomalyRule,
    Direction,
    RangeRule,
    Rule,
    RuleKind,
    Severity,
    ThresholdRule,
)

LevelRule = ThresholdRule | RangeRule | AnomalyRule
_INF = math.inf


@dataclass(slots=True)
class Lane:
    kind: RuleKind
    rules: list[LevelRule | None]  # per sensor index
    sign: FloatArray
    low: FloatArray
    high: FloatArray
    warn: FloatArray  # in z space
    alarm: FloatArray
    clear: FloatArray  # z <= clear counts as clear (hysteresis deadband included)
    has_open: BoolArray

    def z(self, values: FloatArray, scores: FloatArray, idx: npt.NDArray[np.intp]) -> FloatArray:
        if self.kind is RuleKind.ANOMALY:
            return scores
        if self.kind is RuleKind.OUT_OF_RANGE:
            return np.maximum(self.low[idx] - values, values - self.high[idx])
        return self.sign[idx] * values

    def levels(self, z: FloatArray, idx: npt.NDArray[np.intp]) -> npt.NDArray[np.int8]:
        lv = (z > self.warn[idx]).astype(np.int8)
        lv[z > self.alarm[idx]] = 2
        return lv


def threshold_in_force(rule: Rule, severity: Severity, z: float | None = None) -> float | None:
    if isinstance(rule, ThresholdRule | AnomalyRule):
        return rule.alarm if severity is Severity.ALARM else rule.warning
    if isinstance(rule, RangeRule):
        return rule.low if z is not None and rule.low is not None and z < 0 else rule.high
    return None


def build_lanes(per_sensor: list[tuple[Rule, ...]]) -> list[Lane]:
    n = len(per_sensor)
    groups: dict[tuple[RuleKind, int], list[LevelRule | None]] = {}
    for s, rules in enumerate(per_sensor):
        counts: dict[RuleKind, int] = {}
        for rule in rules:
            if not isinstance(rule, ThresholdRule | RangeRule | AnomalyRule):
                continue
            j = counts.get(rule.kind, 0)
            counts[rule.kind] = j + 1
            groups.setdefault((rule.kind, j), [None] * n)[s] = rule
    return [_lane(kind, rules) for (kind, _), rules in groups.items()]


def _lane(kind: RuleKind, rules: list[LevelRule | None]) -> Lane:
    n = len(rules)
    sign, low, high = np.ones(n), np.full(n, -_INF), np.full(n, _INF)
    warn, alarm, clear = np.full(n, _INF), np.full(n, _INF), np.full(n, _INF)
    for s, r in enumerate(rules):
        if isinstance(r, ThresholdRule):
            sg = -1.0 if r.direction is Direction.BELOW else 1.0
            sign[s] = sg
            warn[s] = _INF if r.warning is None else sg * r.warning
            alarm[s] = _INF if r.alarm is None else sg * r.alarm
            clear[s] = min(warn[s], alarm[s]) - r.deadband
        elif isinstance(r, RangeRule):
            low[s] = -_INF if r.low is None else r.low
            high[s] = _INF if r.high is None else r.high
            warn[s], alarm[s] = (0.0, _INF) if r.severity is Severity.WARNING else (_INF, 0.0)
            clear[s] = 0.0
        elif isinstance(r, AnomalyRule):
            warn[s] = _INF if r.warning is None else r.warning
            alarm[s] = _INF if r.alarm is None else r.alarm
            clear[s] = min(warn[s], alarm[s])
    return Lane(kind, rules, sign, low, high, warn, alarm, clear, np.zeros(n, dtype=np.bool_))
