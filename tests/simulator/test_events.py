from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from ghgwatch.simulator import Event, EventKind, SensorSpec, SiteModel, default_events, describe
from ghgwatch.simulator.runner import live_readings
from tests.simulator.conftest import START, pick

SECONDS = np.arange(-600.0, 1_200.0, 1.0)


def _model(sensors: list[SensorSpec], events: list[Event]) -> SiteModel:
    return SiteModel(sensors, seed=4, start=START, events=events, dropout=0)


def test_default_schedule_names_the_affected_sensors(sensors: list[SensorSpec]) -> None:
    events = default_events(sensors)
    assert [(e.kind, e.start_s, e.duration_s) for e in events] == [
        (EventKind.METHANE_BUILDUP, 60.0, 180.0), (EventKind.STUCK, 90.0, 300.0), (EventKind.SILENT, 120.0, 300.0)]
    rows = describe(events, sensors)
    assert rows[0]["sensor"] == pick(sensors, "methane", "longwall_outgoing").id
    assert rows[0]["sensor_name"] == "CH4 longwall outgoing air (Longwall 5-1 (outgoing air))"
    assert rows[1]["sensor"] == pick(sensors, "temperature").id
    assert rows[2]["sensor"] == pick(sensors, "air_flow").id
    assert rows[0]["peak"] == 1.5 and "peak" not in rows[1]


def test_default_schedule_skips_missing_kinds() -> None:
    only = [SensorSpec(1, "co2", "%", "CO2", "Boiler")]
    assert default_events(only) == []


def test_methane_buildup_crosses_the_limit_only_in_its_window(sensors: list[SensorSpec]) -> None:
    events = default_events(sensors)
    buildup = events[0]
    v = _model(sensors, events).values(buildup.sensor, START + SECONDS)
    inside = buildup.window(SECONDS)
    assert v[inside].max() > 1.4
    assert v[~inside].max() < 1.0
    over = SECONDS[v > 1.0]
    assert buildup.start_s < over.min() < buildup.start_s + 90  # rising for some tens of seconds first
    assert over.max() < buildup.end_s
    peak_at = SECONDS[np.argmax(v)]
    assert peak_at == pytest.approx(buildup.start_s + 0.6 * buildup.duration_s, abs=3)
    # Linear rise: readings increase (up to the noise) on the way up.
    offsets = SECONDS
    rising = v[(offsets >= buildup.start_s + 10) & (offsets < peak_at - 5)]
    assert np.corrcoef(np.arange(rising.size), rising)[0, 1] > 0.98


def test_stuck_sensor_repeats_the_exact_same_value(sensors: list[SensorSpec]) -> None:
    target = pick(sensors, "methane", "mine_outgoing")
    event = Event(EventKind.STUCK, target.id, start_s=90.0, duration_s=300.0)
    v = _model(sensors, [event]).values(target.id, START + SECONDS)
    inside = (SECONDS >= 90) & (SECONDS < 390)
    assert len(set(v[inside].tolist())) == 1
    assert len(set(v[(SECONDS >= 390) & (SECONDS < 690)].tolist())) > 10
    assert len(set(v[SECONDS < 90].tolist())) > 10
    assert v[inside][0] == _model(sensors, []).values(target.id, [START + 90.0])[0]


def test_silent_sensor_sends_nothing_in_its_window(sensors: list[SensorSpec]) -> None:
    events = default_events(sensors)
    silent = events[2]
    model = SiteModel(sensors, seed=4, start=START, events=events, dropout=0)
    rate = float(len(sensors))  # every sensor once a second
    readings, skipped = live_readings(model, sensors, rate, 0, int(600 * rate))
    mine = [r for r in readings if r["sensor"] == silent.sensor]
    offsets = [datetime.fromisoformat(r["ts"]).timestamp() - START for r in mine]
    assert skipped == 300
    assert not [o for o in offsets if silent.start_s <= o < silent.end_s]
    assert len(mine) == 600 - 300
    others = {r["sensor"] for r in readings}
    assert others == {s.id for s in sensors}


def test_events_never_touch_history_before_the_start(sensors: list[SensorSpec]) -> None:
    events = default_events(sensors)
    with_events = _model(sensors, events)
    without = _model(sensors, [])
    before = START - np.arange(1.0, 86_400.0, 60.0)
    for s in sensors:
        np.testing.assert_array_equal(with_events.values(s.id, before), without.values(s.id, before))


def test_bad_events_are_refused(sensors: list[SensorSpec]) -> None:
    with pytest.raises(ValueError, match="duration"):
        Event(EventKind.SILENT, 1, start_s=0, duration_s=0)
    with pytest.raises(ValueError, match="unknown sensors"):
        SiteModel(sensors, events=[Event(EventKind.SILENT, 999, start_s=0, duration_s=10)])
