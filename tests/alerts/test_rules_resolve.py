from __future__ import annotations

import pytest

from ghgwatch.alerts.rules import (
    Direction,
    Location,
    RangeRule,
    RuleSet,
    SensorSpec,
    StuckRule,
    ThresholdRule,
    default_ruleset,
    resolve_rules,
)


def _methane(loc: Location, **kw: object) -> SensorSpec:
    return SensorSpec(id="m1", kind="methane", unit="%", location=loc, expected_interval_s=10, **kw)  # type: ignore[arg-type]


def _threshold(e: object) -> ThresholdRule:
    rules = [r for r in e.rules if isinstance(r, ThresholdRule)]  # type: ignore[attr-defined]
    assert len(rules) == 1
    return rules[0]


@pytest.mark.parametrize(
    ("loc", "alarm"),
    [
        (Location.LONGWALL_OUTGOING, 1.0),
        (Location.WING_OUTGOING, 0.75),
        (Location.MINE_OUTGOING, 0.75),
        (Location.INCOMING_AIR, 0.5),
        (Location.LOCAL, 2.0),
        (Location.GOAF_PIPELINE, 3.5),
    ],
)
def test_methane_defaults_by_location_with_sources(loc: Location, alarm: float) -> None:
    rule = _threshold(resolve_rules(_methane(loc), default_ruleset()))
    assert rule.alarm == alarm
    assert rule.warning == pytest.approx(0.8 * alarm)
    assert rule.direction is Direction.ABOVE
    assert ("[M]" in rule.source or "[V: S9]" in rule.source) and "ghgwatch choice" in rule.source


def test_drainage_pipeline_needs_configuration_then_alarms_below() -> None:
    eff = resolve_rules(_methane(Location.DRAINAGE_PIPELINE), default_ruleset())
    assert not [r for r in eff.rules if isinstance(r, ThresholdRule)]
    assert any("no level configured" in p for p in eff.problems)
    rule = _threshold(resolve_rules(_methane(Location.DRAINAGE_PIPELINE), default_ruleset(drainage_min_percent=25)))
    assert rule.direction is Direction.BELOW
    assert rule.alarm == 25


def test_precedence_sensor_over_source_type_over_kind() -> None:
    base = default_ruleset()
    rs = RuleSet(
        by_kind={
            **base.by_kind,
            "methane": {**base.by_kind["methane"], "stuck": StuckRule(id="stuck", duration_s=100)},
        },
        by_kind_location=base.by_kind_location,
        by_source_type={"ventilation_shaft": {"stuck": StuckRule(id="stuck", duration_s=200)}},
        by_sensor={"m1": {"stuck": StuckRule(id="stuck", duration_s=300)}, "m2": {"range": None}},
    )

    def stuck(sensor: SensorSpec) -> float | None:
        found = [r for r in resolve_rules(sensor, rs).rules if isinstance(r, StuckRule)]
        return found[0].duration_s if found else None

    loc = Location.MINE_OUTGOING
    assert stuck(SensorSpec(id="m9", kind="methane", unit="%", location=loc)) == 100
    assert stuck(SensorSpec(id="m9", kind="methane", unit="%", location=loc, source_type="ventilation_shaft")) == 200
    assert stuck(SensorSpec(id="m1", kind="methane", unit="%", location=loc, source_type="ventilation_shaft")) == 300
    # None in a more specific layer removes an inherited rule.
    m2 = resolve_rules(SensorSpec(id="m2", kind="methane", unit="%"), rs)
    assert not [r for r in m2.rules if isinstance(r, RangeRule)]


def test_sensor_own_levels_override_default_keep_direction() -> None:
    rule = _threshold(resolve_rules(_methane(Location.LONGWALL_OUTGOING, warning=0.6, alarm=0.9), default_ruleset()))
    assert (rule.warning, rule.alarm) == (0.6, 0.9)
    assert rule.source.startswith("sensor configuration")


def test_units_are_converted_or_reported() -> None:
    ppm = SensorSpec(id="m1", kind="methane", unit="ppm", location=Location.INCOMING_AIR)
    rule = _threshold(resolve_rules(ppm, default_ruleset()))
    assert rule.alarm == pytest.approx(5000.0)
    odd = resolve_rules(SensorSpec(id="m1", kind="methane", unit="mg/m3", location=Location.LOCAL), default_ruleset())
    assert any("does not convert" in p for p in odd.problems)


def test_silent_needs_expected_interval_and_range_from_sensor() -> None:
    eff = resolve_rules(
        SensorSpec(id="f1", kind="air_flow", unit="m3/s", range_low=0, range_high=50), default_ruleset()
    )
    assert any(p.startswith("silent") for p in eff.problems)
    (rng,) = [r for r in eff.rules if isinstance(r, RangeRule)]
    assert (rng.low, rng.high) == (0, 50)
