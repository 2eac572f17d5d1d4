"""Cluster mode: safety limits judged where readings are accepted (the api, mqtt and coap replicas), ahead of any
backlog.

In cluster mode the rule engine runs in the pipeline replicas, on stored readings, so a live exceedance would wait
behind whatever the pipeline has queued. A replica that accepts readings (over HTTP, MQTT or CoAP: its ingestors share
``ingest.service.accepted_hooks``) therefore judges the threshold rules (the safety limits) of the readings it accepts
as soon as they are durable on the bus, and opens the
alert itself: its row in ``alerts`` and its notifications in one transaction, then the ``opened`` event to this
replica's SSE hub and to ``alerts.v1`` (the other replicas' relays; their copy names this replica as ``origin``
so that its own relay does not announce it twice).

Exactly one alert per (sensor, rule): the partial unique index ``uq_alerts_one_unresolved`` lets one process open
it; a replica that finds an unresolved row, or loses the race on the index, opens nothing. The engine in the
pipeline replica judges the same reading once it is stored and adopts the row instead of opening a second alert
(``persist_events``: an ``opened`` event whose opening reading is the row's continues it without an event); from
then on the engine alone escalates, follows peaks and resolves it.

Judged here: threshold rules only, and only live readings (no older than ``LIVE_S``). A threshold needs no
history; rate-of-change, stuck, silent and anomaly rules do, and an old reading may lie inside an alert interval
the engine remembers (``RuleEngine.covered``), which an api replica cannot know. A key is not tried again while
this replica knows its alert to be open (opened here, or an opened/escalated/updated event heard on its hub, for at
most ``OPEN_TTL_S``), so a sensor that stays over its limit costs one query per ``OPEN_TTL_S`` at most.

Replicas of role ``all`` on a shared bus also run one, inside their alert service (``AlertService.accept_lane``): it
judges the live readings of sensors whose partition another replica owns, which that replica's engine judges once
stored (the local engine judges only its own partitions' sensors).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import uuid
from collections.abc import Sequence
from typing import Any

import msgspec
import numpy as np
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ghgwatch.alerts.engine import AlertEvent, AlertKey, EventKind, OpenAlert, Reading, RuleRef
from ghgwatch.alerts.engine._lanes import threshold_in_force
from ghgwatch.alerts.hub import AlertHub, hub_of
from ghgwatch.alerts.models import Alert, AlertHistory, AlertState, HistoryAction
from ghgwatch.alerts.outbox.enqueue import record_alert_changes
from ghgwatch.alerts.rules.model import Direction, Severity, ThresholdRule
from ghgwatch.alerts.ruleset import build_rules, rules_version
from ghgwatch.alerts.store import ENGINE_ACTOR, alert_dict, event_payload, new_alert
from ghgwatch.bus import Record, topics
from ghgwatch.ingest.wire import SensorBatch
from ghgwatch.kit.aio import cancel_and_wait
from ghgwatch.observability import metrics
from ghgwatch.pipeline.validate import check_many
from ghgwatch.registry.cache import SensorCache
from ghgwatch.store import Database
from ghgwatch.web.context import AppContext

log = logging.getLogger(__name__)
EXTRA_KEY = "alerts_accept_lane"
ORIGIN_KEY = "alerts_origin"
LIVE_S = 300.0
"""ghgwatch choice: readings at most 5 minutes old are live (a gateway's send interval and clock skew fit many
times over); older ones are left to the engine, which knows the alert history they may fall into."""
OPEN_TTL_S = 30.0
"""ghgwatch choice: how long a key known to be open is not tried again (bounds the cost of a sensor that stays over
its limit, and how long a missed ``resolved`` event can keep this lane quiet; the engine judges it meanwhile)."""


def origin_of(extras: dict[str, Any]) -> str:
    """This process's name in the alert events it publishes (the relay skips its own)."""
    origin: str = extras.setdefault(ORIGIN_KEY, uuid.uuid4().hex)
    return origin


