"""Retention on SQLite and PostgreSQL: raw readings by whole days (partitions dropped on PostgreSQL, small
batches on SQLite), each rollup level by its own horizon, dead letters and resolved alerts; rollups stay
correct at the boundary."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import text

from ghgwatch.lifecycle.job import LifecycleJob
from ghgwatch.readings import partitions
from ghgwatch.readings.writer import DeadLetterRow, SensorRows, store_dead_letters, write_batch
from ghgwatch.settings import Settings, build_settings
from ghgwatch.store import Database
from tests.conftest import World

DAY = 86_400_000_000
HOUR = 3_600_000_000


def _settings(tmp_settings: Settings, **retention: object) -> Settings:
    return build_settings(data_dir=tmp_settings.data_dir, db=tmp_settings.db.model_dump(),
                          retention={"raw_days": 2, "rollup_1m_days": 3, "rollup_1h_days": 30, "deadletter_days": 5,
                                     "alert_history_days": 5, **retention})


async def _day_of_readings(db: Database, sensors: list[int], day: int, per_hour: int = 60) -> int:
    """``per_hour`` readings an hour for each sensor over one whole day."""
    ts = day * DAY + np.arange(24 * per_hour, dtype=np.int64) * (HOUR // per_hour)
    await write_batch(db, [SensorRows(s, ts, np.full(len(ts), 0.5 + s / 10), np.zeros(len(ts), np.int16))
                           for s in sensors], [])
    return len(ts) * len(sensors)


async def _scalar(db: Database, sql: str, **params: object) -> int:
    async with db.engine.connect() as conn:
        return int((await conn.execute(text(sql), params)).scalar() or 0)


@pytest.fixture
def today() -> int:
    return partitions.day_of(int(datetime.now(UTC).timestamp() * 1_000_000))


async def test_retention_drops_whole_days_and_keeps_rollups_right(world: World, db: Database, settings: Settings,
                                                                  today: int) -> None:
    sensors = [world.sensor_a]
    written = {day: await _day_of_readings(db, sensors, day) for day in range(today - 5, today + 1)}
    day_count_before = await _scalar(db, "SELECT sum(count) FROM rollup_1d")
    job = LifecycleJob(db, _settings(settings), None)
    report = await job.run_once()
    drop_before = today - 3  # raw_days 2, one day of grace
    assert report.raw_removed_before_day == drop_before
    for day, n in written.items():
        kept = await _scalar(db, "SELECT count(*) FROM readings WHERE ts >= :a AND ts < :b", a=day * DAY,
                             b=(day + 1) * DAY)
        assert kept == (n if day >= drop_before else 0), day
    if db.dialect == "postgresql":  # whole partitions dropped, ahead ones created
        # Today - 5 and today - 4 held this test's readings; older, empty partitions left by earlier tests in the
        # same database go too.
        assert {today - 5, today - 4} <= set(report.partitions_dropped)
        assert all(day < drop_before for day in report.partitions_dropped)
        existing = await partitions.existing_days(db)
        assert min(existing) == drop_before and max(existing) >= today + 7
    # 1-minute rollups keep 3 days; hours and days keep everything they had (counts unchanged).
    assert await _scalar(db, "SELECT min(bucket) FROM rollup_1m") == (today - 3) * DAY
    assert await _scalar(db, "SELECT sum(count) FROM rollup_1h") == day_count_before
    assert await _scalar(db, "SELECT sum(count) FROM rollup_1d") == day_count_before
    # At the boundary: a re-delivered batch of the oldest kept day plus new readings recomputes its buckets
    # from the levels below, which are complete there, so the day's rollup still equals its raw count.
    ts = drop_before * DAY + np.arange(0, 2 * 24 * 60, dtype=np.int64) * (HOUR // 120)
    await write_batch(db, [SensorRows(world.sensor_a, ts, np.full(len(ts), 0.9), np.zeros(len(ts), np.int16))], [])
    raw_day = await _scalar(db, "SELECT count(*) FROM readings WHERE ts >= :a AND ts < :b", a=drop_before * DAY,
                            b=(drop_before + 1) * DAY)
    assert raw_day == written[drop_before] + 24 * 60  # half of the batch was already there
    assert await _scalar(db, "SELECT count FROM rollup_1d WHERE bucket = :b", b=drop_before * DAY) == raw_day
    assert await _scalar(db, "SELECT sum(count) FROM rollup_1h WHERE bucket >= :a AND bucket < :b",
                         a=drop_before * DAY, b=(drop_before + 1) * DAY) == raw_day
    # A second run has nothing left to do.
    again = await job.run_once()
    assert again.partitions_dropped == [] and "readings" not in again.rows_deleted


async def test_dead_letters_and_resolved_alerts_expire(world: World, db: Database, settings: Settings) -> None:
    await store_dead_letters(db, [DeadLetterRow(f"t/0/{i}", world.org_a, world.sensor_a, "http", "unit", "x", {})
                                  for i in range(3)])
    old = datetime.now(UTC) - timedelta(days=9)
    async with db.engine.begin() as conn:
        await conn.execute(text("UPDATE deadletter SET created_at = :t WHERE ref <> 't/0/2'"),
                           {"t": old.replace(tzinfo=None) if db.dialect == "sqlite" else old})
        for i, (state, resolved) in enumerate([("resolved", old), ("resolved", datetime.now(UTC)), ("open", None)]):
            await conn.execute(text(
                "INSERT INTO alerts (id, organization_id, facility_id, sensor_id, rule_id, condition, severity, state, "
                "rule_source, reason, opened_at, updated_at, resolved_at) VALUES (:i, :o, :f, :s, 'r', 'threshold', "
                "'alarm', :st, '', '', :t, :t, :rt)"),
                {"i": 100 + i, "o": world.org_a, "f": world.facility_a, "s": world.sensor_a, "st": state, "t": old,
                 "rt": resolved})
            await conn.execute(text("INSERT INTO alert_history (alert_id, at, action, actor, details) "
                                    "VALUES (:i, :t, 'opened', 'engine', '{}')"), {"i": 100 + i, "t": old})
    report = await LifecycleJob(db, _settings(settings), None).run_once()
    assert report.rows_deleted["deadletter"] == 2 and report.rows_deleted["alerts"] == 1
    assert await _scalar(db, "SELECT count(*) FROM deadletter") == 1
    assert await _scalar(db, "SELECT count(*) FROM alerts") == 2
    assert await _scalar(db, "SELECT count(*) FROM alert_history") == 2  # the expired alert's history went with it


async def test_sqlite_deletes_in_small_batches_while_the_pipeline_writes(world: World, db: Database,
                                                                           settings: Settings, today: int) -> None:
    if db.dialect != "sqlite":
        pytest.skip("PostgreSQL drops partitions; batched deletes are SQLite's")
    for day in (today - 6, today - 5):
        await _day_of_readings(db, [world.sensor_a], day, per_hour=600)
    job = LifecycleJob(db, _settings(settings, delete_batch=100), None)  # ~290 transactions: a wide window
    old = "SELECT count(*) FROM readings WHERE ts < :t"
    running = asyncio.create_task(job.run_once())
    while await _scalar(db, old, t=today * DAY) == 2 * 24 * 600:  # noqa: ASYNC110 (until the clean-up began)
        await asyncio.sleep(0.001)
    ts = today * DAY + np.arange(100, dtype=np.int64) * 1_000_000
    await write_batch(db, [SensorRows(world.sensor_a, ts, np.full(100, 0.4), np.zeros(100, np.int16))], [])
    left = await _scalar(db, old, t=today * DAY)
    assert left > 0, "the write had to wait for the whole clean-up"
    report = await running
    assert report.rows_deleted["readings"] == 2 * 24 * 600
    assert await _scalar(db, "SELECT count(*) FROM readings") == 100


def test_rollup_retention_cannot_be_shorter_than_the_level_below() -> None:
    with pytest.raises(ValueError, match="rollup_1m_days"):
        build_settings(retention={"raw_days": 30, "rollup_1m_days": 10})
    with pytest.raises(ValueError, match="rollup_1h_days"):
        build_settings(retention={"raw_days": None, "rollup_1m_days": None, "rollup_1h_days": 100})
