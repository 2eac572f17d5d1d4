"""Local alarms: the platform's rule engine run at the site on every reading the gateway takes.

A consumer of the gateway's raw readings validates them as the pipeline does (units, ranges, timestamps),
feeds the :class:`~ghgwatch.alerts.engine.RuleEngine` built from the rules in the configuration (threshold,
rate of change, stuck, silent and anomaly rules, the same as on the platform), and writes every event to the
durable topic ``edge.alarms.v1`` before it commits, so a site keeps its alarms whether or not the link is up.
Events are also logged (WARNING) and streamed to the gateway's own API (SSE). At start-up the topic is read back
to continue the alarms still open instead of raising them again.

Event ids are deterministic (sensor, rule, kind, time), so a reading evaluated twice after a crash gives an event
the platform recognises as a duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec
import numpy as np

from ghgwatch.alerts.detectors import StreamingDetector, make_detector
from ghgwatch.alerts.engine import AlertEvent, AlertKey, OpenAlert, Reading, RuleEngine, RuleRef
from ghgwatch.alerts.hub import AlertHub
from ghgwatch.alerts.rule_codec import SEVERITY_NAMES, severity_name
from ghgwatch.alerts.rules.model import AnomalyRule, RuleKind
from ghgwatch.bus import Bus, Message, Record, topics
from ghgwatch.edge.gateway._supervise import supervise
from ghgwatch.edge.gateway.state import EdgeState
from ghgwatch.ingest.wire import decode
from ghgwatch.kit.aio import cancel_and_wait
from ghgwatch.pipeline.validate import check_many

log = logging.getLogger(__name__)
ALARMS_TOPIC = "edge.alarms.v1"
GROUP = "edge-alarms"


def _iso(seconds: float | None) -> str | None:
    if seconds is None or math.isnan(seconds):
        return None
    return datetime.fromtimestamp(seconds, UTC).isoformat()


def _num(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else value


def _seconds(iso: str | None, default: float) -> float:
    return default if iso is None else datetime.fromisoformat(iso).timestamp()


class EdgeAlarms:
    def __init__(self, bus: Bus, state: EdgeState, hub: AlertHub, *, tick_s: float = 1.0, keep: int = 1000) -> None:
        self.bus, self.state, self.hub, self.tick_s = bus, state, hub, tick_s
        self.engine = RuleEngine([])
        self.recent: deque[dict[str, Any]] = deque(maxlen=keep)
        self.open: dict[str, dict[str, Any]] = {}
        """Open alarms: id of the opening event → the alarm's latest event."""
        self.evaluated = 0
        self._version = -1
        self._opening: dict[AlertKey, str] = {}
        self._ids: set[str] = set()
        self._detectors: dict[str, StreamingDetector] = {}
        self._lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        await self._read_log()
        await self._rebuild(restore=True)
        self._tasks = [asyncio.create_task(supervise("alarms", self._consume), name="edge-alarms"),
                       asyncio.create_task(supervise("alarm clock", self._clock), name="edge-alarms-tick")]

    async def stop(self) -> None:
        await cancel_and_wait(self._tasks)
        self._tasks = []

    # ------------------------------------------------------------------ the durable alarm log
    async def _read_log(self) -> None:
        """Every event still in the topic (this group never commits, so it always starts at the beginning)."""
        consumer = self.bus.consumer("edge-alarm-log", [ALARMS_TOPIC])
        await consumer.start()
        try:
            while batch := await consumer.poll(10_000, timeout_s=0.05):
                for m in batch:
                    with contextlib.suppress(msgspec.DecodeError):
                        self._remember(msgspec.json.decode(m.value))
        finally:
            await consumer.stop()

    def _remember(self, event: dict[str, Any]) -> bool:
        if event["id"] in self._ids:
            return False
        self._ids.add(event["id"])
        self.recent.append(event)
        key = AlertKey(str(event["sensor"]), event["rule_id"])
        if event["kind"] == "resolved":
            self.open.pop(event["alert"], None)
            self._opening.pop(key, None)
        else:
            self.open[event["alert"]] = event
            self._opening[key] = event["alert"]
        return True

    @staticmethod
    def _open_alert(event: dict[str, Any]) -> OpenAlert:
        sensor = str(event["sensor"])
        at = _seconds(event["at"], time.time())
        opened_by = Reading(sensor, _seconds(event.get("reading_ts"), at),
                            math.nan if event.get("reading_value") is None else event["reading_value"])
        peak = Reading(sensor, _seconds(event.get("peak_ts"), opened_by.ts),
                       math.nan if event.get("peak_value") is None else event["peak_value"])
        ref = RuleRef(event["rule_id"], RuleKind(event["condition"]), event.get("threshold"), event.get("unit"),
                      event.get("rule_source", ""))
        return OpenAlert(AlertKey(sensor, event["rule_id"]), SEVERITY_NAMES[event["severity"]], ref, opened_by, peak,
                         _seconds(event.get("opened_at"), at))

    async def _rebuild(self, *, restore: bool = False) -> None:
        """A new engine for the current configuration; open alarms carry over."""
        async with self._lock:
            carried = [self._open_alert(e) for e in self.open.values()] if restore else self.engine.open_alerts()
            engine = RuleEngine(self.state.effective)
            gone = engine.restore(carried, now=time.time())
            self.engine, self._version = engine, self.state.version
            anomaly = {e.sensor.id for e in self.state.effective if any(isinstance(r, AnomalyRule) for r in e.rules)}
            self._detectors = {k: d for k, d in self._detectors.items() if k in anomaly}
            await self._emit(gone)

    # ------------------------------------------------------------------ evaluation
    async def _consume(self) -> None:
        consumer = self.bus.consumer(GROUP, [topics.READINGS_RAW])
        await consumer.start()
        try:
            while True:
                if self.state.version != self._version:
                    await self._rebuild()
                messages = await consumer.poll(5000, timeout_s=0.2)
                if not messages:
                    continue
                await self.evaluate(messages)
                await consumer.commit(messages)
        finally:
            await consumer.stop()

    async def evaluate(self, messages: Sequence[Message]) -> None:
        batches = []
        for m in messages:
            with contextlib.suppress(msgspec.DecodeError):
                batches.append(decode(m.value))
        checked = check_many(batches, self.state.metas, time.time_ns() // 1000)
        if not checked.sensors:
            return
        ids: list[str] = []
        for sensor, ts in zip(checked.sensors, checked.ts, strict=True):
            ids.extend([str(sensor)] * len(ts))
        ts_s = np.concatenate(checked.ts).astype(np.float64) / 1e6
        values = np.concatenate(checked.values)
        scores = self._scores(checked.sensors, checked.ts, checked.values)
        async with self._lock:
            events = self.engine.evaluate_arrays(ids, ts_s, values, scores, arrived_at=time.time())
            self.evaluated += len(ids)
            await self._emit(events)

    def _scores(self, sensors: list[int], ts: list[Any], values: list[Any]) -> Any:
        rules = {e.sensor.id: next((r for r in e.rules if isinstance(r, AnomalyRule)), None)
                 for e in self.state.effective}
        if not any(rules.values()):
            return None
        parts = []
        for sensor, t, v in zip(sensors, ts, values, strict=True):
            rule = rules.get(str(sensor))
            if rule is None:
                parts.append(np.full(len(t), np.nan))
                continue
            detector = self._detectors.get(str(sensor))
            if detector is None:
                levels = [x for x in (rule.warning, rule.alarm) if x is not None]
                detector = self._detectors[str(sensor)] = make_detector(rule.detector, min(levels))
            parts.append(detector.score_many(np.asarray(v, np.float64), np.asarray(t, np.float64) / 1e6))
        return np.concatenate(parts)

    async def _clock(self) -> None:
        while True:
            await asyncio.sleep(self.tick_s)
            async with self._lock:
                await self._emit(self.engine.tick(time.time()))

    # ------------------------------------------------------------------ events
    def _event(self, ev: AlertEvent) -> dict[str, Any]:
        oa = ev.alert
        reading_ts = ev.reading.ts if ev.reading is not None else oa.opened_by.ts
        event_id = f"{oa.key.sensor_id}/{oa.key.rule_id}/{ev.kind.value}/{round(ev.at * 1e6)}"
        alert = event_id if ev.kind.value == "opened" else self._opening.get(oa.key, event_id)
        meta = self.state.metas.get(int(oa.key.sensor_id))
        unit = oa.rule.unit or (meta.unit if meta is not None else None)
        return {
            "id": event_id, "alert": alert, "kind": ev.kind.value, "sensor": int(oa.key.sensor_id),
            "rule_id": oa.key.rule_id, "condition": oa.rule.kind.value, "severity": severity_name(oa.severity),
            "at": _iso(ev.at), "threshold": oa.rule.threshold, "unit": unit, "rule_source": oa.rule.source,
            "reason": ev.reason, "reading_ts": _iso(reading_ts),
            "reading_value": _num(ev.reading.value if ev.reading is not None else oa.opened_by.value),
            "peak_ts": _iso(oa.peak.ts), "peak_value": _num(oa.peak.value), "opened_at": _iso(oa.opened_at),
            "organization_id": self.state.organization_id,
        }

    async def _emit(self, events: Sequence[AlertEvent]) -> None:
        """Durable first (the topic), then the log lines and the live stream."""
        if not events:
            return
        payloads = []
        for ev in events:
            payload = self._event(ev)
            if ev.kind.value == "opened":  # later events of the same alarm, in this very batch, refer to it
                self._opening[ev.key] = payload["id"]
            payloads.append(payload)
        records = [Record(key=str(p["sensor"]).encode(), value=msgspec.json.encode(p)) for p in payloads]
        delay = 0.1
        while True:
            try:
                await self.bus.publish(ALARMS_TOPIC, records)
                break
            except Exception:  # the local disk failed (full?): alarms are kept in memory and retried
                log.exception("writing %d alarm events to the gateway's log failed; retrying", len(records))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        for p in payloads:
            if not self._remember(p):
                continue
            log.warning("ALARM %s: sensor %s rule %s %s value %s (level %s %s)%s", p["kind"], p["sensor"],
                        p["rule_id"], p["severity"], p["reading_value"], p["threshold"], p["unit"] or "",
                        f": {p['reason']}" if p["reason"] else "")
            self.hub.publish({"event": p["kind"], "at": p["at"], "actor": "edge", "reason": p["reason"], "alert": p})
