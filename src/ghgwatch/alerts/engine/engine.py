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
  stuck rules judge only in-order readings (their windows need order). docs/alerts.md has the details.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

from ghgwatch.alerts.detectors.base import FloatArray
from ghgwatch.alerts.engine._lanes import Lane, build_lanes, threshold_in_force
from ghgwatch.alerts.engine.events import AlertEvent, AlertKey, EventKind, OpenAlert, Reading, RuleRef
from ghgwatch.alerts.rules.model import (
    Direction,
    RateOfChangeRule,
    Rule,
    RuleKind,
    Severity,
    SilentRule,
    StuckRule,
)
from ghgwatch.alerts.rules.resolve import EffectiveRules


class _Open:
    __slots__ = (
        "clear_since",
        "key",
        "lane",
        "last_report",
        "late",
        "opened_at",
        "opened_by",
        "peak",
        "peak_z",
        "rule",
        "s",
        "severity",
        "since",
    )

    def __init__(
        self,
        key: AlertKey,
        rule: Rule,
        severity: Severity,
        reading: Reading,
        z: float,
        at: float,
        lane: Lane | None,
        s: int,
    ) -> None:
        self.key, self.rule, self.severity, self.lane, self.s = key, rule, severity, lane, s
        self.opened_by = self.peak = reading
        self.peak_z, self.opened_at, self.last_report = z, at, at
        self.clear_since: float | None = None
        self.late = False
        self.since = reading.ts  # the oldest reading time this alert covers (late readings may lower it)

    def snapshot(self) -> OpenAlert:
        ref = RuleRef(
            self.rule.id,
            self.rule.kind,
            _in_force(self.rule, self.severity, self.peak_z),
            self.rule.unit,
            self.rule.source,
        )
        return OpenAlert(self.key, self.severity, ref, self.opened_by, self.peak, self.opened_at, self.late)


def _in_force(rule: Rule, severity: Severity, z: float) -> float | None:
    if isinstance(rule, RateOfChangeRule):
        return rule.alarm_per_min if severity is Severity.ALARM else rule.warning_per_min
    if isinstance(rule, StuckRule):
        return rule.duration_s
    if isinstance(rule, SilentRule):
        return None  # the limit in seconds depends on the sensor; see the event reason
    return threshold_in_force(rule, severity, z)


