"""No reading skips the rules, whatever the order of arrival (docs/alerts.md, "Late and out-of-order readings").

Property tests (hypothesis) over random interleavings of live and historical readings of a few sensors, random
batching and readings judged twice (at accept time and again once stored), against a simple oracle that judges
each sensor's readings on their own, in time order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ghgwatch.alerts.engine import AlertEvent, AlertKey, EventKind, Reading, RuleEngine
from ghgwatch.alerts.rules import Direction, EffectiveRules, SensorSpec, Severity, ThresholdRule

SENSORS = ("a", "b", "c")
RULES = {
    "a": ThresholdRule(id="limit", warning=0.8, alarm=1.0, deadband=0.05, clear_after_s=20.0, source="test"),
    "b": ThresholdRule(id="limit", alarm=1.0, clear_after_s=0.0, source="test"),
    "c": ThresholdRule(id="limit", warning=19.5, alarm=18.0, direction=Direction.BELOW, clear_after_s=5.0,
                       source="test"),
}
VALUES = {"a": (0.2, 0.7, 0.78, 0.85, 0.97, 1.2, 5.0), "b": (0.1, 0.99, 1.01, 3.0), "c": (20.9, 19.6, 19.0, 17.0)}


def make_engine() -> RuleEngine:
    specs = [EffectiveRules(SensorSpec(id=s, kind="methane", unit="%"), (RULES[s],)) for s in SENSORS]
    return RuleEngine(specs, track_peaks=True)


def oracle_level(sensor: str, value: float) -> int:
    """The simple oracle: the level a reading reaches under its sensor's rule, judged on its own."""
    rule = RULES[sensor]
    above = rule.direction is Direction.ABOVE
    def worse(level: float | None) -> bool:
        return level is not None and (value > level if above else value < level)
    return 2 if worse(rule.alarm) else 1 if worse(rule.warning) else 0


@dataclass(frozen=True)
class Scenario:
    arrivals: list[Reading]  # in arrival order
    batches: list[int]  # sizes, summing to len(arrivals)


@st.composite
def scenarios(draw: st.DrawFn, in_order: bool = False) -> Scenario:
    """Per sensor a history (its readings in time order) split into a historical part and a live part;
    the streams of every sensor are merged in a random order. Live readings of a sensor arrive in time order,
    and so do its historical ones, but (unless ``in_order``) live ones may overtake historical ones."""
    streams: list[list[Reading]] = []
    for s in SENSORS:
        n = draw(st.integers(0, 25))
        steps = draw(st.lists(st.sampled_from([0.5, 1.0, 3.0, 10.0, 30.0]), min_size=n, max_size=n))
        values = draw(st.lists(st.sampled_from(VALUES[s]), min_size=n, max_size=n))
        ts = np.cumsum([1000.0, *steps])[1:]
        readings = [Reading(s, float(t), v) for t, v in zip(ts, values, strict=True)]
        if in_order or not readings:
            streams.append(readings)
            continue
        live_mask = draw(st.lists(st.booleans(), min_size=n, max_size=n))
        streams.append([r for r, live in zip(readings, live_mask, strict=True) if live])
        streams.append([r for r, live in zip(readings, live_mask, strict=True) if not live])
    arrivals: list[Reading] = []
    heads = [0] * len(streams)
    while any(h < len(stream) for h, stream in zip(heads, streams, strict=True)):
        open_streams = [i for i, stream in enumerate(streams) if heads[i] < len(stream)]
        i = draw(st.sampled_from(open_streams))
        arrivals.append(streams[i][heads[i]])
        heads[i] += 1
    sizes: list[int] = []
    left = len(arrivals)
    while left:
        k = draw(st.integers(1, max(1, min(left, 12))))
        sizes.append(k)
        left -= k
    return Scenario(arrivals, sizes)


