"""Issue 10 item 4: the engine's side of handing sensors over between pipeline replicas (``own``, ``release``,
``adopt``): a sensor of a partition this replica lost is not judged silent; a taken-over sensor continues the open
alerts of the previous owner and is judged silent from its newest stored reading; readings replayed after the previous
owner was killed do not open again an alert it had resolved."""

from __future__ import annotations

import numpy as np
from test_engine import LW, engine

from ghgwatch.alerts.engine import AlertKey, EventKind, Reading, RuleEngine
from ghgwatch.alerts.rules import Location, SensorSpec, Severity

M2 = SensorSpec(id="m2", kind="methane", unit="%", location=Location.LONGWALL_OUTGOING, expected_interval_s=10)
SILENT_AFTER = 30.0  # 3 x the expected interval of 10 s (default silent rule, factor 3)


def test_a_sensor_not_owned_is_not_judged_silent_and_comes_back_with_its_state() -> None:
    e = engine(LW, M2)
    e.evaluate([Reading("m1", 0, 0.2), Reading("m2", 0, 1.2)])  # m2: an alarm opens
    e.own(lambda sensor: sensor == "m1")  # m2's partition was revoked (eager rebalance: maybe coming back)
    ticked = e.tick(100)
    assert [(ev.kind, ev.key) for ev in ticked] == [(EventKind.OPENED, AlertKey("m1", "silent"))]
    assert AlertKey("m2", "methane_limit") in {a.key for a in e.open_alerts()}  # kept while suspended
    e.own(lambda sensor: True)  # assigned again: judged on the clock again, nothing was forgotten
    assert [(ev.kind, ev.key) for ev in e.tick(101)] == [(EventKind.OPENED, AlertKey("m2", "silent"))]


def test_release_drops_a_sensors_alerts_and_learning_without_resolving_them() -> None:
    e = engine(LW, M2)
    e.evaluate([Reading("m1", 0, 1.2), Reading("m2", 0, 1.2)])
    dropped = e.release(["m2"])
    assert dropped == [AlertKey("m2", "methane_limit")]
    assert [a.key.sensor_id for a in e.open_alerts()] == ["m1"]
    ticked = e.tick(1000)  # m1 is silent; m2 is not judged (another replica owns it)
    assert [(ev.kind, ev.key) for ev in ticked] == [(EventKind.OPENED, AlertKey("m1", "silent"))]
    # Owned again later: a new owner's state, not this replica's stale one (the reading is not late).
    e.own(lambda sensor: True)
    assert [ev.kind for ev in e.evaluate([Reading("m2", -50, 1.3)])] == [EventKind.OPENED]
    assert e.late_readings == 0


def test_adopt_counts_silence_from_the_newest_stored_reading_or_from_the_handover() -> None:
    e = engine(LW, M2)
    now = 10_000.0
    e.adopt({"m1": now - 20, "m2": now - 3_600}, now)  # m1 reported 20 s ago; m2's newest reading is an hour old
    assert e.tick(now + 5) == []
    assert [ev.key.sensor_id for ev in e.tick(now + 11)] == ["m1"]  # 31 s after its newest reading
    assert e.tick(now + SILENT_AFTER - 1) == []  # m2: one limit from the hand-over, not at once
    (m2,) = e.tick(now + SILENT_AFTER + 1)
    assert m2.key == AlertKey("m2", "silent") and "no reading for 31 s" in m2.reason


def test_adopt_keeps_the_time_of_a_sensor_seen_here_and_ignores_sensors_not_owned() -> None:
    e = engine(LW, M2)
    e.evaluate_arrays(["m1"], np.array([100.0]), np.array([0.2]), arrived_at=100.0)
    e.own(lambda sensor: sensor == "m1")
    e.adopt({"m1": 0.0, "m2": 100.0}, 100.0)
    assert e.tick(125) == []
    assert [ev.key.sensor_id for ev in e.tick(131)] == ["m1"]  # from its own arrival time, not the stored 0
    assert e.tick(10_000) == []  # m2: not owned


KEY = AlertKey("m1", "methane_limit")
# What replica A judged before it was killed: opened at 10 (alarm: over 1.0 %), resolved by the reading at 100
# (clear for the rule's 60 s). Its last batch, stored but never committed on the bus, is delivered again to B.
JUDGED_BY_A = [(0.0, 0.2), (10.0, 1.2), (20.0, 1.3), (30.0, 0.2), (100.0, 0.2)]


