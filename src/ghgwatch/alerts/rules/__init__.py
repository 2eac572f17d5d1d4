"""Rule model, defaults with sources, and per-sensor resolution."""

from __future__ import annotations

from ghgwatch.alerts.rules.defaults import METHANE_LIMITS, default_ruleset, methane_limit
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
    SensorSpec,
    Severity,
    SilentRule,
    StuckRule,
    ThresholdRule,
)
from ghgwatch.alerts.rules.resolve import EffectiveRules, resolve_rules

__all__ = [
    "METHANE_LIMITS",
    "AnomalyRule",
    "Direction",
    "EffectiveRules",
    "ForecastLimitRule",
    "Location",
    "RangeRule",
    "RateOfChangeRule",
    "Rule",
    "RuleKind",
    "RuleLayer",
    "RuleSet",
    "SensorSpec",
    "Severity",
    "SilentRule",
    "StuckRule",
    "ThresholdRule",
    "default_ruleset",
    "methane_limit",
    "resolve_rules",
]