def feed(engine: RuleEngine, readings: list[Reading], sizes: list[int]) -> list[AlertEvent]:
    events: list[AlertEvent] = []
    start = 0
    for k in sizes:
        chunk = readings[start:start + k]
        start += k
        ts = np.array([r.ts for r in chunk])
        vs = np.array([r.value for r in chunk])
        events += engine.evaluate_arrays([r.sensor_id for r in chunk], ts, vs)
    return events


def key(sensor: str) -> AlertKey:
    return AlertKey(sensor, "limit")


def shape(events: list[AlertEvent]) -> list[tuple[object, ...]]:
    return [(e.kind, e.key, e.severity, e.at, e.reading, e.alert.late) for e in events]


FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(scenarios())
def test_every_exceedance_is_part_of_an_alert_at_least_as_severe(sc: Scenario) -> None:
    engine = make_engine()
    newest: dict[str, float] = {}
    for r in sc.arrivals:
        events = engine.evaluate([r])
        level = oracle_level(r.sensor_id, r.value)
        late = r.ts <= newest.get(r.sensor_id, -1.0)
        newest[r.sensor_id] = max(r.ts, newest.get(r.sensor_id, -1.0))
        for ev in events:
            if ev.kind is EventKind.OPENED:
                assert ev.alert.late == late, (r, ev)
        if level == 0:
            continue
        now_open = {a.key: a for a in engine.open_alerts()}
        held = now_open.get(key(r.sensor_id))
        assert (held is not None and held.severity >= level) or engine.covered(key(r.sensor_id), r.ts, level), (
            f"exceedance {r} (level {level}) is in no alert; events {events}")


@FAST
@given(scenarios())
def test_batching_changes_nothing(sc: Scenario) -> None:
    one_by_one = feed(make_engine(), sc.arrivals, [1] * len(sc.arrivals))
    batched = feed(make_engine(), sc.arrivals, sc.batches)
    assert shape(batched) == shape(one_by_one)


@FAST
@given(scenarios(in_order=True))
def test_in_time_order_the_engine_is_the_oracle(sc: Scenario) -> None:
    """Each sensor's readings in time order (any interleaving across sensors, any batching): exactly the
    events of judging each sensor on its own, one reading at a time; nothing is late."""
    engine = make_engine()
    events = feed(engine, sc.arrivals, sc.batches)
    assert engine.late_readings == 0
    for s in SENSORS:
        alone = make_engine()
        expected = [ev for r in sc.arrivals if r.sensor_id == s for ev in alone.evaluate([r])]
        assert shape([e for e in events if e.key.sensor_id == s]) == shape(expected)
        opened = [e for e in expected if e.kind is EventKind.OPENED]
        exceeding = [r for r in sc.arrivals if r.sensor_id == s and oracle_level(s, r.value) > 0]
        assert bool(opened) == bool(exceeding)


@FAST
@given(scenarios())
def test_judging_every_reading_again_changes_nothing(sc: Scenario) -> None:
    """The alert service judges a reading at accept time and again once stored: the second pass is silent."""
    engine = make_engine()
    feed(engine, sc.arrivals, sc.batches)
    open_before = engine.open_alerts()
    assert feed(engine, sc.arrivals, sc.batches[::-1]) == []
    assert engine.open_alerts() == open_before


def test_late_exceedance_opens_a_late_alert_unless_one_covered_its_time() -> None:
    e = make_engine()
    assert [ev.kind for ev in e.evaluate([Reading("b", 100, 2.0)])] == [EventKind.OPENED]
    assert [ev.kind for ev in e.evaluate([Reading("b", 110, 0.1)])] == [EventKind.RESOLVED]
    assert e.evaluate([Reading("b", 105, 3.0)]) == []  # the alert of 100-110 was open at its time
    late = e.evaluate([Reading("b", 50, 2.0)])  # before that alert: an exceedance nobody saw
    assert [(ev.kind, ev.alert.late, ev.reason) for ev in late] == [
        (EventKind.OPENED, True, "late reading: older than one already judged")]
    assert e.evaluate([Reading("b", 60, 0.1)]) == []  # late readings resolve nothing
    assert [ev.kind for ev in e.evaluate([Reading("b", 120, 0.1)])] == [EventKind.RESOLVED]