def _replay(e: RuleEngine, points: list[tuple[float, float]]) -> list[tuple[EventKind, float]]:
    events = e.evaluate([Reading("m1", t, v) for t, v in points])
    return [(ev.kind, ev.alert.opened_by.ts) for ev in events]


def test_a_replayed_exceedance_of_an_alert_already_resolved_does_not_open_it_again() -> None:
    a = engine(LW)
    assert [kind for kind, _ in _replay(a, JUDGED_BY_A)] == [EventKind.OPENED, EventKind.RESOLVED]
    closed = [(KEY, 10.0, 100.0, int(Severity.ALARM))]  # as the database has it (handover.load_closed)

    b = engine(LW)  # the new owner: takes the sensor over, then gets A's uncommitted readings again
    b.adopt({"m1": 100.0}, 130.0, closed)
    assert _replay(b, JUDGED_BY_A) == []
    assert b.open_alerts() == [] and b.late_readings == len(JUDGED_BY_A)
    # New readings are judged as ever: an exceedance opens (in order, not late).
    (opened,) = b.evaluate([Reading("m1", 110.0, 1.4)])
    assert opened.kind is EventKind.OPENED and not opened.alert.late

    control = engine(LW)  # without what adopt loads, the replay opened the resolved alert again
    assert [kind for kind, _ in _replay(control, JUDGED_BY_A)] == [EventKind.OPENED, EventKind.RESOLVED]


def test_a_replayed_exceedance_the_previous_owner_never_judged_still_opens_an_alert() -> None:
    """A stored 105 and 110 but was killed before judging them: no reading skips the rules (a late alert)."""
    b = engine(LW)
    b.adopt({"m1": 110.0}, 130.0, [(KEY, 10.0, 100.0, int(Severity.ALARM))])
    events = b.evaluate([Reading("m1", t, v) for t, v in [*JUDGED_BY_A, (105.0, 1.5), (110.0, 0.2)]])
    assert [(ev.kind, ev.alert.opened_by.ts, ev.alert.late) for ev in events] == [(EventKind.OPENED, 105.0, True)]
    # A warning inside the resolved alarm's time is covered too; an alarm after it is not.
    assert b.evaluate([Reading("m1", 50.0, 0.9)]) == []


def test_replay_state_is_for_sensors_not_judged_here_and_is_forgotten_on_release() -> None:
    e = engine(LW, M2)
    e.evaluate([Reading("m1", 200.0, 0.2)])  # m1 judged here: its own newest time and intervals count
    e.adopt({"m1": 100.0, "m2": 100.0}, 130.0, [(KEY, 10.0, 100.0, 2), (AlertKey("m2", "methane_limit"), 10, 100, 2)])
    e.adopt({"m2": 100.0}, 130.0, [(AlertKey("m2", "methane_limit"), 10, 100, 2)])  # twice: no second interval
    assert not e.covered(KEY, 50.0) and e.covered(AlertKey("m2", "methane_limit"), 50.0)
    assert len(e._closed[AlertKey("m2", "methane_limit")]) == 1
    assert e.evaluate([Reading("m2", 50.0, 1.5)]) == []  # replayed: late and covered
    e.release(["m2"])
    assert not e.covered(AlertKey("m2", "methane_limit"), 50.0)
    e.own(lambda sensor: True)
    # Owned again with nothing adopted: judged in order from scratch (a new owner's state).
    assert [ev.kind for ev in e.evaluate([Reading("m2", 50.0, 1.5)])] == [EventKind.OPENED]
    assert e.late_readings == 1


def test_a_replayed_reading_newer_than_the_newest_stored_one_is_covered_by_an_alert_resolved_by_it() -> None:
    """The embedded platform died after judging readings in the live lane (an alert opened and resolved) but before
    storing all of them: the newest stored reading is older than the replay, whose readings are judged in order, and
    the interval loaded from the database still covers them."""
    b = engine(LW)
    b.adopt({"m1": 0.0}, 130.0, [(KEY, 10.0, 100.0, int(Severity.ALARM))], silence=False)
    assert _replay(b, JUDGED_BY_A) == []
    assert b.late_readings == 1  # only the stored reading at 0
    (opened,) = b.evaluate([Reading("m1", 110.0, 1.4)])  # after the interval: opens as ever
    assert opened.kind is EventKind.OPENED
