"""The alert service of the pipeline role: rules from the registry, evaluation after every stored batch,
a clock for silent sensors and auto-resolve, persistence, and publication (SSE hub, bus ``alerts.v1``).

Started before the pipeline so that its hook is in ``ctx.extras["stored_hooks"]`` when the pipeline is
built. Where the ingest runs in the same process (``ghgwatch up``, role ``all``), readings are also judged
as soon as they are durable on the bus (``on_accepted``, the hook in ``ctx.extras["accepted_hooks"]``), so an
exceedance does not wait behind a storage backlog; judging the same reading again after it is stored
changes nothing (it is late, and its alert is open or covered its time; see the engine's docstring). On a bus shared
by several replicas of role ``all``, only readings of the sensors whose partition this replica owns go to the live
lane; the others go to an accept lane (alerts/accept_lane.py), since the owner's engine judges them once stored.
A reading of a sensor that the engine does not know yet makes it reload the sensors and rebuild first:
no reading skips the rules. The engine lives in this process; its state is rebuilt from the ``alerts`` table at start-up
(``RuleEngine.restore``), so a restart continues open alerts instead of opening them again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec
import numpy as np
from sqlalchemy.exc import IntegrityError, OperationalError

from ghgwatch.alerts.accept_lane import AcceptLane, origin_of
from ghgwatch.alerts.demo import ensure_demo_rules
from ghgwatch.alerts.detectors import StreamingDetector, make_detector
from ghgwatch.alerts.engine import AlertEvent, AlertKey, RuleEngine
from ghgwatch.alerts.handover import Handover, shared
from ghgwatch.alerts.hub import AlertHub, hub_of
from ghgwatch.alerts.models import Alert, HistoryAction
from ghgwatch.alerts.outbox.enqueue import record_alert_changes
from ghgwatch.alerts.rules.model import AnomalyRule
from ghgwatch.alerts.ruleset import RulesSnapshot, build_rules, rules_version
from ghgwatch.alerts.store import PEAK, coalesce_events, event_payload, load_open, persist_events, to_open_alert
from ghgwatch.bus import Record, topics
from ghgwatch.ingest.wire import SensorBatch
from ghgwatch.kit.aio import cancel_and_wait
from ghgwatch.observability import metrics, tracing
from ghgwatch.pipeline.runner import StoredBatch, min_ts_us
from ghgwatch.pipeline.validate import check_many
from ghgwatch.readings.writer import SQLITE_CHUNK, SensorRows, chunk_rows
from ghgwatch.registry.cache import SensorCache
from ghgwatch.store import Database
from ghgwatch.web.context import AppContext

log = logging.getLogger(__name__)
STORED_SLICE = SQLITE_CHUNK  # about 0.1 s of judging on a quiet core, as a storage chunk is of writing
PERSIST_ATTEMPTS = 8  # about 12 s of retries (0.1 s doubling, at most 2 s apart) before events are kept for later
POISON_ROUNDS = 30  # rounds (ticks, one a second) an alert's events may be refused on their own before given up
UNSAVED_WARN = 10_000  # events kept unsaved beyond which the log says CRITICAL (a long database outage)


class AlertService:
    """Owns one ``RuleEngine``; every method runs on the event loop, engine calls under ``_lock``."""

    def __init__(self, db: Database, sensors: SensorCache, hub: AlertHub, *, bus: Any = None,
                 tick_s: float = 1.0, refresh_s: float = 2.0, demo: bool = False,
                 raw_retention_days: float | None = None) -> None:
        self.db, self.sensors, self.hub, self.bus = db, sensors, hub, bus
        self.tick_s, self.refresh_s, self.demo = tick_s, refresh_s, demo
        self.raw_retention_days = raw_retention_days
        self.engine = RuleEngine([], track_peaks=True)
        self.ids: dict[AlertKey, int] = {}
        self.snapshot: RulesSnapshot | None = None
        self._version: object = None
        self._detectors: dict[str, StreamingDetector] = {}
        self._lock = asyncio.Lock()
        self._rebuilding = asyncio.Lock()  # one rebuild at a time (see ``rebuild``)
        self._tasks: list[asyncio.Task[None]] = []
        self._demo_done = False
        self._outbox: asyncio.Queue[list[Record]] = asyncio.Queue()
        self._trace: Mapping[int, Mapping[str, str]] = {}
        self._live: asyncio.Queue[tuple[list[SensorBatch], dict[str, str]]] = asyncio.Queue()
        self.judged_at_accept = 0
        self._unsaved: list[AlertEvent] = []  # events the database did not take yet, oldest first (``_persist``)
        self._refused: dict[AlertKey, int] = {}  # rounds in which the database refused a key's events
        self.unsaved_since: float | None = None
        """When (monotonic) events were first kept unsaved; None while everything is stored."""
        self._unknown_at: dict[str, float] = {}  # sensors still unknown after a reload, and when
        self.handover = Handover(self)  # the pipeline consumer's RebalanceListener (alerts/handover.py)
        self.origin: str | None = None
        """This process's name in the events it publishes to the bus (``accept_lane.origin_of``): on a shared bus
        its own relay skips them (they are on its hub already)."""
        self.accept_lane: AcceptLane | None = None
        """On a shared bus (several replicas of role ``all``): where the live readings of sensors whose partition
        another replica owns are judged (alerts/accept_lane.py), instead of this replica's engine."""

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        self.handover.loop = asyncio.get_running_loop()
        async with self.db.reads() as s:
            rows = await load_open(s)
        self.ids = {to_open_alert(r).key: r.id for r in rows}
        await self.rebuild(restore=[to_open_alert(r) for r in rows])
        # Readings stored (and maybe judged) before a crash whose bus offsets were not committed come again: judge
        # them as late against the newest stored reading times and the alerts resolved lately (alerts/handover.py).
        await self.handover.adopt(silence=False)
        self._tasks = [asyncio.create_task(self._every(self.tick_s, self.tick), name="alerts-tick"),
                       asyncio.create_task(self._every(self.refresh_s, self.refresh), name="alerts-refresh"),
                       asyncio.create_task(self._forward(), name="alerts-to-bus"),
                       asyncio.create_task(self._judge_live(), name="alerts-live-lane")]

    async def stop(self) -> None:
        await self.handover.wait()
        if self._unsaved:  # a last try: kept events live only in this process
            async with self._lock:
                await self._persist([])
            if self._unsaved:
                log.critical("stopping with %d alert events not stored: %s", len(self._unsaved),
                             [(ev.key, ev.kind.value, ev.reading) for ev in self._unsaved])
        if self.bus is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._outbox.join(), 5.0)
        await cancel_and_wait(self._tasks)
        self._tasks = []

    async def _every(self, period: float, job: Any) -> None:
        while True:
            await asyncio.sleep(period)
            try:
                await job()
            except Exception:  # a failing round must not stop the clock
                log.exception("alert job %s failed", job.__name__)

    # ------------------------------------------------------------------ rules
    async def rebuild(self, restore: Sequence[Any] | None = None, *, reload: bool = False) -> bool:
        """Rebuild the engine if sensors or stored rules changed; open alerts and what the engine learned
        from readings carry over. ``reload``: read the sensors from the database first.

        Rebuilds run one at a time, each from the sensors the cache holds once its turn comes, so a snapshot is never
        installed after a newer one. A snapshot that lacks a sensor the engine knows, or an open alert's rule, is
        installed (the alert resolved as "rule no longer in force", the sensor's state dropped) only when the sensors
        read fresh from the database confirm it. Under load, a rebuild that had read the sensors before one was
        registered was installed after the rebuild that learned it: it resolved the alert the sensor had opened
        meanwhile, and the same reading, judged again once stored, opened a second alert."""
        async with self._rebuilding:
            fresh = reload
            if fresh:
                await self.sensors.refresh()
            while True:
                metas = await self.sensors.current()
                async with self.db.reads() as s:
                    version = await rules_version(s, metas)
                    if version == self._version and restore is None:
                        return False
                    snapshot = await build_rules(s, metas)
                engine = RuleEngine(snapshot.effective, track_peaks=True)
                async with self._lock:
                    carried = list(restore) if restore is not None else self.engine.open_alerts()
                    lost = engine.unknown(self.engine.sensor_ids())  # what the engine learned of them would go
                    if fresh or (not lost and all(engine.in_force(oa.key) for oa in carried)):
                        await self._install(engine, snapshot, version, carried, restored=restore is not None)
                        return True
                fresh = True  # a sensor or an open alert's rule is missing: read the sensors again to be sure
                await self.sensors.refresh()

    async def _install(self, engine: RuleEngine, snapshot: RulesSnapshot, version: object, carried: list[Any], *,
                       restored: bool) -> None:
        """Put ``engine`` in place of the current one (under ``_lock``)."""
        old = self.engine
        engine.carry_state(old)
        engine.own(self.handover.owns)  # cluster mode: only the sensors of this replica's partitions
        gone = engine.restore(carried, now=time.time(), judged_until=old.last_ts)
        if not restored:
            engine.carry_open(old)  # clear times and the like, not in the snapshots
        self.engine, self.snapshot, self._version = engine, snapshot, version
        self._detectors = {k: d for k, d in self._detectors.items() if k in snapshot.anomaly}
        for problem in snapshot.problems:
            log.debug("alert rule not in force: %s", problem)
        if gone:
            await self._persist(gone)

    async def refresh(self) -> None:
        if self.demo and not self._demo_done:
            self._demo_done = await ensure_demo_rules(self.db)
        await self.rebuild()
        await self.reconcile()

    async def reconcile(self) -> None:
        """Forget alerts resolved outside this process (the API of another replica).

        Only rows known before the query are judged by it: events are stored under the lock, so a copy of
        ``ids`` taken under the lock names committed rows only. (Comparing the current ``ids`` with an older
        query made the engine forget an alert opened meanwhile: its row stayed open in the database, the
        clear reading was not judged against it, and the sensor's next exceedance was folded into that row
        instead of being announced as opened.)
        """
        async with self._lock:
            known = dict(self.ids)
        async with self.db.reads() as s:
            still_open = {r.id for r in await load_open(s)}
        async with self._lock:
            for key, row_id in known.items():
                if row_id not in still_open and self.ids.get(key) == row_id:
                    self.engine.forget(key)
                    self.ids.pop(key, None)

    async def forget(self, alert: Alert) -> None:
        """An alert was resolved by hand (its transaction has committed)."""
        key = AlertKey(str(alert.sensor_id), alert.rule_id)
        async with self._lock:
            if self.ids.get(key) == alert.id:
                self.ids.pop(key)
                self.engine.forget(key)

    # ------------------------------------------------------------------ evaluation
    async def on_stored(self, batch: StoredBatch) -> None:
        """The pipeline hook: evaluate every stored reading of the batch, ``STORED_SLICE`` readings per turn of
        the engine's lock, so that the live lane gets in between the slices of a large batch (a backlog)."""
        for rows in chunk_rows(batch.rows, STORED_SLICE):
            self._trace = batch.trace  # alerts opened now continue their readings' traces
            await self._judge(rows)
            await asyncio.sleep(0)

    def on_accepted(self, batches: Sequence[SensorBatch]) -> None:
        """The ingest hook (same process): the readings are durable on the bus; judge them in the live lane
        now, ahead of whatever backlog the pipeline has to store first. Never blocks the sender."""
        batches = self._theirs_to_accept_lane(batches)
        if batches:  # with the accept's trace context: an alarm raised here continues the readings' trace
            self._live.put_nowait((list(batches), tracing.inject_context()))

    def _theirs_to_accept_lane(self, batches: Sequence[SensorBatch]) -> list[SensorBatch]:
        """On a shared bus, the batches of sensors whose partition this replica does not own (another replica's
        engine judges them once stored) go to the accept lane, which opens an alert only under the database's guard
        and keeps no engine state; returns the others (this engine's)."""
        if self.accept_lane is None:
            return list(batches)
        receives = self.handover.receives
        theirs = [b for b in batches if not receives(str(b.sensor))]
        if not theirs:
            return list(batches)
        self.accept_lane.on_accepted(theirs)
        return [b for b in batches if receives(str(b.sensor))]

    async def _judge_live(self) -> None:
        while True:
            batches, carrier = await self._live.get()
            trace = dict.fromkeys((b.sensor for b in batches), carrier)
            while not self._live.empty():  # everything queued meanwhile, in arrival order
                more, carrier = self._live.get_nowait()
                batches.extend(more)
                trace.update(dict.fromkeys((b.sensor for b in more), carrier))
            batches = self._theirs_to_accept_lane(batches)  # a partition may have moved while they waited
            if not batches:
                continue
            self._trace = trace
            try:
                metas = await self.sensors.lookup({b.sensor for b in batches})
                now_us = time.time_ns() // 1000
                checked = check_many(batches, metas, now_us, min_ts_us(now_us, self.raw_retention_days))
                rows = [SensorRows(*parts) for parts in zip(checked.sensors, checked.ts, checked.values,
                                                            checked.quality, strict=True)]
                self.judged_at_accept += sum(len(r.ts) for r in rows)
                await self._judge(rows, live=batches)
            except Exception:  # the pipeline judges the same readings once they are stored
                log.exception("judging %d accepted batches failed", len(batches))

    async def _judge(self, rows_in: Sequence[SensorRows], live: Sequence[SensorBatch] | None = None) -> None:
        """Judge ``rows`` with the engine; ``live``: the accepted batches they came from (the live lane)."""
        rows = [r for r in rows_in if len(r.ts)]
        if not rows:
            return
        unknown = self.engine.unknown({str(r.sensor) for r in rows})
        now = time.monotonic()
        if any(now - self._unknown_at.get(u, -math.inf) >= self.refresh_s for u in unknown):
            # A sensor registered after the last rebuild: learn it now instead of skipping its readings.
            # (A sensor still unknown afterwards, e.g. deactivated, is looked up again only after refresh_s.)
            await self.rebuild(reload=True)
            for u in self.engine.unknown(unknown):
                self._unknown_at[u] = now
        async with self._lock:
            if live is not None and self.accept_lane is not None:
                rows = self._still_received(rows, live)
                if not rows:
                    return
            names = [str(r.sensor) for r in rows]
            ts = np.concatenate([r.ts for r in rows]).astype(np.float64) / 1e6
            values = np.concatenate([r.values for r in rows]).astype(np.float64)
            scores = self._scores(rows) if self.snapshot and self.snapshot.anomaly else None
            events = self.engine.evaluate_rows(names, [len(r.ts) for r in rows], ts, values, scores,
                                               arrived_at=time.time())
            if events:
                await self._persist(events)

    def _still_received(self, rows: list[SensorRows], live: Sequence[SensorBatch]) -> list[SensorRows]:
        """Under ``_lock`` (where the hand-over changes the assignment): the rows of sensors whose partition this
        replica still receives. The live lane checked that when it took the readings, but a rebalance may have moved
        a partition before its turn of the lock: those readings go to the accept lane instead (the new owner's engine
        judges them once stored), so this engine holds no state of a sensor it no longer receives."""
        receives = self.handover.receives
        moved = {r.sensor for r in rows if not receives(str(r.sensor))}
        if not moved:
            return rows
        assert self.accept_lane is not None
        self.accept_lane.on_accepted([b for b in live if b.sensor in moved])
        return [r for r in rows if r.sensor not in moved]

    def _scores(self, rows: Sequence[Any]) -> np.ndarray[Any, np.dtype[np.float64]]:
        """Detector scores; NaN for readings not scored. A detector learns each reading once and in order:
        late readings (a reading judged again after storage, a backfill) are not scored."""
        assert self.snapshot is not None
        parts = []
        for r in rows:
            rule: AnomalyRule | None = self.snapshot.anomaly.get(str(r.sensor))
            score = np.full(len(r.ts), np.nan)
            parts.append(score)
            if rule is None:
                continue
            det = self._detectors.get(str(r.sensor))
            if det is None:
                levels = [v for v in (rule.warning, rule.alarm) if v is not None]
                det = self._detectors[str(r.sensor)] = make_detector(rule.detector, min(levels))
            ts = np.asarray(r.ts, np.float64) / 1e6
            newest = self.engine.last_ts(str(r.sensor))
            fresh = ts > np.maximum.accumulate(np.concatenate(([-np.inf if np.isnan(newest) else newest], ts)))[:-1]
            if fresh.any():
                score[fresh] = det.score_many(np.asarray(r.values, np.float64)[fresh], ts[fresh])
        return np.concatenate(parts)

    async def tick(self) -> None:
        async with self._lock:
            events = self.engine.tick(time.time())
            if events or self._unsaved:  # also events kept when the database did not take them
                await self._persist(events)

    async def _persist(self, events: Sequence[AlertEvent]) -> None:
        """Store ``events`` (under ``_lock``) and announce them. Events that cannot be stored are kept, ahead of the
        next ones, and tried again with the next call or on the next tick (``unsaved``): the engine has already moved
        on, so dropping them would lose an alarm (opened in the engine, never stored, never announced, and the
        stored lane's second judgement finds it covered). While events are kept, a call tries once instead of
        retrying for seconds, so the engine keeps judging while the database is away."""
        pending = coalesce_events([*self._unsaved, *events]) if self._unsaved else list(events)
        self._unsaved = []
        if not pending:
            return
        try:
            written = await self._write(pending, 1 if self.unsaved_since is not None else PERSIST_ATTEMPTS)
        except OperationalError:  # the database is away or locked: keep everything, in order
            self._keep(pending, "the database did not answer")
            return
        except Exception:  # an event the database refuses: store key by key, so one bad event holds back only its own
            log.exception("storing %d alert events failed; storing them alert by alert", len(pending))
            written = await self._write_apart(pending)
        if not self._unsaved and self.unsaved_since is not None:
            log.warning("alert events kept since %.1f s ago are stored", time.monotonic() - self.unsaved_since)
            self.unsaved_since = None
        metrics.set_alert_events_unsaved(len(self._unsaved))
        await self._announce(written)

    async def _write(self, events: Sequence[AlertEvent], attempts: int) -> list[tuple[str, dict[str, Any], str]]:
        """One transaction for ``events``, tried up to ``attempts`` times; ``ids`` as before on failure."""
        metas = await self.sensors.current()
        conflicts = 0
        for attempt in range(1, attempts + 1):
            saved = dict(self.ids)
            try:
                # SQLite: ahead of every queued bulk write, behind at most one storage chunk (Database.write_turn)
                async with self.db.write_turn(urgent=True), self.db.transaction() as s:
                    written = await persist_events(s, events, self.ids, metas)
                    await record_alert_changes(s, written)  # notifications and responses commit with the change
                return written
            except IntegrityError:
                # Another process opened one of these alerts meanwhile (uq_alerts_one_unresolved): the next
                # attempt finds its row and continues it instead of opening a second one.
                self.ids.clear()
                self.ids.update(saved)
                conflicts += 1
                if conflicts == 2 or attempt == attempts:
                    raise
                log.warning("an alert was opened by another process meanwhile; continuing its row")
            except OperationalError:
                # The database is busy (SQLite locked by a long store transaction) or the connection dropped.
                self.ids.clear()
                self.ids.update(saved)
                if attempt == attempts:
                    raise
                log.warning("storing %d alert events failed (attempt %d); trying again", len(events), attempt)
                await asyncio.sleep(min(0.05 * 2 ** attempt, 2.0))
            except Exception:
                self.ids.clear()
                self.ids.update(saved)
                raise
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _write_apart(self, events: Sequence[AlertEvent]) -> list[tuple[str, dict[str, Any], str]]:
        """Store the events of each alert key in a transaction of their own (in order within a key). A key whose
        events the database keeps refusing (not merely unreachable) for ``POISON_ROUNDS`` rounds is given up, loudly:
        it must not hold the others back for ever."""
        groups: dict[AlertKey, list[AlertEvent]] = {}
        for ev in events:
            groups.setdefault(ev.key, []).append(ev)
        written: list[tuple[str, dict[str, Any], str]] = []
        for key, group in groups.items():
            try:
                written.extend(await self._write(group, 2))
                self._refused.pop(key, None)
            except OperationalError:
                self._keep(group, "the database did not answer")
            except Exception:
                rounds = self._refused[key] = self._refused.get(key, 0) + 1
                if rounds < POISON_ROUNDS:
                    log.exception("the database refused the events of alert %s (%d of %d rounds)", key, rounds,
                                  POISON_ROUNDS)
                    self._keep(group, "the database refused them")
                    continue
                self._refused.pop(key, None)
                metrics.alert_events_dropped(len(group))
                log.critical("GIVING UP %d alert events of %s after %d refusals: %s", len(group), key, rounds,
                             [(ev.kind.value, ev.reading) for ev in group])
        return written

    def _keep(self, events: Sequence[AlertEvent], why: str) -> None:
        """Keep ``events`` for the next call or tick, in order, ahead of events that come later."""
        self._unsaved.extend(events)
        if self.unsaved_since is None:
            self.unsaved_since = time.monotonic()
        level = logging.ERROR if len(self._unsaved) < UNSAVED_WARN else logging.CRITICAL
        log.log(level, "%d alert events not stored (%s) for %.1f s; they are tried again on the next tick",
                len(self._unsaved), why, time.monotonic() - self.unsaved_since)
        metrics.set_alert_events_unsaved(len(self._unsaved))

    async def _announce(self, written: Sequence[tuple[str, dict[str, Any], str]]) -> None:
        payloads = []
        for action, alert, reason in written:
            if action == PEAK:
                continue  # persisted only
            if action == HistoryAction.OPENED:
                metrics.alert_opened(alert["severity"], alert["condition"])
                tracing.alert_opened(alert["id"], self._trace.get(alert["sensor_id"]), sensor=alert["sensor_id"],
                                     condition=alert["condition"], severity=alert["severity"])
            payloads.append(event_payload(action, alert, reason=reason))
        await self.publish(payloads)

    async def publish(self, payloads: Sequence[dict[str, Any]]) -> None:
        """To SSE streams and the notifier at once; to the bus in order from a task of its own, so the
        pipeline does not wait for the bus's durable write."""
        for p in payloads:
            self.hub.publish(p)
        if self.bus is not None and payloads:
            tag = {} if self.origin is None else {"origin": self.origin}
            self._outbox.put_nowait([Record(key=str(p["alert"]["sensor_id"]).encode(),
                                            value=msgspec.json.encode(p | tag)) for p in payloads])

    async def _forward(self) -> None:
        while True:
            records = await self._outbox.get()
            try:
                await self.bus.publish(topics.ALERTS, records)
            except Exception:  # the alert is stored and streamed; the bus copy is best effort
                log.exception("publishing %d alert events to the bus failed", len(records))
            finally:
                self._outbox.task_done()


