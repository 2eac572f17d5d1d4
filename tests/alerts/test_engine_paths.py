"""The engine's fast paths give what its general paths give (issues 10 and 16: the cost of judging a reading).

``evaluate_rows`` looks sensors up once per run and finds late readings in numpy, with shortcuts for batches in
order and for batches judged before (the stored-lane pass after the live lane, a replay after a hand-over), and it
skips late exceedances that would change nothing. The reference here is the engine with the general paths only:
lateness found reading by reading in Python (as before the fast paths) and every late exceedance through
``_step_late``. Both are fed the same random interleavings of live and historical readings, judged at accept time
(some readings missed there) and again once stored, with replays after a hand-over and the clock in between.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ghgwatch.alerts.engine import AlertEvent, AlertKey, Reading, RuleEngine
from ghgwatch.alerts.engine._late import _late_exact, late_readings, run_starts
from ghgwatch.alerts.rules import (
    AnomalyRule,
    Direction,
    EffectiveRules,
    RangeRule,
    RateOfChangeRule,
    SensorSpec,
    SilentRule,
    StuckRule,
    ThresholdRule,
)

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SILENT = SilentRule(id="silent", factor=3.0, source="test")
RULES: dict[str, tuple[Any, ...]] = {
    "a": (ThresholdRule(id="limit", warning=0.8, alarm=1.0, deadband=0.05, clear_after_s=20.0, source="test"),
          RangeRule(id="range", low=0.0, high=100.0, source="test"), SILENT),
    "b": (ThresholdRule(id="limit", alarm=1.0, clear_after_s=0.0, source="test"), SILENT),
    "c": (ThresholdRule(id="limit", warning=19.5, alarm=18.0, direction=Direction.BELOW, clear_after_s=5.0,
                        source="test"),),
    "d": (ThresholdRule(id="limit", warning=0.8, alarm=1.0, clear_after_s=10.0, source="test"),
          StuckRule(id="stuck", duration_s=10.0, source="test"),
          RateOfChangeRule(id="roc", warning_per_min=1.0, alarm_per_min=3.0, window_s=20.0, source="test")),
    "e": (AnomalyRule(id="anomaly", warning=3.0, alarm=6.0, clear_after_s=10.0, source="test"),),
}
SENSORS = tuple(RULES)
VALUES = {"a": (0.2, 0.78, 0.85, 1.2, 150.0), "b": (0.1, 1.01, 3.0), "c": (20.9, 19.0, 17.0),
          "d": (0.3, 0.3, 0.9, 1.5), "e": (0.5,)}
SCORES = (math.nan, 1.0, 4.0, 7.0)


class GeneralPaths(RuleEngine):
    """The reference: no shortcut for late readings."""

    def _late(self, idx: npt.NDArray[np.intp], ts: npt.NDArray[np.float64],
              starts: npt.NDArray[np.intp]) -> npt.NDArray[np.bool_] | None:
        late = reference_late(idx, ts, np.fmax(self._last_ts, self._replayed))
        return late if late.any() else None

    def _late_no_change(self, lane: Any, idx: npt.NDArray[np.intp], ts: Any, zs: Any, lv: Any,
                        late_exceeding: Any, fresh: Any) -> npt.NDArray[np.bool_]:
        return np.zeros(idx.shape[0], dtype=np.bool_)


class CountingLateSteps(RuleEngine):
    """The engine, noting each late reading it steps through ``_step_late`` in Python."""

    stepped: list[Reading]

    def _step_late(self, al: Any, key: AlertKey, rule: Any, level: int, z: float, reading: Reading,
                   *rest: Any) -> None:
        self.stepped.append(reading)
        super()._step_late(al, key, rule, level, z, reading, *rest)


def reference_late(idx: npt.NDArray[np.intp], ts: npt.NDArray[np.float64],
                   judged: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    """Late, reading by reading: no newer than the newest reading of its sensor judged before it."""
    late = np.zeros(idx.shape[0], dtype=np.bool_)
    newest: dict[int, float] = {}
    for p, (s, t) in enumerate(zip(idx.tolist(), ts.tolist(), strict=True)):
        m = newest.get(s, float(judged[s]))
        if t > m or math.isnan(m):
            newest[s] = t
        else:
            late[p] = True
    return late


# ------------------------------------------------------------------------------------------ lateness alone
@st.composite
def batches(draw: st.DrawFn) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float64], npt.NDArray[np.float64], str]:
    """Sensor of each reading, times, what each sensor had judged before; in one of three shapes."""
    shape = draw(st.sampled_from(["any", "in order", "judged before"]))
    n = draw(st.integers(1, 40))
    runs = draw(st.lists(st.tuples(st.integers(0, 3), st.integers(1, 6)), min_size=1, max_size=n))
    idx = np.repeat([s for s, _ in runs], [k for _, k in runs]).astype(np.intp)
    judged = np.array(draw(st.lists(st.sampled_from([math.nan, 0.0, 5.0, 10.0, 20.0]), min_size=4, max_size=4)))
    if shape == "any":
        ts = np.array(draw(st.lists(st.integers(0, 25), min_size=idx.shape[0], max_size=idx.shape[0])), float)
    else:
        ts = np.empty(idx.shape[0])
        for s in range(4):  # per sensor: rising from after what it judged, or all at or before it
            mine = np.flatnonzero(idx == s)
            steps = np.array(draw(st.lists(st.integers(1, 3), min_size=mine.shape[0], max_size=mine.shape[0])))
            start = 0.0 if math.isnan(judged[s]) else judged[s]
            if shape == "in order":
                ts[mine] = start + np.cumsum(steps)
            else:
                judged[s] = 30.0 if math.isnan(judged[s]) else judged[s]
                ts[mine] = judged[s] - np.array(draw(st.permutations(np.cumsum(steps).tolist()))) + 1
    return idx, ts, judged, shape


@FAST
@given(batches())
def test_late_readings_fast_paths_equal_the_exact_path_and_reading_by_reading(
        batch: tuple[npt.NDArray[np.intp], npt.NDArray[np.float64], npt.NDArray[np.float64], str]) -> None:
    idx, ts, judged, shape = batch
    expected = reference_late(idx, ts, judged)
    starts = run_starts(idx)
    got = late_readings(idx, ts, starts, judged[idx[starts]])
    assert np.array_equal(np.zeros_like(expected) if got is None else got, expected)
    assert np.array_equal(_late_exact(idx, ts, judged[idx]), expected)
    if shape == "in order":
        assert got is None
    elif shape == "judged before":
        assert got is not None and got.all()


# ------------------------------------------------------------------------------------------ the whole engine
@dataclass(frozen=True)
class Scenario:
    arrivals: list[Reading]  # in arrival order
    seen_live: list[bool]  # judged at accept time too (False: the live lane failed or missed it)
    live_sizes: list[int]
    stored_sizes: list[int]
    ticks: list[float | None]  # after each live batch: the clock's time past the newest reading, or no tick
    replay: dict[str, float]  # adopted before anything: the newest stored reading time of the previous owner
    closed: list[tuple[str, float, float, int]]  # alerts of the previous owner resolved lately


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    streams: list[list[Reading]] = []
    replay: dict[str, float] = {}
    closed: list[tuple[str, float, float, int]] = []
    for s in SENSORS:
        n = draw(st.integers(0, 20))
        steps = draw(st.lists(st.sampled_from([0.5, 1.0, 3.0, 10.0, 30.0]), min_size=n, max_size=n))
        values = draw(st.lists(st.sampled_from(VALUES[s]), min_size=n, max_size=n))
        scores = draw(st.lists(st.sampled_from(SCORES), min_size=n, max_size=n)) if s == "e" else [None] * n
        ts = np.cumsum([1000.0, *steps])[1:]
        readings = [Reading(s, float(t), v, None if sc is None or math.isnan(sc) else sc)
                    for t, v, sc in zip(ts, values, scores, strict=True)]
        if readings and draw(st.booleans()):  # taken over: the first readings were stored by the previous owner
            cut = float(ts[draw(st.integers(0, n - 1))])
            replay[s] = cut
            if draw(st.booleans()):
                closed.append((s, float(ts[0]), cut, draw(st.sampled_from([1, 2]))))
        live_mask = draw(st.lists(st.booleans(), min_size=n, max_size=n))
        streams.append([r for r, live in zip(readings, live_mask, strict=True) if live])
        streams.append([r for r, live in zip(readings, live_mask, strict=True) if not live])
    arrivals: list[Reading] = []
    heads = [0] * len(streams)
    while any(h < len(stream) for h, stream in zip(heads, streams, strict=True)):
        i = draw(st.sampled_from([i for i, stream in enumerate(streams) if heads[i] < len(stream)]))
        arrivals.append(streams[i][heads[i]])
        heads[i] += 1
    n = len(arrivals)
    live_sizes, stored_sizes = draw(sizes(n)), draw(sizes(n))
    return Scenario(arrivals, draw(st.lists(st.sampled_from([True, True, True, False]), min_size=n, max_size=n)),
                    live_sizes, stored_sizes,
                    draw(st.lists(st.sampled_from([None, 0.0, 12.0, 40.0]), min_size=len(live_sizes),
                                  max_size=len(live_sizes))),
                    replay, closed)


@st.composite
def sizes(draw: st.DrawFn, n: int) -> list[int]:
    out: list[int] = []
    while n:
        k = draw(st.integers(1, min(n, 15)))
        out.append(k)
        n -= k
    return out


def make(cls: type[RuleEngine]) -> RuleEngine:
    specs = [EffectiveRules(SensorSpec(id=s, kind="methane", unit="%", expected_interval_s=5.0), RULES[s])
             for s in SENSORS]
    return cls(specs, track_peaks=True, peak_report_interval_s=5.0)


def judge(engine: RuleEngine, chunk: list[Reading], arrived_at: float) -> list[AlertEvent]:
    """As the alert service does: one run per stretch of readings of one sensor."""
    names: list[str] = []
    counts: list[int] = []
    for r in chunk:
        if names and names[-1] == r.sensor_id:
            counts[-1] += 1
        else:
            names.append(r.sensor_id)
            counts.append(1)
    scores = np.array([math.nan if r.score is None else r.score for r in chunk])
    return engine.evaluate_rows(names, counts, np.array([r.ts for r in chunk]), np.array([r.value for r in chunk]),
                                scores, arrived_at=arrived_at)


def state(engine: RuleEngine) -> tuple[object, ...]:
    arrays = (engine._last_ts, engine._last_seen, engine._last_value, engine._silent_open)
    alerts = sorted((repr(al.snapshot()), al.since, al.clear_since, al.peak_z, al.last_report)
                    for al in engine._open.values())
    return (repr(alerts), repr(engine._closed), [a.tolist() for a in arrays], engine.late_readings,
            repr(engine._hist), repr(engine._stuck))


def run(engine: RuleEngine, sc: Scenario) -> list[tuple[str, str]]:
    """Everything the engine emits and what it holds after each step, as text (NaN equals NaN)."""
    trail: list[tuple[str, str]] = []
    engine.adopt(sc.replay, 1000.0, [(AlertKey(s, "limit"), a, b, sev) for s, a, b, sev in sc.closed],
                 silence=False)
    live = [r for r, seen in zip(sc.arrivals, sc.seen_live, strict=True) if seen]
    start, newest = 0, 1000.0
    for k, tick in zip(sc.live_sizes, sc.ticks, strict=True):
        chunk = live[start:start + k]
        start += k
        newest = max([newest, *(r.ts for r in chunk)])
        trail.append((repr(judge(engine, chunk, newest)) if chunk else "", repr(state(engine))))
        if tick is not None:
            trail.append((repr(engine.tick(newest + tick)), repr(state(engine))))
    start = 0
    for k in sc.stored_sizes:  # once stored: every reading again, those missed live too
        chunk = sc.arrivals[start:start + k]
        start += k
        trail.append((repr(judge(engine, chunk, newest + 1)), repr(state(engine))))
    return trail


@FAST
@given(scenarios())
def test_fast_paths_give_the_events_and_state_of_the_general_paths(sc: Scenario) -> None:
    fast, general = run(make(RuleEngine), sc), run(make(GeneralPaths), sc)
    assert len(fast) == len(general)
    for step, (got, expected) in enumerate(zip(fast, general, strict=True)):
        assert got == expected, f"step {step}"


@FAST
@given(scenarios())
def test_runs_and_reading_by_reading_ids_give_the_same_events(sc: Scenario) -> None:
    by_runs, by_ids = make(RuleEngine), make(RuleEngine)
    start = 0
    for k in sc.live_sizes:
        chunk = sc.arrivals[start:start + k]
        start += k
        scores = np.array([math.nan if r.score is None else r.score for r in chunk])
        ids = by_ids.evaluate_arrays([r.sensor_id for r in chunk], np.array([r.ts for r in chunk]),
                                     np.array([r.value for r in chunk]), scores, arrived_at=2000.0)
        assert repr(judge(by_runs, chunk, 2000.0)) == repr(ids)
    assert repr(state(by_runs)) == repr(state(by_ids))


def test_the_second_pass_over_an_open_alert_takes_no_python_step_and_a_missed_exceedance_still_counts() -> None:
    """The stored-lane pass over readings judged at accept time: late exceedances of an open alert that cover
    nothing new are not stepped one by one; one the live lane never saw (a worse one) still escalates."""
    e = make(CountingLateSteps)
    assert isinstance(e, CountingLateSteps)
    e.stepped = []
    live = [Reading("b", 100.0 + t, 2.0) for t in range(50)]
    assert [ev.kind.value for ev in judge(e, live, 200.0)] == ["opened"]
    assert judge(e, live, 201.0) == []
    assert e.stepped == []
    missed = [*live[:10], Reading("b", 110.5, 5.0), *live[10:]]
    assert [ev.kind.value for ev in judge(e, missed, 202.0)] == ["peak"]  # a new peak, persisted (track_peaks)
    assert e.stepped == [Reading("b", 110.5, 5.0)]
    assert e.open_alerts()[0].peak == Reading("b", 110.5, 5.0)
    assert e.late_readings == 50 + 51


def test_a_late_exceedance_after_an_in_order_reading_of_its_sensor_is_stepped() -> None:
    """In one batch, in-order readings resolve the alert and open a new one; the late exceedance after them falls
    in neither alert's time, so it widens the new one (what the alert open at the start of the batch covered does
    not matter)."""
    for cls in (RuleEngine, GeneralPaths):
        e = make(cls)
        judge(e, [Reading("b", 100.0, 2.0)], 100.0)
        judge(e, [Reading("b", 110.0, 0.1), Reading("b", 120.0, 2.0), Reading("b", 115.0, 2.0)], 120.0)
        (al,) = [al for al in e._open.values() if al.key == AlertKey("b", "limit")]
        assert al.since == 115.0, cls
