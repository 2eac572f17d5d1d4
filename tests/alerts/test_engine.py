from __future__ import annotations

import math

import numpy as np
import pytest

from ghgwatch.alerts.engine import AlertKey, EventKind, Reading, RuleEngine
from ghgwatch.alerts.rules import (
    AnomalyRule,
    Location,
    RateOfChangeRule,
    RuleKind,
    RuleSet,
    SensorSpec,
    Severity,
    StuckRule,
    ThresholdRule,
    default_ruleset,
    resolve_rules,
)

LW = SensorSpec(id="m1", kind="methane", unit="%", location=Location.LONGWALL_OUTGOING, expected_interval_s=10)


def engine(*sensors: SensorSpec, extra: dict[str, object] | None = None, **kw: float) -> RuleEngine:
    base = default_ruleset(stuck_duration_s=kw.pop("stuck", 600.0))
    rs = RuleSet(base.by_kind, base.by_kind_location, {}, extra or {})  # type: ignore[arg-type]
    return RuleEngine([resolve_rules(s, rs) for s in sensors or (LW,)], **kw)


def feed(e: RuleEngine, points: list[tuple[float, float]], sensor: str = "m1") -> list[tuple[float, str, int]]:
    out = []
    for t, v in points:
        out += [(t, ev.kind.value, int(ev.severity)) for ev in e.evaluate([Reading(sensor, t, v)])]
    return out


def test_threshold_opens_escalates_once_and_resolves_after_clear_time() -> None:
    e = engine()
    ev = feed(e, [(0, 0.5), (10, 0.85), (20, 0.9), (30, 1.2), (40, 0.9), (50, 1.1), (60, 0.3), (110, 0.3), (125, 0.3)])
    assert ev == [(10, "opened", 1), (30, "escalated", 2), (125, "resolved", 2)]


def test_event_carries_rule_threshold_source_opening_reading_and_peak() -> None:
    e = engine()
    events = e.evaluate([Reading("m1", 0, 1.05), Reading("m1", 10, 1.4), Reading("m1", 100, 0.1)])
    opened = events[0].alert
    assert opened.key == AlertKey("m1", "methane_limit")
    assert opened.rule.kind is RuleKind.THRESHOLD and opened.rule.threshold == 1.0
    assert "[M]" in opened.rule.source
    assert e.open_alerts()[0].opened_by.value == 1.05
    assert e.open_alerts()[0].peak.value == 1.4


def test_peak_updates_are_rate_limited() -> None:
    e = engine(peak_report_interval_s=60)
    ev = feed(e, [(0, 1.1), (10, 1.2), (20, 1.3), (70, 1.4), (80, 1.5)])
    assert [k for _, k, _ in ev] == ["opened", "updated"]


def test_deadband_keeps_alert_open_near_level() -> None:
    extra = {
        "m1": {
            "methane_limit": ThresholdRule(id="methane_limit", warning=0.8, alarm=1.0, deadband=0.1, clear_after_s=0)
        }
    }
    e = engine(extra=extra)
    ev = feed(e, [(0, 0.85), (10, 0.75), (20, 0.69)])
    assert ev == [(0, "opened", 1), (20, "resolved", 1)]


def test_clear_time_restarts_if_condition_returns() -> None:
    e = engine()
    ev = feed(e, [(0, 0.9), (10, 0.1), (60, 0.9), (80, 0.1), (130, 0.1), (140, 0.1)])
    assert ev == [(0, "opened", 1), (140, "resolved", 1)]


def test_below_direction_for_drainage_pipeline() -> None:
    s = SensorSpec(id="d1", kind="methane", unit="%", location=Location.DRAINAGE_PIPELINE)
    base = default_ruleset(drainage_min_percent=25.0)
    e = RuleEngine([resolve_rules(s, base)])
    ev = feed(e, [(0, 40), (10, 24), (20, 40), (90, 40)], sensor="d1")
    assert ev == [(10, "opened", 2), (90, "resolved", 2)]


def test_out_of_range() -> None:
    e = engine()
    ev = feed(e, [(0, 0.2), (10, -3.0), (20, 0.2), (90, 0.2)])
    assert ev == [(10, "opened", 1), (90, "resolved", 1)]
    assert e.evaluate([Reading("m1", 100, 150.0)])[0].alert.rule.threshold == 100.0


def test_silent_via_tick_and_resolved_by_next_reading() -> None:
    e = engine(started_at=0.0)
    assert e.tick(25) == []
    (opened,) = e.tick(31)
    assert opened.kind is EventKind.OPENED and opened.key.rule_id == "silent"
    assert e.tick(100) == []  # no duplicate
    (resolved,) = e.evaluate([Reading("m1", 101, 0.2)])
    assert resolved.kind is EventKind.RESOLVED and resolved.key.rule_id == "silent"
    assert e.tick(120) == []


def test_stuck_sensor() -> None:
    e = engine(stuck=300.0)
    ev = feed(e, [(t, 0.42) for t in range(0, 400, 50)] + [(400, 0.5), (450, 0.6), (500, 0.7)])
    assert ev == [(300, "opened", 1), (500, "resolved", 1)]


def test_rate_of_change() -> None:
    extra = {
        "m1": {
            "roc": RateOfChangeRule(id="roc", warning_per_min=0.05, alarm_per_min=0.2, window_s=120, clear_after_s=0)
        }
    }
    e = engine(extra=extra)
    steady = [(t, 0.3) for t in range(0, 200, 20)]
    rising = [(200 + 20 * i, 0.3 + 0.03 * (i + 1)) for i in range(6)]  # 0.09 %/min
    fast = [(320, 0.8)]
    ev = feed(e, steady + rising + fast + [(t, 0.8) for t in range(340, 500, 20)])
    roc = [x for x in ev if x[0] >= 200]
    assert ("opened", 1) in [(k, s) for _, k, s in roc]
    assert ("escalated", 2) in [(k, s) for _, k, s in roc]
    assert roc[-1][1] == "resolved"


