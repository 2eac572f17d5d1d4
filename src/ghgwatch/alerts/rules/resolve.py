"""Resolve the effective rules of one sensor: sensor > source type > (kind, location) > kind > "*"."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

from ghgwatch.alerts.rules.model import (
    AnomalyRule,
    Direction,
    ForecastLimitRule,
    RangeRule,
    RateOfChangeRule,
    Rule,
    RuleLayer,
    RuleSet,
    SensorSpec,
    SilentRule,
    StuckRule,
    ThresholdRule,
)

# Concentration units, as multiples of one "% vol" (1 % = 10,000 ppm = 0.01 volume fraction).
_PER_PERCENT: Final[dict[str, float]] = {
    "%": 1.0,
    "% vol": 1.0,
    "%vol": 1.0,
    "vol%": 1.0,
    "ppm": 1e4,
    "fraction": 0.01,
    "1": 0.01,
}


@dataclass(frozen=True, slots=True)
class EffectiveRules:
    """The rules in force for a sensor; ``problems`` lists rules that cannot run and why
    (unconfigured level, missing expected interval, unit mismatch). The caller should surface them."""

    sensor: SensorSpec
    rules: tuple[Rule, ...]
    problems: tuple[str, ...] = ()


def _unit_factor(rule_unit: str | None, sensor_unit: str) -> float | None:
    if rule_unit is None or rule_unit == sensor_unit:
        return 1.0
    a, b = _PER_PERCENT.get(rule_unit), _PER_PERCENT.get(sensor_unit)
    return None if a is None or b is None else b / a


def _scale(v: float | None, f: float) -> float | None:
    return None if v is None else v * f


def _convert(rule: Rule, f: float, unit: str) -> Rule:
    if isinstance(rule, ThresholdRule):
        return replace(
            rule,
            warning=_scale(rule.warning, f),
            alarm=_scale(rule.alarm, f),
            deadband=rule.deadband * f,
            unit=unit,
        )
    if isinstance(rule, RateOfChangeRule):
        return replace(
            rule,
            warning_per_min=_scale(rule.warning_per_min, f),
            alarm_per_min=_scale(rule.alarm_per_min, f),
            unit=unit,
        )
    if isinstance(rule, StuckRule):
        return replace(rule, epsilon=rule.epsilon * f, unit=unit)
    if isinstance(rule, RangeRule):
        return replace(rule, low=_scale(rule.low, f), high=_scale(rule.high, f), unit=unit)
    if isinstance(rule, ForecastLimitRule):
        return replace(rule, limit=_scale(rule.limit, f), unit=unit)
    return rule


def _layers(sensor: SensorSpec, ruleset: RuleSet) -> list[RuleLayer]:
    """From general to specific."""
    empty: RuleLayer = {}
    layers = [ruleset.by_kind.get("*", empty), ruleset.by_kind.get(sensor.kind, empty)]
    if sensor.location is not None:
        layers.append(ruleset.by_kind_location.get((sensor.kind, sensor.location), empty))
    if sensor.source_type is not None:
        layers.append(ruleset.by_source_type.get(sensor.source_type, empty))
    if sensor.warning is not None or sensor.alarm is not None:
        layers.append({"__sensor_levels__": None})  # placeholder, handled below
    layers.append(ruleset.by_sensor.get(sensor.id, empty))
    return layers


def resolve_rules(sensor: SensorSpec, ruleset: RuleSet) -> EffectiveRules:
    """Merge the layers by rule id (a more specific layer replaces or, with ``None``, removes a rule),
    apply the sensor's own warning/alarm levels to its threshold rule, convert units, and drop rules
    that cannot run, reporting why."""
    merged: dict[str, Rule | None] = {}
    for layer in _layers(sensor, ruleset):
        if "__sensor_levels__" in layer:
            merged.update(_sensor_levels(sensor, merged))
            continue
        merged.update(layer)
    rules: list[Rule] = []
    problems: list[str] = []
    for rid, rule in merged.items():
        if rule is None or not rule.enabled:
            continue
        f = _unit_factor(rule.unit, sensor.unit)
        if f is None:
            problems.append(f"{rid}: rule unit {rule.unit!r} does not convert to sensor unit {sensor.unit!r}")
            continue
        rule = _convert(rule, f, sensor.unit) if f != 1.0 or rule.unit is not None else rule
        problem = _check(rule, sensor)
        if problem:
            problems.append(f"{rid}: {problem}")
            continue
        if isinstance(rule, RangeRule):
            rule = replace(
                rule,
                low=sensor.range_low if sensor.range_low is not None else rule.low,
                high=sensor.range_high if sensor.range_high is not None else rule.high,
            )
        rules.append(rule)
    rules, problems = _forecast_limits(sensor, rules, problems)
    return EffectiveRules(sensor=sensor, rules=tuple(rules), problems=tuple(problems))


def _sensor_levels(sensor: SensorSpec, merged: dict[str, Rule | None]) -> dict[str, Rule | None]:
    """The sensor's own levels replace those of its (first) threshold rule, or create one."""
    for rid, rule in merged.items():
        if isinstance(rule, ThresholdRule):
            return {
                rid: replace(
                    rule,
                    warning=sensor.warning,
                    alarm=sensor.alarm,
                    unit=None,
                    deadband=0.0 if rule.unit not in (None, sensor.unit) else rule.deadband,
                    source="sensor configuration (registry)",
                )
            }
    return {
        "threshold": ThresholdRule(
            id="threshold",
            warning=sensor.warning,
            alarm=sensor.alarm,
            direction=Direction.ABOVE,
            source="sensor configuration (registry)",
        )
    }


def _forecast_limits(sensor: SensorSpec, rules: list[Rule], problems: list[str]) -> tuple[list[Rule], list[str]]:
    """Give early-warning rules without a limit the sensor's alarm level: its own, else that of its (rising)
    threshold rule; a rule left without a level cannot run and is reported."""
    threshold = next((r.alarm for r in rules if isinstance(r, ThresholdRule) and r.direction is Direction.ABOVE
                      and r.alarm is not None), None)
    out: list[Rule] = []
    for rule in rules:
        if isinstance(rule, ForecastLimitRule) and rule.limit is None:
            level, origin = ((sensor.alarm, "the sensor's alarm level") if sensor.alarm is not None
                             else (threshold, "the alarm level of its threshold rule"))
            if level is None:
                problems.append(f"{rule.id}: no limit and the sensor has no alarm level")
                continue
            rule = replace(rule, limit=level, source=f"{rule.source}; limit: {origin}")
        out.append(rule)
    return out, problems


def _check(rule: Rule, sensor: SensorSpec) -> str | None:
    if isinstance(rule, ThresholdRule) and not rule.configured:
        return f"no level configured ({rule.source})"
    if isinstance(rule, RateOfChangeRule) and rule.warning_per_min is None and rule.alarm_per_min is None:
        return "no rate configured"
    if isinstance(rule, AnomalyRule) and rule.warning is None and rule.alarm is None:
        return "no score level configured"
    if isinstance(rule, SilentRule) and not sensor.expected_interval_s:
        return "sensor has no expected interval"
    if (
        isinstance(rule, RangeRule)
        and (sensor.range_low if sensor.range_low is not None else rule.low) is None
        and (sensor.range_high if sensor.range_high is not None else rule.high) is None
    ):
        return "no physical range known"
    return None