def test_late_alarm_escalates_the_open_alert_and_a_warning_interval_does_not_cover_an_alarm() -> None:
    e = make_engine()
    assert [ev.kind for ev in e.evaluate([Reading("a", 100, 0.9)])] == [EventKind.OPENED]
    escalated = e.evaluate([Reading("a", 90, 1.5)])
    assert [(ev.kind, ev.severity) for ev in escalated] == [(EventKind.ESCALATED, Severity.ALARM)]
    f = make_engine()
    f.evaluate([Reading("a", 100, 0.9), Reading("a", 110, 0.1), Reading("a", 140, 0.1)])
    assert f.open_alerts() == []
    assert f.evaluate([Reading("a", 105, 0.9)]) == []  # covered by the warning alert
    again = f.evaluate([Reading("a", 105.5, 1.5)])  # an alarm the warning alert never saw
    assert [(ev.kind, ev.severity, ev.alert.late) for ev in again] == [(EventKind.OPENED, Severity.ALARM, True)]


def test_rebuilding_keeps_what_the_engine_learned() -> None:
    e = make_engine()
    e.evaluate([Reading("b", 100, 2.0), Reading("b", 110, 0.1)])
    fresh = make_engine()
    fresh.carry_state(e)
    assert fresh.evaluate([Reading("b", 100, 2.0)]) == []  # judged again after the rebuild: covered
    assert fresh.last_ts("b") == 110.0


def test_a_clearing_reading_judged_before_a_rebuild_still_resolves_its_alert() -> None:
    """The rebuild (a registry or rule change) restores open alerts from snapshots; their clear time is carried
    too, otherwise the alert stays open until its sensor's next in-order reading and the next exceedance only
    joins it (no ``opened``: a missed alarm)."""
    e = make_engine()
    e.evaluate([Reading("a", 100, 1.5)])
    assert e.evaluate([Reading("a", 100.3, 0.1)]) == []  # clear since 100.3; resolves 20 s later
    fresh = make_engine()
    fresh.carry_state(e)
    fresh.restore(e.open_alerts(), now=101)
    fresh.carry_open(e)
    assert [(ev.kind, ev.reason) for ev in fresh.tick(121)] == [(EventKind.RESOLVED, "condition clear")]
    assert [ev.kind for ev in fresh.evaluate([Reading("a", 130, 2.0)])] == [EventKind.OPENED]
    assert fresh.evaluate([Reading("a", 100.3, 0.1)]) == []  # judged again once stored: late, nothing


def test_a_late_alert_of_a_sensor_already_clear_resolves_on_the_clock() -> None:
    """An exceedance judged when its rule was not yet in force (or its sensor unknown) is judged again once
    stored, after the clear reading that followed it: the late alert is clear from that reading on."""
    e = make_engine()
    e.evaluate([Reading("a", 200, 0.1)])
    opened = e.evaluate([Reading("a", 199.7, 1.5)])
    assert [(ev.kind, ev.alert.late) for ev in opened] == [(EventKind.OPENED, True)]
    assert e.tick(210) == []  # clear since 200, clear_after_s 20
    assert [(ev.kind, ev.reason) for ev in e.tick(220)] == [(EventKind.RESOLVED, "condition clear")]
    assert [ev.kind for ev in e.evaluate([Reading("a", 230, 2.0)])] == [EventKind.OPENED]  # a new alert
    f = make_engine()
    f.evaluate([Reading("a", 200, 0.9)])  # newest reading still over the warning level
    f.evaluate([Reading("a", 199.7, 1.5)])
    assert f.tick(1000) == [] and len(f.open_alerts()) == 1
