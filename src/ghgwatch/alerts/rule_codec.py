"""Rule definitions as JSON (what ``alert_rules.definition`` and the API hold) and back.

A definition is the rule's dataclass fields plus ``kind``; ``id`` comes from the row's ``rule_id``.
Enums are given by value (``"above"``, severity ``"warning"``/``"alarm"``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, Final

from ghgwatch.alerts.detectors.methods import STREAMING_METHODS
from ghgwatch.alerts.rules.model import (
    AnomalyRule,
    Direction,
    ForecastLimitRule,
    Location,
    RangeRule,
    RateOfChangeRule,
    Rule,
    RuleKind,
    RuleLayer,
    RuleSet,
    Severity,
    SilentRule,
    StuckRule,
    ThresholdRule,
)

RULE_CLASSES: Final[dict[RuleKind, type[Any]]] = {
    RuleKind.THRESHOLD: ThresholdRule,
    RuleKind.RATE_OF_CHANGE: RateOfChangeRule,
    RuleKind.SILENT: SilentRule,
    RuleKind.STUCK: StuckRule,
    RuleKind.OUT_OF_RANGE: RangeRule,
    RuleKind.ANOMALY: AnomalyRule,
    RuleKind.FORECAST_LIMIT: ForecastLimitRule,
}
SEVERITY_NAMES: Final = {"warning": Severity.WARNING, "alarm": Severity.ALARM}


def severity_name(severity: Severity) -> str:
    return "alarm" if severity is Severity.ALARM else "warning"


def rule_from_dict(rule_id: str, data: Mapping[str, Any]) -> Rule:
    """Build a rule; raises ``ValueError`` naming the bad field."""
    try:
        kind = RuleKind(str(data.get("kind", "")))
    except ValueError:
        raise ValueError(f"kind must be one of {', '.join(k.value for k in RuleKind)}") from None
    cls = RULE_CLASSES[kind]
    allowed = {f.name for f in dataclasses.fields(cls) if f.init and f.name != "id"}
    unknown = set(data) - allowed - {"kind", "id"}
    if unknown:
        raise ValueError(f"unknown field(s) for a {kind.value} rule: {', '.join(sorted(unknown))}")
    kwargs: dict[str, Any] = {}
    for name in allowed & set(data):
        value = data[name]
        if name == "direction":
            value = Direction(value)
        elif name == "severity":
            if value not in SEVERITY_NAMES:
                raise ValueError("severity must be 'warning' or 'alarm'")
            value = SEVERITY_NAMES[value]
        elif name in ("source", "unit", "detector"):
            value = None if value is None and name == "unit" else str(value)
        elif name == "enabled":
            value = bool(value)
        elif value is not None:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{name} must be a number")
            value = float(value)
        kwargs[name] = value
    rule: Rule = cls(id=rule_id, **kwargs)
    _check(rule)
    return rule


def _check(rule: Rule) -> None:
    if isinstance(rule, ThresholdRule | AnomalyRule) and rule.warning is not None and rule.alarm is not None:
        below = isinstance(rule, ThresholdRule) and rule.direction is Direction.BELOW
        if (rule.warning < rule.alarm) if below else (rule.warning > rule.alarm):
            raise ValueError("the warning level must come before the alarm level")
    if isinstance(rule, ForecastLimitRule) and not 0 < rule.within_min <= 24 * 60:
        raise ValueError("within_min must be more than 0 and at most 1440 (minutes)")
    for name in ("clear_after_s", "window_s", "duration_s", "factor", "deadband", "epsilon"):
        value = getattr(rule, name, None)
        if value is not None and value < 0:
            raise ValueError(f"{name} must be >= 0")
    if isinstance(rule, AnomalyRule) and rule.detector not in STREAMING_METHODS:
        # Caught here (a 4xx naming the field) instead of when the first reading is scored.
        raise ValueError(f"detector must be one of {', '.join(STREAMING_METHODS)}")


def rule_to_dict(rule: Rule) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": rule.kind.value}
    for f in dataclasses.fields(rule):
        if f.name in ("id", "kind"):
            continue
        value = getattr(rule, f.name)
        if isinstance(value, Severity):
            value = severity_name(value)
        elif isinstance(value, Direction):
            value = value.value
        out[f.name] = value
    return out


def add_layers(base: RuleSet, stored: Iterable[tuple[str, str, str, Mapping[str, Any]]]) -> RuleSet:
    """``base`` with stored rules ``(scope, selector, rule_id, definition)`` laid over it.

    Stored rules that no longer parse are skipped (they were validated when saved; a later code change
    is the only way to get here).
    """
    by_kind = {k: dict(v) for k, v in base.by_kind.items()}
    by_kl = {k: dict(v) for k, v in base.by_kind_location.items()}
    by_st = {k: dict(v) for k, v in base.by_source_type.items()}
    by_sensor = {k: dict(v) for k, v in base.by_sensor.items()}
    for scope, selector, rule_id, definition in stored:
        try:
            rule: Rule | None = rule_from_dict(rule_id, definition)
        except ValueError:
            continue
        if scope == "kind":
            by_kind.setdefault(selector, {})[rule_id] = rule
        elif scope == "kind_location":
            kind, _, loc = selector.partition(":")
            try:
                by_kl.setdefault((kind, Location(loc)), {})[rule_id] = rule
            except ValueError:
                continue
        elif scope == "source_type":
            by_st.setdefault(selector, {})[rule_id] = rule
        elif scope == "sensor":
            by_sensor.setdefault(selector, {})[rule_id] = rule

    def freeze(d: Mapping[Any, dict[str, Rule | None]]) -> dict[Any, RuleLayer]:
        return {k: MappingProxyType(v) for k, v in d.items()}

    return RuleSet(freeze(by_kind), freeze(by_kl), freeze(by_st), freeze(by_sensor))


def check_selector(scope: str, selector: str) -> None:
    """Raise ``ValueError`` if ``selector`` cannot name anything in ``scope``."""
    if scope == "kind_location":
        kind, sep, loc = selector.partition(":")
        if not sep or not kind:
            raise ValueError("selector of a kind_location rule is 'kind:location'")
        try:
            Location(loc)
        except ValueError:
            raise ValueError(f"location must be one of {', '.join(x.value for x in Location)}") from None
    elif scope == "sensor" and not (selector.isascii() and selector.isdigit()):
        raise ValueError("selector of a sensor rule is the sensor id")
    elif not selector:
        raise ValueError("selector must not be empty")
