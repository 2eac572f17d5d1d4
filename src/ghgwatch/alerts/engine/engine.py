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
from typing import Any

import numpy as np
import numpy.typing as npt

from ghgwatch.alerts.detectors.base import FloatArray
from ghgwatch.alerts.engine._lanes import Lane
from ghgwatch.alerts.engine._late import late_readings, run_starts
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
        ``evaluate_rows`` is the same for readings grouped by sensor, without a look-up per reading.
        """
        get = self._ids.get
        idx = np.fromiter((get(s, -1) for s in sensor_ids), np.intp, len(sensor_ids))
        return self._evaluate(idx, ts, values, scores, arrived_at)

    def evaluate_rows(
        self,
        sensor_ids: Sequence[str],
        counts: Sequence[int] | npt.NDArray[np.integer[Any]],
        ts: FloatArray,
        values: FloatArray,
        scores: FloatArray | None = None,
        *,
        arrived_at: float | None = None,
    ) -> list[AlertEvent]:
        """``evaluate_arrays`` for readings in runs, as the pipeline has them (one run per ``SensorRows``): run
        ``k`` is ``counts[k]`` consecutive readings of ``sensor_ids[k]`` in ``ts``, ``values`` and ``scores``.
        The sensor is looked up once per run; everything per reading is numpy, and Python runs only for readings
        that exceed a level, or whose sensor has an open alert or a rate-of-change or stuck rule."""
        get = self._ids.get
        runs = np.fromiter((get(s, -1) for s in sensor_ids), np.intp, len(sensor_ids))
        counts = np.asarray(counts, dtype=np.intp)
        if counts.shape != runs.shape or int(counts.sum()) != np.shape(ts)[0]:
            raise ValueError(f"{len(runs)} runs of {int(counts.sum())} readings given for {np.shape(ts)[0]} times")
        return self._evaluate(np.repeat(runs, counts), ts, values, scores, arrived_at)

    def _evaluate(
        self,
        idx: npt.NDArray[np.intp],
        ts: FloatArray,
        values: FloatArray,
        scores: FloatArray | None,
        arrived_at: float | None,
    ) -> list[AlertEvent]:
        ts, values = np.asarray(ts, dtype=np.float64), np.asarray(values, dtype=np.float64)
        sc = np.full(idx.shape[0], math.nan) if scores is None else np.asarray(scores, dtype=np.float64)
        known = idx >= 0
        if not known.all():
            self.unknown_readings += int((~known).sum())
            idx, ts, values, sc = idx[known], ts[known], values[known], sc[known]
        if idx.shape[0] == 0:
            return []
        starts = run_starts(idx)
        late = self._late(idx, ts, starts)
        run_sensors, run_newest = idx[starts], np.fmax.reduceat(ts, starts)
        np.fmax.at(self._last_ts, run_sensors, run_newest)
        if arrived_at is None:
            np.fmax.at(self._last_seen, run_sensors, run_newest)
        else:
            self._last_seen[run_sensors] = np.fmax(self._last_seen[run_sensors], arrived_at)
        fresh: npt.NDArray[np.bool_] | None = None  # the readings not late, when some are
        if late is None:
            self._last_value[idx] = values
        else:
            fresh = ~late
            self.late_readings += int(late.sum())
            self._last_value[idx[fresh]] = values[fresh]
        work: list[tuple[int, int, float, int]] = []  # (position, lane number or -1, z, level)
        for n, lane in enumerate(self._lanes):
            zs = lane.z(values, sc, idx)
            lv = lane.levels(zs, idx)
            exceeding = lv > 0
            if exceeding.any():
                # Readings of a sensor whose alert opens inside this batch must be followed too.
                opening = np.zeros(lane.has_open.shape[0], dtype=np.bool_)
                opening[idx[exceeding]] = True
                follow = lane.has_open[idx] | opening[idx]
            elif lane.has_open.any():
                follow = lane.has_open[idx]
            else:
                continue  # nothing exceeds, nothing is open: nothing to step in this lane
            if fresh is not None:
                follow &= fresh  # a late reading within the levels changes nothing (``_step_late``)
                exceeding &= ~self._late_no_change(lane, idx, ts, zs, lv, exceeding & ~fresh, fresh)
            hot = np.flatnonzero(exceeding | follow)
            work.extend(
                zip(hot.tolist(), [n] * hot.shape[0], zs[hot].tolist(), lv[hot].tolist(), strict=True)
            )
        if self._py_rules or self._silent_open.any():
            py_rules = self._has_py[idx] if fresh is None else self._has_py[idx] & fresh  # windows need order
            py = np.flatnonzero(py_rules | self._silent_open[idx])
            work.extend((p, -1, 0.0, 0) for p in py.tolist())
        if not work:
            return []
        work.sort(key=lambda w: (w[0], w[1]))
        events: list[AlertEvent] = []
        names = self._names
        for p, n, z, level in work:
            s = int(idx[p])
            reading = Reading(
                names[s], float(ts[p]), float(values[p]), None if math.isnan(sc[p]) else float(sc[p])
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

    def _late(
        self, idx: npt.NDArray[np.intp], ts: FloatArray, starts: npt.NDArray[np.intp]
    ) -> npt.NDArray[np.bool_] | None:
        """Which readings are no newer than a reading of their sensor judged before them (earlier in this batch or
        in an earlier one; a replay counts as judged, see ``adopt``); ``None`` when none is (the common case)."""
        run_sensors = idx[starts]
        return late_readings(idx, ts, starts, np.fmax(self._last_ts[run_sensors], self._replayed[run_sensors]))

    def _late_no_change(
        self,
        lane: Lane,
        idx: npt.NDArray[np.intp],
        ts: FloatArray,
        zs: FloatArray,
        lv: npt.NDArray[np.int8],
        late_exceeding: npt.NDArray[np.bool_],
        fresh: npt.NDArray[np.bool_],
    ) -> npt.NDArray[np.bool_]:
        """The late exceedances that ``_step_late`` would leave as they are: their sensor has an open alert in the lane
        that already covers their time, severity and exceedance (a reading judged at accept time and again once
        stored, a replay). Only for sensors without an in-order reading in the batch: late readings never close an
        alert and only widen one (``since`` down, severity and peak up), so what changes nothing at the start of the
        batch changes nothing when its turn comes. The open alerts are looked up once per sensor."""
        out = np.zeros(idx.shape[0], dtype=np.bool_)
        in_order = np.zeros(lane.has_open.shape[0], dtype=np.bool_)
        in_order[idx[fresh]] = True
        pos = np.flatnonzero(late_exceeding & lane.has_open[idx] & ~in_order[idx])
        if pos.shape[0] == 0:
            return out
        sensors, which = np.unique(idx[pos], return_inverse=True)
        since = np.full(sensors.shape[0], math.inf)  # no alert: nothing is covered
        severity = np.zeros(sensors.shape[0])
        peak = np.full(sensors.shape[0], -math.inf)
        for j, s in enumerate(sensors.tolist()):
            rule = lane.rules[s]
            al = None if rule is None else self._open.get(AlertKey(self._names[s], rule.id))
            if al is not None and al.lane is lane:
                since[j], severity[j], peak[j] = al.since, int(al.severity), al.peak_z
        which = which.reshape(-1)
        out[pos[(since[which] <= ts[pos]) & (lv[pos] <= severity[which]) & (zs[pos] <= peak[which])]] = True
        return out

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

