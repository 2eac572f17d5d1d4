"""The lifecycle job: partitions ahead, closed days to the data lake, then retention of every table.

Runs in the pipeline role every ``retention.interval_s``. On PostgreSQL a session advisory lock makes one
replica run it at a time (the others skip that round). Progress goes to the log (one line per step that did
something) and to the ``ghgwatch_retention_*`` and ``ghgwatch_lake_*`` metrics.

Closed months are then compacted (:mod:`ghgwatch.lake.compact`): their daily files merged into one file per
organisation and month, which is what makes a year of history a dozen object reads instead of 365.

Order matters: a day of raw readings is removed only after every organisation's file of that day is in the
lake with as many rows as the day's rollups count (when a lake is configured); a failed export keeps that day
and every later one until the next run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, text

from ghgwatch.kit.timeutil import utcnow
from ghgwatch.lake.compact import compact_closed
from ghgwatch.lake.export import export_day
from ghgwatch.lake.models import LakeExport
from ghgwatch.lake.storage import Lake
from ghgwatch.lifecycle import retention
from ghgwatch.observability import metrics
from ghgwatch.readings import partitions
from ghgwatch.readings.partitions import DAY_US
from ghgwatch.settings import Settings
from ghgwatch.store import Database

log = logging.getLogger(__name__)
_LOCK_KEY = 20_261_117


@dataclass
class RunReport:
    ran: bool = True
    exported: list[tuple[int, int]] = field(default_factory=list)
    """(organisation, day) written to the lake."""
    compacted: list[tuple[int, int, int]] = field(default_factory=list)
    """(organisation, year, month) whose daily files were merged into one monthly file."""
    export_failures: int = 0
    raw_removed_before_day: int | None = None
    partitions_dropped: list[int] = field(default_factory=list)
    rows_deleted: dict[str, int] = field(default_factory=dict)


class LifecycleJob:
    def __init__(self, db: Database, settings: Settings, lake: Lake | None) -> None:
        self.db, self.settings, self.lake = db, settings, lake
        self._task: asyncio.Task[None] | None = None
        self._empty: set[tuple[int, int]] = set()  # (org, day) whose raw rows are gone: nothing to export

    # ------------------------------------------------------------------ schedule
    def start(self, first_delay_s: float = 30.0) -> None:
        self._task = asyncio.create_task(self._loop(first_delay_s), name="lifecycle")

    async def stop(self) -> None:
        from ghgwatch.kit.aio import cancel_and_wait

        await cancel_and_wait([self._task])
        self._task = None

    async def _loop(self, first_delay_s: float) -> None:
        await asyncio.sleep(min(first_delay_s, self.settings.retention.interval_s))
        while True:
            try:
                await self.run_once()
            except Exception:  # a failed round is retried at the next one
                log.exception("lifecycle job failed")
            await asyncio.sleep(self.settings.retention.interval_s)

    # ------------------------------------------------------------------ one run
    async def run_once(self, now: datetime | None = None) -> RunReport:
        started = time.perf_counter()
        now = now or utcnow()
        async with self._exclusive() as mine:
            if not mine:
                log.info("lifecycle: another replica is running the job; skipped")
                return RunReport(ran=False)
            report = await self._run(now)
        metrics.RETENTION_RUN_DURATION.observe(time.perf_counter() - started)
        metrics.RETENTION_LAST_RUN.set(time.time())
        log.info("lifecycle: done in %.1f s (exported %d day files, %d failures, compacted %d months, "
                 "%d partitions dropped, rows deleted %s)", time.perf_counter() - started, len(report.exported),
                 report.export_failures, len(report.compacted),
                 len(report.partitions_dropped), report.rows_deleted or "none")
        return report

    async def _run(self, now: datetime) -> RunReport:
        cfg = self.settings.retention
        report = RunReport()
        today = partitions.day_of(int(now.timestamp() * 1_000_000))
        if partitions.is_partitioned(self.db):
            await partitions.ensure_days(self.db, range(today - 1, today + cfg.partitions_ahead_days + 1))
        failed_day: int | None = None
        if self.lake is not None:
            failed_day = await self._export_closed(now, report)
            report.compacted = await compact_closed(self.db, self.lake, self._closed_before(now), failed_day)
        drop_before = retention.drop_before_day(today, cfg.raw_days)
        sensors = await retention.sensors_with_data(self.db)
        if drop_before is not None:
            if failed_day is not None and failed_day < drop_before:
                log.warning("lifecycle: raw readings from %s on are kept: their export failed",
                            partitions.day_date(failed_day))
                drop_before = failed_day
            report.raw_removed_before_day = drop_before
            if partitions.is_partitioned(self.db):
                for day in sorted(d for d in await partitions.existing_days(self.db) if d < drop_before):
                    await partitions.drop_day(self.db, day)
                    metrics.RETENTION_PARTITIONS_DROPPED.inc()
                    report.partitions_dropped.append(day)
                    log.info("retention: readings of %s dropped (partition %s)", partitions.day_date(day),
                             partitions.partition_name(day))
            else:
                report.rows_deleted["readings"] = await retention.delete_before(
                    self.db, "readings", "ts", sensors, drop_before * DAY_US, cfg.delete_batch)
        report.rows_deleted |= await retention.expire_rollups(self.db, sensors, today, {
            "rollup_1m": cfg.rollup_1m_days, "rollup_1h": cfg.rollup_1h_days, "rollup_1d": cfg.rollup_1d_days},
            cfg.delete_batch)
        report.rows_deleted["deadletter"] = await retention.expire_dead_letters(self.db, cfg.deadletter_days,
                                                                                cfg.delete_batch)
        report.rows_deleted["alerts"] = await retention.expire_alerts(self.db, cfg.alert_history_days,
                                                                      cfg.delete_batch)
        report.rows_deleted = {k: v for k, v in report.rows_deleted.items() if v}
        return report

    def _closed_before(self, now: datetime) -> int:
        """Days before this one are closed: they ended ``lake.close_after_hours`` ago."""
        return partitions.day_of(
            int(now.timestamp() * 1_000_000) - int(self.settings.lake.close_after_hours * 3600 * 1_000_000))

    async def _export_closed(self, now: datetime, report: RunReport) -> int | None:
        """Export every closed (organisation, day) whose lake file is missing or has fewer rows than the day's
        rollups count; returns the earliest day whose export failed (None: all good)."""
        assert self.lake is not None
        closed_before = self._closed_before(now)
        async with self.db.engine.connect() as conn:
            counts = (await conn.execute(text(
                f"SELECT coalesce(s.organization_id, 0), r.bucket / {DAY_US}, sum(r.count) FROM rollup_1d r "
                "LEFT JOIN sensors s ON s.id = r.sensor_id WHERE r.bucket < :end GROUP BY 1, 2"),
                {"end": closed_before * DAY_US})).all()
            owners = (await conn.execute(text(
                "SELECT l.sensor_id, coalesce(s.organization_id, 0) FROM sensor_latest l "
                "LEFT JOIN sensors s ON s.id = l.sensor_id"))).all()
        async with self.db.sessions() as session:
            ledger = {(r.organization_id, r.day): r.rows for r in (await session.execute(select(LakeExport))).scalars()}
        sensors_of: dict[int, list[int]] = {}
        for sensor, org in owners:
            sensors_of.setdefault(int(org), []).append(int(sensor))
        failed: int | None = None
        for org, day, rows in sorted(counts, key=lambda c: (int(c[1]), int(c[0]))):
            key = (int(org), int(day))
            if ledger.get(key) == int(rows) or key in self._empty:
                continue
            try:
                done = await export_day(self.db, self.lake, key[0], sensors_of.get(key[0], []), key[1])
            except Exception:
                log.exception("lake: exporting organisation %d, %s failed", key[0], partitions.day_date(key[1]))
                metrics.LAKE_EXPORT_FAILURES.inc()
                report.export_failures += 1
                failed = key[1] if failed is None else min(failed, key[1])
                continue
            if done is None:
                self._empty.add(key)
            else:
                report.exported.append(key)
        return failed

    @contextlib.asynccontextmanager
    async def _exclusive(self) -> AsyncIterator[bool]:
        if self.db.dialect != "postgresql":
            yield True
            return
        async with self.db.engine.connect() as conn:
            got = bool((await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": _LOCK_KEY})).scalar())
            await conn.commit()
            try:
                yield got
            finally:
                if got:
                    await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _LOCK_KEY})
                    await conn.commit()