class AcceptLane:
    """Judges the threshold rules of accepted readings; every method runs on the event loop."""

    def __init__(self, db: Database, sensors: SensorCache, hub: AlertHub, *, bus: Any = None, origin: str = "",
                 refresh_s: float = 2.0) -> None:
        self.db, self.sensors, self.hub, self.bus = db, sensors, hub, bus
        self.origin = origin or uuid.uuid4().hex
        self.refresh_s = refresh_s
        self.thresholds: dict[int, tuple[ThresholdRule, ...]] = {}
        self.opened = 0
        """Alerts this lane opened (the others were open already or opened elsewhere first)."""
        self._version: object = None
        self._open: dict[AlertKey, float] = {}  # key -> until when it is taken as open (monotonic)
        self._queue: asyncio.Queue[list[SensorBatch]] = asyncio.Queue()
        self._reloaded = -math.inf
        self._known: frozenset[int] = frozenset()  # sensors the rules were built for
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        try:
            await self.refresh()
        except Exception:  # the api serves without the lane until a refresh succeeds (the engine judges anyway)
            log.exception("loading the rules of the accept lane failed; retrying every %s s", self.refresh_s)
        self._tasks = [asyncio.create_task(self._judge_loop(), name="alerts-accept-lane"),
                       asyncio.create_task(self._refresh_loop(), name="alerts-accept-refresh"),
                       asyncio.create_task(self._follow(), name="alerts-accept-follow")]

    async def stop(self) -> None:
        await cancel_and_wait(self._tasks)
        self._tasks = []

    def on_accepted(self, batches: Sequence[SensorBatch]) -> None:
        """The ingest hook: the readings are durable on the bus. Never blocks the sender."""
        mine = [b for b in batches if b.sensor in self.thresholds or b.sensor not in self._known]
        if mine:
            self._queue.put_nowait(mine)

    # ------------------------------------------------------------------ rules
    async def refresh(self, *, reload: bool = False) -> None:
        if reload:
            await self.sensors.refresh()
            self._reloaded = time.monotonic()
        metas = await self.sensors.current()
        async with self.db.sessions() as s:
            version = await rules_version(s, metas)
            if version == self._version:
                return
            snapshot = await build_rules(s, metas)
        self.thresholds = {int(e.sensor.id): rules for e in snapshot.effective
                           if (rules := tuple(r for r in e.rules if isinstance(r, ThresholdRule) and r.configured))}
        self._known = frozenset(int(e.sensor.id) for e in snapshot.effective)
        self._version = version

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_s)
            try:
                await self.refresh()
            except Exception:  # the engine in the pipeline judges every reading anyway
                log.exception("reloading the rules of the accept lane failed")

    async def _follow(self) -> None:
        """Which alerts are open, from the events of this replica's hub (its own and those relayed)."""
        async with self.hub.subscribe(None) as sub:
            while True:
                event = await sub.get()
                if event is None:
                    continue
                alert = event["alert"]
                key = AlertKey(str(alert["sensor_id"]), alert["rule_id"])
                if alert.get("state") == AlertState.RESOLVED.value:
                    self._open.pop(key, None)
                else:
                    self._open[key] = time.monotonic() + OPEN_TTL_S

    # ------------------------------------------------------------------ judging
    async def _judge_loop(self) -> None:
        while True:
            batches = await self._queue.get()
            while not self._queue.empty():
                batches.extend(self._queue.get_nowait())
            try:
                await self.judge(batches)
            except Exception:  # the engine in the pipeline judges the same readings once stored
                log.exception("judging %d accepted batches at accept time failed", len(batches))

    async def judge(self, batches: Sequence[SensorBatch]) -> int:
        """Open the alerts that ``batches`` call for; returns how many this replica opened."""
        if any(b.sensor not in self._known for b in batches) and time.monotonic() - self._reloaded >= self.refresh_s:
            await self.refresh(reload=True)  # a sensor registered since the last refresh
        live = [b for b in batches if b.sensor in self.thresholds]
        if not live:
            return 0
        metas = await self.sensors.lookup({b.sensor for b in live})
        now_us = time.time_ns() // 1000
        checked = check_many(live, metas, now_us, now_us - int(LIVE_S * 1e6))
        now = time.monotonic()
        found: dict[AlertKey, AlertEvent] = {}
        for sensor, ts_us, values in zip(checked.sensors, checked.ts, checked.values, strict=True):
            if not len(ts_us):
                continue
            order = np.argsort(ts_us, kind="stable")
            ts, vs = np.asarray(ts_us)[order] / 1e6, np.asarray(values, dtype=np.float64)[order]
            for rule in self.thresholds.get(int(sensor), ()):
                key = AlertKey(str(sensor), rule.id)
                if key in found or self._open.get(key, -math.inf) > now:
                    continue
                level = _levels(rule, vs)
                hits = np.flatnonzero(level > 0)
                if hits.shape[0]:
                    i = int(hits[0])  # the first exceeding reading opens it, as in the engine
                    found[key] = _opened(key, rule, Severity(int(level[i])), Reading(key.sensor_id, float(ts[i]),
                                                                                     float(vs[i])))
        opened = 0
        for key, event in found.items():
            opened += await self._open_alert(key, event, metas[int(key.sensor_id)])
        return opened

    async def _open_alert(self, key: AlertKey, event: AlertEvent, meta: Any) -> int:
        self._open[key] = time.monotonic() + OPEN_TTL_S
        try:
            async with self.db.write_turn(urgent=True), self.db.transaction() as s:
                taken = (await s.execute(select(Alert.id).where(
                    Alert.sensor_id == int(key.sensor_id), Alert.rule_id == key.rule_id,
                    Alert.state != AlertState.RESOLVED.value))).first()
                if taken is not None:
                    return 0  # open already (the engine or another replica)
                row = new_alert(event, meta)
                s.add(row)
                await s.flush()
                reading = event.reading
                assert reading is not None
                s.add(AlertHistory(alert_id=row.id, action=HistoryAction.OPENED.value, actor=ENGINE_ACTOR, details={
                    "severity": row.severity, "threshold": row.threshold, "reading_ts": alert_dict(row)["reading_ts"],
                    "value": reading.value, "judged": "at accept"}))
                alert = alert_dict(row)
                await record_alert_changes(s, [(HistoryAction.OPENED.value, alert, "")])
        except IntegrityError:
            return 0  # another process opened it between the query and the insert (uq_alerts_one_unresolved)
        self.opened += 1
        metrics.alert_opened(alert["severity"], alert["condition"])
        payload = event_payload(HistoryAction.OPENED.value, alert)
        self.hub.publish(payload)
        if self.bus is not None:
            record = Record(key=key.sensor_id.encode(), value=msgspec.json.encode(payload | {"origin": self.origin}))
            try:
                await self.bus.publish(topics.ALERTS, [record])
            except Exception:  # stored, notified and streamed here; other replicas' streams miss the event
                log.exception("publishing an alert opened at accept time to the bus failed")
        return 1