def test_anomaly_score_rule_and_missing_score_ignored() -> None:
    extra = {"m1": {"anom": AnomalyRule(id="anom", warning=5.0, alarm=10.0, clear_after_s=0)}}
    e = engine(extra=extra)
    ev = e.evaluate(
        [
            Reading("m1", 0, 0.3, 6.0),
            Reading("m1", 10, 0.3, None),
            Reading("m1", 20, 0.3, 12.0),
            Reading("m1", 30, 0.3, 1.0),
        ]
    )
    assert [(x.kind.value, int(x.severity)) for x in ev] == [("opened", 1), ("escalated", 2), ("resolved", 2)]


def test_restore_continues_without_duplicate_and_resolves_orphans() -> None:
    e1 = engine()
    feed(e1, [(0, 1.2), (10, 1.3)])
    persisted = e1.open_alerts()
    e2 = engine()
    assert e2.restore(persisted) == []
    assert feed(e2, [(20, 1.25), (30, 1.5)]) == []  # same alert, no reopen
    assert feed(e2, [(40, 0.1), (100, 0.1)]) == [(100, "resolved", 2)]
    other = RuleEngine([resolve_rules(SensorSpec(id="x", kind="co2", unit="%"), default_ruleset())])
    (gone,) = other.restore(persisted, now=500)
    assert gone.kind is EventKind.RESOLVED and gone.reason == "rule no longer in force"


def test_an_alert_resolved_as_gone_covers_what_it_judged_when_its_rule_comes_back() -> None:
    """A rebuild without the sensor resolves its alert ("rule no longer in force"); once the rule is back (the sensor
    switched on again), a reading that alert covered, judged again (stored late), opens no second alert; a newer
    exceedance does."""
    e1 = engine()
    feed(e1, [(0, 1.2), (10, 1.3)])
    without = RuleEngine([resolve_rules(SensorSpec(id="x", kind="co2", unit="%"), default_ruleset())])
    without.carry_state(e1)
    (gone,) = without.restore(e1.open_alerts(), now=500, judged_until=e1.last_ts)
    assert gone.kind is EventKind.RESOLVED and not without.in_force(gone.key)
    back = engine()
    back.carry_state(without)
    assert back.restore(without.open_alerts()) == [] and back.in_force(gone.key)
    assert feed(back, [(10, 1.3), (5, 1.25)]) == []
    assert feed(back, [(20, 1.3)]) == [(20, "opened", 2)]


def test_an_alert_resolved_as_gone_at_a_restart_covers_readings_up_to_then() -> None:
    e1 = engine()
    feed(e1, [(0, 1.2), (10, 1.3)])
    other = RuleEngine([resolve_rules(SensorSpec(id="x", kind="co2", unit="%"), default_ruleset())])
    other.restore(e1.open_alerts(), now=30)  # nothing judged here: the alert covered everything until it was resolved
    back = engine()
    back.carry_state(other)
    assert feed(back, [(25, 1.3)]) == []
    assert feed(back, [(40, 1.3)]) == [(40, "opened", 2)]


def test_restore_stuck_alert_stays_open_while_value_unchanged() -> None:
    e1 = engine(stuck=300.0)
    feed(e1, [(t, 0.42) for t in range(0, 400, 50)])
    e2 = engine(stuck=300.0)
    e2.restore(e1.open_alerts())
    ev = feed(e2, [(t, 0.42) for t in range(400, 700, 50)])
    assert [k for _, k, _ in ev if k != "updated"] == []


def test_forget_then_condition_reopens() -> None:
    e = engine()
    feed(e, [(0, 1.2)])
    assert e.forget(AlertKey("m1", "methane_limit"))
    assert not e.forget(AlertKey("m1", "methane_limit"))
    assert feed(e, [(10, 1.2)]) == [(10, "opened", 2)]


def test_unknown_sensors_counted_and_skipped() -> None:
    e = engine()
    assert e.evaluate([Reading("zz", 0, 99.0), Reading("m1", 0, 0.1)]) == []
    assert e.unknown_readings == 1


def test_batch_over_many_sensors_equals_one_by_one() -> None:
    rng = np.random.default_rng(3)
    sensors = [
        SensorSpec(id=f"s{i}", kind="methane", unit="%", location=list(Location)[i % 6], expected_interval_s=10)
        for i in range(50)
    ]
    ids = [f"s{i}" for i in rng.integers(0, 50, 5000)]
    ts = np.sort(rng.uniform(0, 5000, 5000))
    vs = np.abs(rng.normal(0.6, 0.6, 5000))
    batch = engine(*sensors).evaluate_arrays(ids, ts, vs)
    single = engine(*sensors)
    one = [ev for i in range(5000) for ev in single.evaluate([Reading(ids[i], float(ts[i]), float(vs[i]))])]
    assert len(batch) > 50
    assert [(x.kind, x.key, x.severity, x.at) for x in batch] == [(x.kind, x.key, x.severity, x.at) for x in one]


def test_no_nan_leaks_into_levels() -> None:
    e = engine()
    assert e.evaluate([Reading("m1", 0, math.nan)]) == []


@pytest.mark.parametrize("sev", [Severity.WARNING, Severity.ALARM])
def test_stuck_rule_severity_configurable(sev: Severity) -> None:
    extra = {"m1": {"stuck": StuckRule(id="stuck", duration_s=100, severity=sev)}}
    e = engine(extra=extra)
    ev = feed(e, [(0, 0.3), (50, 0.3), (100, 0.3)])
    assert ev == [(100, "opened", int(sev))]
