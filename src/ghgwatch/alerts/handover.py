"""Hand-over of the rule engine's sensors between pipeline replicas (cluster mode; docs/alerts.md).

The readings of a sensor go to one partition of ``readings.raw.v1`` (keyed by sensor id), and each partition to one
pipeline replica of the consumer group. Its rule engine judges the readings it receives; on the clock (silence,
auto-resolve) it judges only the sensors of the partitions it owns, or it would find every sensor of a partition it
lost silent. ``Handover`` is the pipeline consumer's ``RebalanceListener``:

* a revoked partition's sensors are no longer judged on the clock at once (before the group moves on); their state
  is kept, because the eager protocol revokes every partition before assigning them again;
* on an assignment the sensors of partitions revoked and not assigned again are forgotten (``RuleEngine.release``:
  their open alerts stay in the database for the new owner), and then, before the consumer returns any reading
  of the new partitions, the open alerts of every owned sensor that the engine does not hold are loaded from the
  database (``restore``) with the time of each sensor's newest stored reading and its alerts resolved lately
  (``adopt``): readings the previous owner stored but never committed on the bus come again, and are judged as late
  readings against those (a replayed exceedance of an alert already resolved does not open it again);
* a lost partition (this replica was out of the group too long; another may own it already) is forgotten at once.

The embedded bus never calls it: its group has a single member, which owns every partition while it runs (the
engine judges every sensor, ``partitions`` stays ``None``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ghgwatch.alerts.engine import AlertKey
from ghgwatch.alerts.models import Alert, AlertHistory, AlertState, HistoryAction
from ghgwatch.alerts.rule_codec import SEVERITY_NAMES
from ghgwatch.alerts.store import load_open, to_open_alert
from ghgwatch.bus import TopicPartition, topics
from ghgwatch.bus._partitioner import partition_for
from ghgwatch.kit.timeutil import ensure_utc
from ghgwatch.readings.models import SensorLatest

if TYPE_CHECKING:
    from ghgwatch.alerts.service import AlertService

log = logging.getLogger(__name__)
TOPIC = topics.READINGS_RAW
WAIT_S = 30.0  # how long a rebalance callback waits for the engine (the database may be slow)
REPLAY_HORIZON_S = 86_400.0
"""Alerts resolved this long ago or less are loaded as closed intervals on a hand-over (``load_closed``). Chosen, not
measured: a replay holds the previous owner's last uncommitted batch (the pipeline commits after every stored batch,
pipeline/runner.py), whose alerts it resolved seconds before it died; a day also covers a process restarted the next
day. A replayed exceedance of an alert resolved longer ago opens an alert marked late."""


class Handover:
    def __init__(self, service: AlertService) -> None:
        self.service = service
        self.partitions: frozenset[int] | None = None  # None: not told yet, every sensor counts as owned
        self.count = 0
        self.suspended: frozenset[int] = frozenset()  # revoked, not yet assigned again nor given up
        self.loop: asyncio.AbstractEventLoop | None = None
        self.adopted = 0  # open alerts loaded from the database on assignments (tests, logs)
        self._tasks: set[asyncio.Task[None]] = set()

    def owns(self, sensor_id: str) -> bool:
        if self.partitions is None:
            return True
        return self.count > 0 and partition_for(sensor_id.encode(), self.count) in self.partitions

    def receives(self, sensor_id: str) -> bool:
        """Whether the sensor's partition is assigned to this replica now (a shared bus): not before the first
        assignment, not while revoked. Only such sensors are judged by this replica's engine."""
        return self.partitions is not None and self.owns(sensor_id)

    # ------------------------------------------------------------------ RebalanceListener (any thread)
    def assigned(self, partitions: frozenset[TopicPartition], counts: Mapping[str, int]) -> None:
        parts = frozenset(tp.partition for tp in partitions if tp.topic == TOPIC)
        self._run(self._assigned(parts, counts.get(TOPIC, 0)))

    def revoked(self, partitions: frozenset[TopicPartition], *, lost: bool) -> None:
        self._run(self._revoked(frozenset(tp.partition for tp in partitions if tp.topic == TOPIC), lost))

    def _run(self, job: Coroutine[Any, Any, None]) -> None:
        """On the event loop (embedded bus): as a task, in order. From the consumer's poll thread (Kafka): on the
        loop, waiting for it, so that the group moves on (and readings of new partitions come) only afterwards."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is not None:
            task = loop.create_task(job)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return
        if self.loop is None or self.loop.is_closed():
            job.close()
            return
        future = asyncio.run_coroutine_threadsafe(job, self.loop)
        try:
            future.result(WAIT_S)
        except Exception:  # the engine keeps going; the next assignment or reconcile catches up
            log.exception("handing the alert engine's sensors over failed")

    async def wait(self) -> None:
        """Until the hand-over jobs started so far are done (tests; stop)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # ------------------------------------------------------------------ on the loop
    async def _revoked(self, parts: frozenset[int], lost: bool) -> None:
        svc = self.service
        async with svc._lock:
            if self.partitions is None:
                return
            self.partitions = self.partitions - parts
            if lost:
                self._release([n for n in svc.engine.sensor_ids() if partition_for(n.encode(), self.count) in parts])
            else:
                self.suspended = self.suspended | parts
            svc.engine.own(self.owns)
        log.info("alert engine: partitions %s %s", sorted(parts), "lost" if lost else "revoked")

    async def _assigned(self, parts: frozenset[int], count: int) -> None:
        svc = self.service
        async with svc._lock:
            first = self.partitions is None
            gone = self.suspended - parts
            self.partitions, self.count, self.suspended = parts, count, frozenset()
            if first:  # the engine restored every open alert at start: keep only the owned sensors'
                self._release([n for n in svc.engine.sensor_ids() if not self.owns(n)])
            elif gone:
                self._release([n for n in svc.engine.sensor_ids() if partition_for(n.encode(), count) in gone])
            svc.engine.own(self.owns)
        await self.adopt()
        log.info("alert engine: owns partitions %s of %d, with %d open alert(s)", sorted(parts), count,
                 len(svc.engine.open_alerts()))

    def _release(self, names: list[str]) -> None:
        """Forget these sensors (under the service's lock): another replica owns them now."""
        svc = self.service
        for key in svc.engine.release(names):
            svc.ids.pop(key, None)
        if names:
            log.info("alert engine: handed %d sensor(s) over", len(names))

    async def adopt(self, *, silence: bool = True) -> None:
        """Load the open alerts, newest reading times and alerts resolved lately of the owned sensors the engine does
        not hold (on every assignment; at start with ``silence=False``, see ``RuleEngine.adopt``)."""
        svc = self.service
        async with svc.db.sessions() as s:
            rows = await load_open(s)
            latest = {str(sid): ts / 1e6 for sid, ts in (await s.execute(select(SensorLatest.sensor_id,
                                                                                SensorLatest.ts))).all()}
            closed = await load_closed(s, time.time() - REPLAY_HORIZON_S, latest)
        # The previous owner may know sensors or rules this engine has not learned yet (registered or changed since
        # its last refresh): learn them from the database first, or their open alerts would be resolved as "rule no
        # longer in force"; only a fresh read may resolve them so (``AlertService.rebuild``).
        keys = [to_open_alert(r).key for r in rows]
        await svc.rebuild(reload=any(self.owns(k.sensor_id) and not svc.engine.in_force(k) for k in keys))
        async with svc._lock:
            held = {oa.key for oa in svc.engine.open_alerts()}
            new = [(r.id, oa) for r in rows if (oa := to_open_alert(r)).key not in held and self.owns(oa.key.sensor_id)]
            for row_id, oa in new:
                svc.ids[oa.key] = row_id
            now = time.time()
            gone = svc.engine.restore([oa for _, oa in new], now=now)
            svc.engine.adopt({k: v for k, v in latest.items() if self.owns(k)}, now,
                             [c for c in closed if self.owns(c[0].sensor_id)], silence=silence)
            self.adopted += len(new) - len(gone)
            if gone:
                await svc._persist(gone)
        if new:
            log.info("alert engine: took over %d open alert(s)", len(new))