def _levels(rule: ThresholdRule, values: np.ndarray[Any, np.dtype[np.float64]]) -> np.ndarray[Any, np.dtype[np.int8]]:
    sign = -1.0 if rule.direction is Direction.BELOW else 1.0
    z = sign * values
    level = np.zeros(values.shape[0], dtype=np.int8)
    if rule.warning is not None:
        level[z > sign * rule.warning] = 1
    if rule.alarm is not None:
        level[z > sign * rule.alarm] = 2
    return level


def _opened(key: AlertKey, rule: ThresholdRule, severity: Severity, reading: Reading) -> AlertEvent:
    ref = RuleRef(rule.id, rule.kind, threshold_in_force(rule, severity), rule.unit, rule.source)
    return AlertEvent(EventKind.OPENED, OpenAlert(key, severity, ref, reading, reading, time.time()), time.time(),
                      reading)


async def start_accept_lane(ctx: AppContext) -> None:
    """The ``alerts-accept`` service of the api, mqtt and coap roles; not where the alert service runs itself (it
    has its own live lane, ``AlertService.on_accepted``, and on a shared bus an accept lane of its own)."""
    if "alerts" in ctx.extras:
        return
    lane = AcceptLane(ctx.db, ctx.extras["sensors"], hub_of(ctx.extras), bus=ctx.extras.get("bus"),
                      origin=origin_of(ctx.extras))
    await lane.start()
    ctx.extras[EXTRA_KEY] = lane
    ctx.extras.setdefault("accepted_hooks", []).append(lane.on_accepted)


async def stop_accept_lane(ctx: AppContext) -> None:
    lane: AcceptLane | None = ctx.extras.pop(EXTRA_KEY, None)
    if lane is not None:
        hooks = ctx.extras.get("accepted_hooks", [])
        if lane.on_accepted in hooks:
            hooks.remove(lane.on_accepted)
        await lane.stop()
