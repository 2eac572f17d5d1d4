"""``RuleEngine``: an in-memory state machine from readings to alert events.

Semantics (docs/detection.md has the long form):

* one open alert per ``AlertKey(sensor_id, rule_id)``; a reading that exceeds again while it is open
  never opens a second one;
* warning -> alarm on an open alert emits ``escalated``; alarm -> warning changes nothing (the alert
  keeps its highest severity until resolved);
* an alert resolves once its condition has been clear for ``rule.clear_after_s`` (threshold rules also
  need the value back past the lowest level by ``deadband``); ``tick(now)`` also resolves alerts whose
  sensor went quiet while clear, and opens ``silent`` alerts;
* readings of one sensor normally arrive in timestamp order (the bus is keyed by sensor); a reading no
  newer than one of its sensor already judged is *late* (a backfill overtaken by live data, a gateway
  emptying its buffer, a reading judged a second time). A late reading never resolves anything; a late
  exceedance joins the open alert of its rule (escalating it if worse), is ignored when an alert of its
  rule covered its time (``_closed``), and otherwise opens an alert marked ``late``. Rate-of-change and
  stuck rules judge only in-order readings (their windows need order). docs/alerts.md has the details;
* a sensor taken over from another replica (or a previous run) counts its newest stored reading as judged, and the
  alerts of it resolved lately as closed intervals (``adopt``): readings replayed from the bus after the previous
  owner was killed are late, and an exceedance of an alert already resolved does not open it again.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from ghgwatch.alerts.detectors.base import FloatArray
from ghgwatch.alerts.engine._lanes import Lane
from ghgwatch.alerts.engine._state import EngineState, _Open
from ghgwatch.alerts.engine.events import AlertEvent, AlertKey, EventKind, Reading
from ghgwatch.alerts.rules.model import (
    Direction,
    RateOfChangeRule,
    Rule,
    Severity,
    StuckRule,
)


class RuleEngine(EngineState):
    """Build from resolved rules (``resolve_rules``) of every sensor the pipeline will see.

    ``started_at``: if given, sensors that never report are ``silent`` from then on; otherwise only
    after their first reading. ``peak_report_interval_s`` rate-limits ``updated`` events per alert;
    ``track_peaks``: also emit a ``peak`` event for every new peak (for persistence; not announced).
    """

    HISTORY_PER_KEY = 1024  # closed alert intervals remembered per (sensor, rule) for late readings

    # ----------------------------------------------------------------- readings
    def evaluate(self, readings: Sequence[Reading]) -> list[AlertEvent]:
        """Evaluate a batch; returns events in reading order."""
        if not readings:
            return []
        ts = np.fromiter((r.ts for r in readings), np.float64, len(readings))
        vs = np.fromiter((r.value for r in readings), np.float64, len(readings))
        sc = np.fromiter(
            (math.nan if r.score is None else r.score for r in readings), np.float64, len(readings)
        )
        return self.evaluate_arrays([r.sensor_id for r in readings], ts, vs, sc)

    def evaluate_arrays(
        self,
        sensor_ids: Sequence[str],
        ts: FloatArray,
        values: FloatArray,
        scores: FloatArray | None = None,
        *,
        arrived_at: float | None = None,
    ) -> list[AlertEvent]:
        """Columnar form of ``evaluate`` (no per-reading objects unless something happens).

        ``scores``: anomaly scores, NaN where not scored. Unknown sensor ids are counted in
        ``unknown_readings`` and skipped: callers make sure the engine knows every sensor first
        (``unknown``; the alert service rebuilds it). ``arrived_at`` (wall clock): a sensor whose
        readings arrive is not silent even if they are old (a backfill or a device emptying its buffer).
        """
        get = self._ids.get
        idx = np.fromiter((get(s, -1) for s in sensor_ids), np.intp, len(sensor_ids))
        ts, values = np.asarray(ts, dtype=np.float64), np.asarray(values, dtype=np.float64)
        sc = np.full(idx.shape[0], math.nan) if scores is None else np.asarray(scores, dtype=np.float64)
        known = idx >= 0
        if not known.all():
            self.unknown_readings += int((~known).sum())
            pos_map = np.flatnonzero(known)
            idx, ts, values, sc = idx[known], ts[known], values[known], sc[known]
            sensor_ids = [sensor_ids[i] for i in pos_map.tolist()]
        if idx.shape[0] == 0:
            return []
        late = self._late(idx, ts)
        np.fmax.at(self._last_ts, idx, ts)
        np.fmax.at(self._last_seen, idx, ts if arrived_at is None else np.full(ts.shape[0], arrived_at))
        if late is None:
            self._last_value[idx] = values
        else:
            self.late_readings += int(late.sum())
            self._last_value[idx[~late]] = values[~late]
        work: list[tuple[int, int, float, int]] = []  # (position, lane number or -1, z, level)
        for n, lane in enumerate(self._lanes):
            zs = lane.z(values, sc, idx)
            lv = lane.levels(zs, idx)
            exceeding = lv > 0
            # Readings of a sensor whose alert opens inside this batch must be followed too.
            opening = np.zeros(lane.has_open.shape[0], dtype=np.bool_)
            opening[idx[exceeding]] = True
            hot = np.flatnonzero(exceeding | lane.has_open[idx] | opening[idx])
            work.extend(
                zip(hot.tolist(), [n] * hot.shape[0], zs[hot].tolist(), lv[hot].tolist(), strict=True)
            )
        py = np.flatnonzero(self._has_py[idx] | self._silent_open[idx])
        work.extend((p, -1, 0.0, 0) for p in py.tolist())
        if not work:
            return []
        work.sort(key=lambda w: (w[0], w[1]))
        events: list[AlertEvent] = []
        for p, n, z, level in work:
            s = int(idx[p])
            reading = Reading(
                sensor_ids[p], float(ts[p]), float(values[p]), None if math.isnan(sc[p]) else float(sc[p])
            )
            is_late = late is not None and bool(late[p])
            if n < 0:
                self._python_rules(s, reading, events, is_late)
                continue
            lane = self._lanes[n]
            rule = lane.rules[s]
            if rule is None or math.isnan(z):
                continue  # no rule in this lane for the sensor, or no score to judge by
            self._step(
                AlertKey(reading.sensor_id, rule.id),
                rule,
                level,
                z,
                bool(z <= lane.clear[s]),
                reading,
                reading.ts,
                lane,
                s,
                events,
                is_late,
            )
        return events

    def _late(self, idx: npt.NDArray[np.intp], ts: FloatArray) -> npt.NDArray[np.bool_] | None:
        """Which readings are no newer than a reading of their sensor judged before them (earlier in
        this batch or in an earlier one); ``None`` when none is (the common case, found vectorised)."""
        order = np.argsort(idx, kind="stable")
        io, to = idx[order], ts[order]
        first = np.ones(io.shape[0], dtype=np.bool_)
        first[1:] = io[1:] != io[:-1]
        heads = io[first]
        prev = np.empty_like(to)
        prev[first] = np.fmax(self._last_ts[heads], self._replayed[heads])  # a replay counts as judged (``adopt``)
        prev[1:][~first[1:]] = to[:-1][~first[1:]]
        in_order = (to > prev) | np.isnan(prev)
        if in_order.all():
            return None
        late = np.zeros(idx.shape[0], dtype=np.bool_)
        suspects = np.unique(io[~in_order])
        newest: dict[int, float] = {}
        for p in np.flatnonzero(np.isin(idx, suspects)).tolist():
            s, t = int(idx[p]), float(ts[p])
            m = newest.get(s, float(np.fmax(self._last_ts[s], self._replayed[s])))
            if t > m or math.isnan(m):
                newest[s] = t
            else:
                late[p] = True
        return late

    def _python_rules(self, s: int, reading: Reading, events: list[AlertEvent], late: bool = False) -> None:
        if self._silent_open[s]:
            key = AlertKey(reading.sensor_id, self._silent[s].id)
            self._close(self._open[key], reading.ts, reading, "reading received", events)
        if late:
            return  # rate and stuck windows need readings in order
        for rule in self._py_rules.get(s, ()):
            if isinstance(rule, StuckRule):
                st = self._stuck.setdefault((s, rule.id), [math.nan, reading.ts])
                if not abs(reading.value - st[0]) <= rule.epsilon:
                    st[1] = reading.ts
                st[0] = reading.value
                z = reading.ts - st[1]
                level = int(rule.severity) if z >= rule.duration_s else 0
            else:
                z = self._rate(s, rule, reading)
                level = (
                    2
                    if rule.alarm_per_min is not None and z > rule.alarm_per_min
                    else (1 if rule.warning_per_min is not None and z > rule.warning_per_min else 0)
                )
            self._step(
                AlertKey(reading.sensor_id, rule.id),
                rule,
                level,
                z,
                level == 0,
                reading,
                reading.ts,
                None,
                s,
                events,
            )

    def _rate(self, s: int, rule: RateOfChangeRule, reading: Reading) -> float:
        """Change per minute from the oldest reading in the window; 0 until the window is half
        covered, so two readings seconds apart cannot fake a steep rate."""
        hist = self._hist.setdefault((s, rule.id), deque())
        hist.append((reading.ts, reading.value))
        while hist[0][0] < reading.ts - rule.window_s:
            hist.popleft()
        t0, v0 = hist[0]
        if reading.ts - t0 < 0.5 * rule.window_s:
            return 0.0
        rate = (reading.value - v0) / ((reading.ts - t0) / 60.0)
        return -rate if rule.direction is Direction.BELOW else rate

    # ------------------------------------------------------------ state machine
    def _step(
        self,
        key: AlertKey,
        rule: Rule,
        level: int,
        z: float,
        clear: bool,
        reading: Reading,
        at: float,
        lane: Lane | None,
        s: int,
        events: list[AlertEvent],
        late: bool = False,
    ) -> None:
        al = self._open.get(key)
        if late:
            self._step_late(al, key, rule, level, z, reading, lane, s, events)
            return
        if al is None:
            # An in-order reading is newer than every interval the engine closed itself; only one loaded by ``adopt``
            # can cover it: a replayed reading the previous run judged but had not stored when it died.
            if level > 0 and not (key in self._closed and self.covered(key, reading.ts, level)):
                al = self._open[key] = _Open(key, rule, Severity(level), reading, z, at, lane, s)
                if lane is not None:
                    lane.has_open[s] = True
                events.append(AlertEvent(EventKind.OPENED, al.snapshot(), at, reading))
            return
        if level > al.severity:
            al.severity, al.clear_since = Severity(level), None
            if z > al.peak_z:
                al.peak, al.peak_z = reading, z
            al.last_report = at
            events.append(AlertEvent(EventKind.ESCALATED, al.snapshot(), at, reading))
        elif level > 0 or not clear:
            al.clear_since = None
            if z > al.peak_z:
                self._new_peak(al, reading, z, at, events)
        else:
            if al.clear_since is None:
                al.clear_since = at
            if at - al.clear_since >= rule.clear_after_s:
                self._close(al, at, reading, "condition clear", events)

    def _new_peak(self, al: _Open, reading: Reading, z: float, at: float, events: list[AlertEvent]) -> None:
        al.peak, al.peak_z = reading, z
        if at - al.last_report >= self.peak_report_interval_s:
            al.last_report = at
            events.append(AlertEvent(EventKind.UPDATED, al.snapshot(), at, reading))
        elif self.track_peaks:
            events.append(AlertEvent(EventKind.PEAK, al.snapshot(), at, reading))

    def _step_late(
        self,
        al: _Open | None,
        key: AlertKey,
        rule: Rule,
        level: int,
        z: float,
        reading: Reading,
        lane: Lane | None,
        s: int,
        events: list[AlertEvent],
    ) -> None:
        """A late reading: see the module docstring. It never clears anything."""
        if level <= 0 or self.covered(key, reading.ts, level):
            return
        if al is not None:
            al.since = min(al.since, reading.ts)
            if level > al.severity:
                al.severity = Severity(level)
                if z > al.peak_z:
                    al.peak, al.peak_z = reading, z
                events.append(AlertEvent(EventKind.ESCALATED, al.snapshot(), reading.ts, reading))
            elif z > al.peak_z:
                al.peak, al.peak_z = reading, z
                if self.track_peaks:
                    events.append(AlertEvent(EventKind.PEAK, al.snapshot(), reading.ts, reading))
            return
        al = self._open[key] = _Open(key, rule, Severity(level), reading, z, reading.ts, lane, s)
        al.late = True
        if lane is not None:
            lane.has_open[s] = True
        events.append(AlertEvent(EventKind.OPENED, al.snapshot(), reading.ts, reading,
                                 "late reading: older than one already judged"))

