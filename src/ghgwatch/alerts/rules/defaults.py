"""Default rules, each with the source of its value (METHODOLOGY.md §2.3 and its tags).

Our choices, not from the rules, are marked "ghgwatch choice": warning levels at 80 % of the alarm
level, the silent factor (3 × expected interval), the auto-resolve delay, the physical range of a
methane meter (0–100 % vol, i.e. physics). The drainage-pipeline level for safe utilisation is [?] in
METHODOLOGY.md (25 % or 30 % are quoted but no source was found), so it has no default: a drainage
sensor reports the rule as unconfigured until a level is set.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

from ghgwatch.alerts.rules.model import (
    Direction,
    ForecastLimitRule,
    Location,
    RangeRule,
    Rule,
    RuleLayer,
    RuleSet,
    SilentRule,
    StuckRule,
    ThresholdRule,
)

METHANE: Final = "methane"
METHANE_RULE_ID: Final = "methane_limit"
EARLY_WARNING_ID: Final = "methane_early_warning"
EARLY_WARNING_MIN: Final = 30.0
"""ghgwatch choice: warn when the forecast's upper bound reaches the alarm level within 30 minutes (issue 14: the
mine platform's purpose for the longwall forecast is to prevent gassing and the downtime it causes; 30 minutes
leaves time to slow the shearer or add air, and is inside the 10-60 minutes the forecast covers)."""
WARNING_FRACTION: Final = 0.8  # ghgwatch choice: warning at 80 % of the alarm level

_RULES_M: Final = (
    "[M] METHODOLOGY.md §2.3: ПБ 05-618-03; Order 507 'Правила безопасности в угольных шахтах' and "
    "Order 506 'Инструкция по аэрологической безопасности угольных шахт' (08.12.2020)"
)

# (alarm level in % vol, source) per location. Warning = WARNING_FRACTION × alarm (ghgwatch choice).
METHANE_LIMITS: Final[dict[Location, tuple[float, str]]] = {
    Location.LONGWALL_OUTGOING: (
        1.0,
        f"{_RULES_M}: outgoing air of a stope / dead-end working / panel 1.0 %",
    ),
    Location.WING_OUTGOING: (0.75, f"{_RULES_M}: outgoing air of a wing or the whole mine 0.75 %"),
    Location.MINE_OUTGOING: (0.75, f"{_RULES_M}: outgoing air of a wing or the whole mine 0.75 %"),
    Location.INCOMING_AIR: (0.5, f"{_RULES_M}: incoming fresh air to a panel or face 0.5 %"),
    Location.LOCAL: (2.0, f"{_RULES_M}; [V: S11]: local accumulation ≥ 2 %"),
    Location.GOAF_PIPELINE: (3.5, "[V: S9] METHODOLOGY.md §2.3: gas-outlet pipelines / goaf drainage 3.5 %"),
}

DRAINAGE_SOURCE: Final = (
    "METHODOLOGY.md §2.3: gas sent for utilisation needs a minimum CH4 content; the level is [?] "
    "(25-30 % quoted, unsourced): set it per site"
)


def methane_limit(location: Location, drainage_min_percent: float | None = None) -> ThresholdRule:
    """The default methane threshold rule for a location (in % vol)."""
    if location is Location.DRAINAGE_PIPELINE:
        # Alarm when methane falls BELOW the safe-utilisation level; no numeric default.
        return ThresholdRule(
            id=METHANE_RULE_ID,
            unit="%",
            direction=Direction.BELOW,
            alarm=drainage_min_percent,
            source=DRAINAGE_SOURCE
            if drainage_min_percent is None
            else f"site configuration; {DRAINAGE_SOURCE}",
        )
    alarm, source = METHANE_LIMITS[location]
    return ThresholdRule(
        id=METHANE_RULE_ID,
        unit="%",
        direction=Direction.ABOVE,
        alarm=alarm,
        warning=round(alarm * WARNING_FRACTION, 6),
        source=f"alarm: {source}; warning at {WARNING_FRACTION:.0%} of alarm: ghgwatch choice",
    )


def default_ruleset(
    *,
    silent_factor: float = 3.0,
    stuck_duration_s: float | None = None,
    drainage_min_percent: float | None = None,
) -> RuleSet:
    """Rules every deployment starts from; edit or override by layer (see ``RuleSet``).

    Stuck detection is off unless ``stuck_duration_s`` is given: a healthy methane meter in fresh
    air can legitimately read the same quantised value for hours.
    """
    common: dict[str, Rule | None] = {
        "silent": SilentRule(
            id="silent", factor=silent_factor, source="ghgwatch choice: 3 × expected interval"
        ),
        "range": RangeRule(id="range", source="sensor description (registry)"),
    }
    if stuck_duration_s is not None:
        common["stuck"] = StuckRule(id="stuck", duration_s=stuck_duration_s, source="site configuration")
    methane: dict[str, Rule | None] = {
        **common,
        "range": RangeRule(id="range", low=0.0, high=100.0, unit="%", source="physics: 0–100 % vol"),
    }
    by_kind: dict[str, RuleLayer] = {METHANE: MappingProxyType(methane), "*": MappingProxyType(common)}
    by_kind_location: dict[tuple[str, Location], RuleLayer] = {
        (METHANE, loc): MappingProxyType({METHANE_RULE_ID: methane_limit(loc, drainage_min_percent)})
        for loc in Location
    }
    # The longwall's outgoing air is what the multivariate forecast is for: its early warning is on by default
    # (it only acts on stored forecasts of the sensor).
    by_kind_location[(METHANE, Location.LONGWALL_OUTGOING)] = MappingProxyType({
        METHANE_RULE_ID: methane_limit(Location.LONGWALL_OUTGOING, drainage_min_percent),
        EARLY_WARNING_ID: ForecastLimitRule(
            id=EARLY_WARNING_ID, within_min=EARLY_WARNING_MIN,
            source=f"ghgwatch choice: forecast upper bound within {EARLY_WARNING_MIN:g} min (issue 14)"),
    })
    return RuleSet(by_kind=by_kind, by_kind_location=by_kind_location)
