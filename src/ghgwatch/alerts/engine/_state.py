"""The state of a ``RuleEngine`` and what happens to it outside judging readings: the clock (silent sensors,
auto-resolve), restart (``restore``), rebuilds (``carry_state``, ``carry_open``), alerts resolved by hand
(``forget``), and the hand-over of sensors between pipeline replicas (``own``, ``release``, ``adopt``).

Judging readings is in ``engine.py`` (``RuleEngine`` extends ``EngineState``).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Mapping

import numpy as np

from ghgwatch.alerts.engine._lanes import Lane, build_lanes, threshold_in_force
from ghgwatch.alerts.engine.events import AlertEvent, AlertKey, EventKind, OpenAlert, Reading, RuleRef
from ghgwatch.alerts.rules.model import (
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


class EngineState:
    """Per-sensor arrays (index ``s`` = position in the rules given), open alerts, closed alert intervals."""

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
        self._replayed = np.full(n, math.nan)
        """The newest stored reading time of a sensor taken over (``adopt``): its readings at or before it were
        stored, and may have been judged, by the previous owner; they are judged as late (a replay)."""
        self._last_value = np.full(n, math.nan)
        self._hist: dict[tuple[int, str], deque[tuple[float, float]]] = {}
        self._stuck: dict[tuple[int, str], list[float]] = {}  # [last value, run start ts]
        self._open: dict[AlertKey, _Open] = {}
        self.peak_report_interval_s = peak_report_interval_s
        self.track_peaks = track_peaks
        self._closed: dict[AlertKey, deque[tuple[float, float, int]]] = {}
        self.unknown_readings = 0
        self.late_readings = 0
        self._owned = np.ones(n, dtype=np.bool_)
        """Sensors whose readings this engine receives (cluster mode: their bus partition is this replica's): only
        those are judged on the clock (silent, auto-resolve). See ``own``."""

    # ----------------------------------------------------------------- sensors
    def unknown(self, sensor_ids: Iterable[str]) -> set[str]:
        """The ids among ``sensor_ids`` that this engine has no rules entry for."""
        return {s for s in sensor_ids if s not in self._ids}

    def sensor_ids(self) -> list[str]:
        return list(self._names)

    def last_ts(self, sensor_id: str) -> float:
        """The newest reading time judged for the sensor (NaN: none yet, or unknown sensor)."""
        s = self._ids.get(sensor_id)
        return math.nan if s is None else float(self._last_ts[s])

    def carry_state(self, old: EngineState) -> None:
        """Take over what ``old`` learned from readings (last times and values, rate windows, stuck runs,
        closed alert intervals), sensor by sensor, so that rebuilding the engine on a registry or rule
        change forgets nothing. Open alerts are carried separately (``restore``)."""
        for name, s_old in old._ids.items():
            s = self._ids.get(name)
            if s is None:
                continue
            self._last_ts[s] = old._last_ts[s_old]
            self._last_seen[s] = old._last_seen[s_old]
            self._replayed[s] = old._replayed[s_old]
            self._last_value[s] = old._last_value[s_old]
            self._owned[s] = old._owned[s_old]
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

    def carry_open(self, old: EngineState) -> None:
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

    # ----------------------------------------------------------------- closed alerts
    def covered(self, key: AlertKey, ts: float, level: int = 1) -> bool:
        """Whether an alert of ``key``, closed since, was open at reading time ``ts`` and reached ``level``."""
        return any(a <= ts <= b and sev >= level for a, b, sev in self._closed.get(key, ()))

    def _remember(self, al: _Open, end: float) -> None:
        end = end if not math.isnan(end) else al.since
        hist = self._closed.setdefault(al.key, deque(maxlen=self.HISTORY_PER_KEY))
        hist.append((min(al.since, end), max(al.since, end), int(al.severity)))

    def _remember_gone(self, oa: OpenAlert, end: float) -> None:
        times = [t for t in (oa.opened_by.ts, oa.peak.ts, end) if not math.isnan(t)]
        if not times:
            return  # a silent alert of a sensor never heard from: no reading time to cover
        hist = self._closed.setdefault(oa.key, deque(maxlen=self.HISTORY_PER_KEY))
        hist.append((min(times), max(times), int(oa.severity)))

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
            overdue = np.flatnonzero((now - self._last_seen > self._silent_limit) & ~self._silent_open & self._owned)
        for s in overdue.tolist():
            rule = self._silent[s]
            last = Reading(self._names[s], float(self._last_ts[s]), float(self._last_value[s]))
            quiet = now - (last.ts if not math.isnan(last.ts) else float(self._last_seen[s]))  # adopted: see ``adopt``
            al = _Open(AlertKey(self._names[s], rule.id), rule, rule.severity, last, quiet, now, None, s)
            self._open[al.key] = al
            self._silent_open[s] = True
            reason = f"no reading for {quiet:.0f} s (limit {self._silent_limit[s]:.0f} s)"
            events.append(AlertEvent(EventKind.OPENED, al.snapshot(), now, None, reason))
        for al in list(self._open.values()):
            if not self._owned[al.s]:
                continue  # its readings go to another replica now, or may come back here (``own``)
            if al.late and al.clear_since is None and al.lane is not None:
                # A late alert whose sensor's newest judged reading is already clear: clear from that reading
                # on, instead of waiting for the next one, which may not come soon (a late reading never clears).
                newest = float(self._last_value[al.s])
                if not math.isnan(newest) and self._z_of(al.lane, al.s, newest) <= al.lane.clear[al.s]:
                    al.clear_since = float(self._last_ts[al.s])
            if al.clear_since is not None and now - al.clear_since >= al.rule.clear_after_s:
                self._close(al, now, None, "condition clear", events)
        return events

    def in_force(self, key: AlertKey) -> bool:
        """Whether this engine has the rule of ``key`` for its sensor (``restore`` continues such an alert)."""
        s = self._ids.get(key.sensor_id)
        return s is not None and (s, key.rule_id) in self._rule_at

    def restore(self, open_alerts: Iterable[OpenAlert], now: float | None = None, *,
                judged_until: Callable[[str], float] | None = None) -> list[AlertEvent]:
        """Load the open alerts persisted before a restart (or held by the engine this one replaces), so they are
        continued, not duplicated.

        Alerts whose sensor or rule is no longer configured (``in_force``) are returned as ``resolved`` events
        (reason "rule no longer in force"); the caller should persist those, and call this only with rules read
        fresh from the registry when it does (alerts/service.py: a snapshot read a moment earlier may lack a sensor
        registered since). Such an alert is remembered as a closed interval, up to ``judged_until(sensor)`` (the
        newest reading time the replaced engine judged of the sensor) or else ``now``: should the rule come back,
        a reading it covered, judged again (stored late), opens no second alert.
        """
        events: list[AlertEvent] = []
        for oa in open_alerts:
            s = self._ids.get(oa.key.sensor_id)
            found = None if s is None else self._rule_at.get((s, oa.key.rule_id))
            if s is None or found is None:
                at = oa.peak.ts if now is None else now
                end = math.nan if judged_until is None else judged_until(oa.key.sensor_id)
                self._remember_gone(oa, at if math.isnan(end) else end)
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

    # ------------------------------------------------------------ hand-over between replicas
    def own(self, owns: Callable[[str], bool]) -> None:
        """Which sensors this engine judges on the clock: those whose readings it receives. A sensor not owned (its
        bus partition was revoked) is neither judged silent nor resolved on the clock, but keeps what the engine
        learned in case it comes back (an eager rebalance revokes every partition before assigning them again)."""
        self._owned = np.fromiter((owns(name) for name in self._names), np.bool_, len(self._names))

    def release(self, sensor_ids: Iterable[str]) -> list[AlertKey]:
        """Forget the sensors another replica owns now: their open alerts (kept in the database, where the new owner
        loads them: nothing is resolved), what was learned from their readings, their closed alert intervals.
        Returns the keys of the open alerts dropped."""
        dropped: list[AlertKey] = []
        for name in sensor_ids:
            s = self._ids.get(name)
            if s is None:
                continue
            for key in [k for k in self._open if k.sensor_id == name]:
                al = self._open.pop(key)
                if al.lane is not None:
                    al.lane.has_open[s] = False
                dropped.append(key)
            self._silent_open[s] = False
            self._owned[s] = False
            self._last_ts[s] = self._last_seen[s] = self._last_value[s] = self._replayed[s] = math.nan
            for table in (self._hist, self._stuck):
                for k in [k for k in table if k[0] == s]:
                    del table[k]
            for key in [key for key in self._closed if key.sensor_id == name]:
                del self._closed[key]
        return dropped

    def adopt(self, last_seen: Mapping[str, float], now: float,
              closed: Iterable[tuple[AlertKey, float, float, int]] = (), *, silence: bool = True) -> None:
        """What the engine learns from the database about sensors taken over from another replica (or from a previous
        run of this process): ``last_seen`` is the time of each sensor's newest stored reading; ``closed`` the alerts
        of those sensors resolved lately, as (key, oldest reading time covered, reading time it resolved at,
        severity).

        Silence: the previous owner judged it by arrival, which the database does not keep; so a newest reading within
        the sensor's silent limit counts from its time, and an older one (a backfill, a device emptying its buffer, or
        a sensor that stopped) from ``now``: such a sensor is silent one limit after the hand-over unless a reading
        arrives (a silent alert the previous owner opened is loaded with the open alerts). Sensors with a time of
        their own (seen here already) keep it. ``silence=False`` (a restart of the embedded platform): silence is judged
        from the next reading, as before the restart.

        Replay: readings the previous owner stored but whose bus offsets it never committed (it was killed) come
        again. A sensor that this engine has judged nothing of yet takes its newest stored reading time as the newest
        judged one: readings at or before it are late, and the closed intervals make a replayed exceedance of an
        alert already resolved change nothing instead of opening it again (docs/alerts.md)."""
        for name, ts in last_seen.items():
            s = self._ids.get(name)
            if s is None or not self._owned[s]:
                continue
            if math.isnan(self._last_ts[s]) and not ts <= self._replayed[s]:
                self._replayed[s] = ts
            if not silence or not math.isnan(self._last_seen[s]):
                continue
            self._last_seen[s] = ts if now - ts <= self._silent_limit[s] else now
        for key, start, end, severity in closed:
            s = self._ids.get(key.sensor_id)
            if s is None or not self._owned[s] or not math.isnan(self._last_ts[s]):
                continue  # not this engine's, or judged here already: the engine remembers its own intervals
            hist = self._closed.setdefault(key, deque(maxlen=self.HISTORY_PER_KEY))
            interval = (min(start, end), max(start, end), int(severity))
            if interval not in hist:
                hist.append(interval)