def shared(bus: Any) -> bool:
    """Whether other replicas may consume the bus beside this process (Kafka), so that the partitions of
    ``readings.raw.v1`` are divided between them; the embedded bus has a single member, which owns every partition."""
    from ghgwatch.bus.embedded import EmbeddedBus

    return bus is not None and not isinstance(bus, EmbeddedBus)


async def load_closed(s: AsyncSession, since: float,
                      latest: Mapping[str, float]) -> list[tuple[AlertKey, float, float, int]]:
    """The alerts resolved at or after ``since`` (wall clock) as the engine's closed intervals: (key, oldest reading
    time covered, reading time it resolved at, severity). The end is the reading that resolved it (its history's
    ``reading_ts``); an alert resolved on the clock or by hand has none, and ends at its resolution time or at its
    sensor's newest stored reading, whichever is older (the engine judged no newer reading before resolving it)."""
    cutoff = datetime.fromtimestamp(since, UTC)
    resolved = (Alert.state == AlertState.RESOLVED.value, Alert.resolved_at >= cutoff)
    alerts = (await s.execute(select(Alert.id, Alert.sensor_id, Alert.rule_id, Alert.severity, Alert.reading_ts,
                                     Alert.peak_ts, Alert.resolved_at).where(*resolved))).all()
    if not alerts:
        return []
    ends: dict[int, float] = {}
    history = select(AlertHistory.alert_id, AlertHistory.details).join(Alert, Alert.id == AlertHistory.alert_id).where(
        *resolved, AlertHistory.action == HistoryAction.AUTO_RESOLVED.value)
    for alert_id, details in (await s.execute(history)).all():
        stamp = (details or {}).get("reading_ts")
        if isinstance(stamp, str):
            ends[int(alert_id)] = ensure_utc(datetime.fromisoformat(stamp)).timestamp()
    out: list[tuple[AlertKey, float, float, int]] = []
    for alert_id, sensor_id, rule_id, severity, reading_ts, peak_ts, resolved_at in alerts:
        times = [ensure_utc(t).timestamp() for t in (reading_ts, peak_ts) if t is not None]
        if not times or severity not in SEVERITY_NAMES:
            continue
        end = ends.get(int(alert_id))
        if end is None:
            bounds = [latest.get(str(sensor_id)), None if resolved_at is None else ensure_utc(resolved_at).timestamp()]
            end = min((b for b in bounds if b is not None), default=max(times))
        start = min(times)
        out.append((AlertKey(str(sensor_id), str(rule_id)), start, max(end, max(times)), int(SEVERITY_NAMES[severity])))
    return out