class RuleEngine:
    """Build from resolved rules (``resolve_rules``) of every sensor the pipeline will see.

    ``started_at``: if given, sensors that never report are ``silent`` from then on; otherwise only
    after their first reading. ``peak_report_interval_s`` rate-limits ``updated`` events per alert;
    ``track_peaks``: also emit a ``peak`` event for every new peak (for persistence; not announced).
    """

    HISTORY_PER_KEY = 1024  # closed alert intervals remembered per (sensor, rule) for late readings

    def __init__(
        self,
        sensors: Iterable[EffectiveRules],
        *,
        started_at: float | None = None,
        peak_report_interval_s: float = 60.0,
        track_peaks: bool = False,
    ) -> None:
        eff = list(sensors)
        self._ids = {e.sensor.id: i for i, e in enumerate(eff)}
        self._names = [e.sensor.id for e in eff]
        n = len(eff)
        self._lanes = build_lanes([e.rules for e in eff])
        self._py_rules: dict[int, list[RateOfChangeRule | StuckRule]] = {}
        self._rule_at: dict[tuple[int, str], tuple[Rule, Lane | None]] = {}
        self._silent: dict[int, SilentRule] = {}
        self._silent_limit = np.full(n, math.inf)
        for s, e in enumerate(eff):
            for rule in e.rules:
                lane = next((ln for ln in self._lanes if ln.rules[s] is rule), None)
                self._rule_at[(s, rule.id)] = (rule, lane)
                if isinstance(rule, RateOfChangeRule | StuckRule):
                    self._py_rules.setdefault(s, []).append(rule)
                elif isinstance(rule, SilentRule) and e.sensor.expected_interval_s:
                    self._silent[s] = rule
                    self._silent_limit[s] = rule.factor * e.sensor.expected_interval_s
        self._has_py = np.zeros(n, dtype=np.bool_)
        self._has_py[list(self._py_rules)] = True
        self._silent_open = np.zeros(n, dtype=np.bool_)
        self._last_ts = np.full(n, math.nan if started_at is None else float(started_at))
        self._last_seen = self._last_ts.copy()  # what ``silent`` judges by (see ``arrived_at``)
        self._last_value = np.full(n, math.nan)
        self._hist: dict[tuple[int, str], deque[tuple[float, float]]] = {}
        self._stuck: dict[tuple[int, str], list[float]] = {}  # [last value, run start ts]
        self._open: dict[AlertKey, _Open] = {}
        self.peak_report_interval_s = peak_report_interval_s
        self.track_peaks = track_peaks
        self._closed: dict[AlertKey, deque[tuple[float, float, int]]] = {}
        self.unknown_readings = 0
        self.late_readings = 0

    # ----------------------------------------------------------------- sensors
    def unknown(self, sensor_ids: Iterable[str]) -> set[str]:
        """The ids among ``sensor_ids`` that this engine has no rules entry for."""
        return {s for s in sensor_ids if s not in self._ids}

    def last_ts(self, sensor_id: str) -> float:
        """The newest reading time judged for the sensor (NaN: none yet, or unknown sensor)."""
        s = self._ids.get(sensor_id)
        return math.nan if s is None else float(self._last_ts[s])

    def carry_state(self, old: RuleEngine) -> None:
        """Take over what ``old`` learned from readings (last times and values, rate windows, stuck runs,
        closed alert intervals), sensor by sensor, so that rebuilding the engine on a registry or rule
        change forgets nothing. Open alerts are carried separately (``restore``)."""
        for name, s_old in old._ids.items():
            s = self._ids.get(name)
            if s is None:
                continue
            self._last_ts[s] = old._last_ts[s_old]
            self._last_seen[s] = old._last_seen[s_old]
            self._last_value[s] = old._last_value[s_old]
        for (s_old, rule_id), hist in old._hist.items():
            s = self._ids.get(old._names[s_old])
            if s is not None:
                self._hist[(s, rule_id)] = hist
        for (s_old, rule_id), run in old._stuck.items():
            s = self._ids.get(old._names[s_old])
            if s is not None:
                self._stuck[(s, rule_id)] = run
        self._closed = old._closed
        self.unknown_readings, self.late_readings = old.unknown_readings, old.late_readings

    def carry_open(self, old: RuleEngine) -> None:
        """After ``restore`` of ``old``'s open alerts: keep what ``restore`` cannot know from a snapshot (since
        when each alert has been clear, the oldest reading time it covers, when its peak was last announced).
        Without this an alert whose clearing reading was judged just before a rebuild stayed open until its
        sensor's next in-order reading (a late reading never clears)."""
        for key, al in self._open.items():
            prev = old._open.get(key)
            if prev is None or prev.rule.id != al.rule.id:
                continue
            al.clear_since, al.since, al.last_report = prev.clear_since, prev.since, prev.last_report
            if prev.rule == al.rule:
                al.peak_z = prev.peak_z  # the same rule: the same measure of exceedance

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
        prev = np.empty_like(to)
        prev[first] = self._last_ts[io[first]]
        prev[1:][~first[1:]] = to[:-1][~first[1:]]
        in_order = (to > prev) | np.isnan(prev)
        if in_order.all():
            return None
        late = np.zeros(idx.shape[0], dtype=np.bool_)
        suspects = np.unique(io[~in_order])
        newest: dict[int, float] = {}
        for p in np.flatnonzero(np.isin(idx, suspects)).tolist():
            s, t = int(idx[p]), float(ts[p])
            m = newest.get(s, float(self._last_ts[s]))
            if t > m or math.isnan(m):
                newest[s] = t
            else:
                late[p] = True
        return late

    def covered(self, key: AlertKey, ts: float, level: int = 1) -> bool:
        """Whether an alert of ``key``, closed since, was open at reading time ``ts`` and reached ``level``."""
        return any(a <= ts <= b and sev >= level for a, b, sev in self._closed.get(key, ()))

    def _remember(self, al: _Open, end: float) -> None:
        end = end if not math.isnan(end) else al.since
        hist = self._closed.setdefault(al.key, deque(maxlen=self.HISTORY_PER_KEY))
        hist.append((min(al.since, end), max(al.since, end), int(al.severity)))

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
            if level > 0:
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

    def _close(
        self, al: _Open, at: float, reading: Reading | None, reason: str, events: list[AlertEvent]
    ) -> None:
        self._remember(al, reading.ts if reading is not None else float(self._last_ts[al.s]))
        del self._open[al.key]
        if al.lane is not None:
            al.lane.has_open[al.s] = False
        if isinstance(al.rule, SilentRule):
            self._silent_open[al.s] = False
        events.append(AlertEvent(EventKind.RESOLVED, al.snapshot(), at, reading, reason))

    # ------------------------------------------------------------ time, restart
    def tick(self, now: float) -> list[AlertEvent]:
        """Open ``silent`` alerts for overdue sensors and resolve alerts clear for long enough.

        Call it every few seconds (or once per batch with the batch's wall-clock time).
        """
        events: list[AlertEvent] = []
        with np.errstate(invalid="ignore"):
            overdue = np.flatnonzero((now - self._last_seen > self._silent_limit) & ~self._silent_open)
        for s in overdue.tolist():
            rule = self._silent[s]
            last = Reading(self._names[s], float(self._last_ts[s]), float(self._last_value[s]))
            al = _Open(
                AlertKey(self._names[s], rule.id), rule, rule.severity, last, now - last.ts, now, None, s
            )
            self._open[al.key] = al
            self._silent_open[s] = True
            reason = f"no reading for {now - last.ts:.0f} s (limit {self._silent_limit[s]:.0f} s)"
            events.append(AlertEvent(EventKind.OPENED, al.snapshot(), now, None, reason))
        for al in list(self._open.values()):
            if al.late and al.clear_since is None and al.lane is not None:
                # A late alert whose sensor's newest judged reading is already clear: clear from that reading
                # on, instead of waiting for the next one, which may not come soon (a late reading never clears).
                newest = float(self._last_value[al.s])
                if not math.isnan(newest) and self._z_of(al.lane, al.s, newest) <= al.lane.clear[al.s]:
                    al.clear_since = float(self._last_ts[al.s])
            if al.clear_since is not None and now - al.clear_since >= al.rule.clear_after_s:
                self._close(al, now, None, "condition clear", events)
        return events

    def restore(self, open_alerts: Iterable[OpenAlert], now: float | None = None) -> list[AlertEvent]:
        """Load the open alerts persisted before a restart, so they are continued, not duplicated.

        Alerts whose sensor or rule is no longer configured are returned as ``resolved`` events
        (reason "rule no longer in force"); the caller should persist those.
        """
        events: list[AlertEvent] = []
        for oa in open_alerts:
            s = self._ids.get(oa.key.sensor_id)
            found = None if s is None else self._rule_at.get((s, oa.key.rule_id))
            if s is None or found is None:
                at = oa.peak.ts if now is None else now
                events.append(AlertEvent(EventKind.RESOLVED, oa, at, None, "rule no longer in force"))
                continue
            rule, lane = found
            al = _Open(oa.key, rule, oa.severity, oa.opened_by, math.inf, oa.opened_at, lane, s)
            al.peak, al.peak_z = oa.peak, self._z_of(lane, s, oa.peak.value)
            al.late = oa.late
            self._open[oa.key] = al
            if lane is not None:
                lane.has_open[s] = True
            if isinstance(rule, SilentRule):
                self._silent_open[s] = True
            elif isinstance(rule, StuckRule):
                # Still stuck on the same value: keep counting from (at least) the opening.
                self._stuck[(s, rule.id)] = [oa.peak.value, oa.opened_by.ts - rule.duration_s]
        return events

    @staticmethod
    def _z_of(lane: Lane | None, s: int, value: float) -> float:
        """The exceedance of a stored peak value, so that only a worse reading replaces it after a restart
        (anomaly scores are not stored: there the next exceeding reading re-establishes the peak)."""
        if lane is None or lane.kind is RuleKind.ANOMALY or math.isnan(value):
            return -math.inf
        nan = np.full(1, math.nan)
        return float(lane.z(np.full(1, value), nan, np.full(1, s, dtype=np.intp))[0])

    def forget(self, key: AlertKey) -> bool:
        """Drop an alert resolved manually; if its condition persists, the next reading reopens it."""
        al = self._open.pop(key, None)
        if al is None:
            return False
        self._remember(al, float(self._last_ts[al.s]))
        if al.lane is not None:
            al.lane.has_open[al.s] = False
        if isinstance(al.rule, SilentRule):
            self._silent_open[al.s] = False
            self._last_seen[al.s] = math.nan  # silent again only after the next reading
        return True

    def open_alerts(self) -> list[OpenAlert]:
        return [al.snapshot() for al in self._open.values()]