async def start_alerts(ctx: AppContext) -> None:
    sensors: SensorCache = ctx.extras.get("sensors") or SensorCache(ctx.db)
    from ghgwatch.alerts.outbox.runner import start_dispatch

    hub = hub_of(ctx.extras)
    bus = ctx.extras.get("bus")
    service = AlertService(ctx.db, sensors, hub, bus=bus, demo=ctx.settings.demo,
                           raw_retention_days=ctx.settings.retention.raw_days)
    await service.start()
    if shared(bus):  # other replicas relay this one's events (alerts/relay.py), and it theirs
        service.origin = origin_of(ctx.extras)
        if "ingestor" in ctx.extras:  # several replicas of role all: see on_accepted
            service.accept_lane = AcceptLane(ctx.db, sensors, hub, bus=bus, origin=service.origin)
            await service.accept_lane.start()
    ctx.extras["alerts"] = service
    ctx.extras.setdefault("stored_hooks", []).append(service.on_stored)
    ctx.extras.setdefault("accepted_hooks", []).append(service.on_accepted)
    await start_dispatch(ctx, hub)  # notifications are delivered from the outbox (alerts/outbox)


async def stop_alerts(ctx: AppContext) -> None:
    notifier = ctx.extras.pop("notifier", None)
    if notifier is not None:
        await notifier.stop()
    service: AlertService | None = ctx.extras.pop("alerts", None)
    if service is not None:
        await service.stop()
        if service.accept_lane is not None:
            await service.accept_lane.stop()
        hooks = ctx.extras.get("stored_hooks", [])
        if service.on_stored in hooks:
            hooks.remove(service.on_stored)
        accepted = ctx.extras.get("accepted_hooks", [])
        if service.on_accepted in accepted:
            accepted.remove(service.on_accepted)

