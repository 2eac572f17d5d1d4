"""Rollups merged incrementally from new readings equal rollups recomputed from raw, on both databases."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import text

from ghgwatch.readings import rollups
from ghgwatch.readings.models import ROLLUPS
from ghgwatch.readings.writer import SensorRows, rebuild_rollups, write_batch
from ghgwatch.store import Database

T0 = 1_790_000_000_000_000  # 2026-09-21, a fixed moment
MINUTE = 60_000_000


def test_aggregate_matches_a_python_reference() -> None:
    rng = np.random.default_rng(7)
    sensor = rng.integers(1, 4, 500).astype(np.int64)
    ts = (T0 + rng.choice(3 * 3600, 500, replace=False) * 1_000_000).astype(np.int64)  # unique, as stored
    values = rng.normal(1.0, 0.3, 500)
    levels = rollups.aggregate(sensor, ts, values)
    for table, agg in zip(ROLLUPS, levels, strict=True):
        width = table.BUCKET_US
        expected: dict[tuple[int, int], list[tuple[int, float]]] = {}
        for s, t, v in zip(sensor.tolist(), ts.tolist(), values.tolist(), strict=True):
            expected.setdefault((s, t // width * width), []).append((t, v))
        assert len(agg) == len(expected)
        for i in range(len(agg)):
            group = sorted(expected[(int(agg.sensor[i]), int(agg.bucket[i]))])
            vals = [v for _, v in group]
            assert agg.count[i] == len(group)
            assert agg.sum[i] == pytest.approx(sum(vals))
            assert (agg.min[i], agg.max[i]) == (min(vals), max(vals))
            assert (agg.last_ts[i], agg.last[i]) == group[-1]


def _rows(sensor: int, ts: np.ndarray, values: np.ndarray) -> SensorRows:
    return SensorRows(sensor, ts.astype(np.int64), values.astype(np.float64), np.zeros(len(ts), np.int16))


async def _table(db: Database, name: str) -> list[tuple[object, ...]]:
    async with db.engine.connect() as conn:
        rows = (await conn.execute(text(
            f"SELECT sensor_id, bucket, count, round(CAST(sum AS numeric), 6), min, max, last, last_ts "
            f"FROM {name} ORDER BY sensor_id, bucket"))).all()
    return [tuple(r) for r in rows]


async def test_merged_rollups_equal_recomputed_ones_with_duplicates_and_late_data(db: Database) -> None:
    rng = np.random.default_rng(11)
    ts_all = T0 + np.arange(0, 2 * 3600) * 1_000_000  # two hours of 1 Hz
    for start in range(0, len(ts_all), 900):  # batches of 15 min
        chunk = ts_all[start:start + 900]
        await write_batch(db, [_rows(1, chunk, rng.normal(1, .2, len(chunk))),
                               _rows(2, chunk[::2], rng.normal(5, 1, len(chunk[::2])))], [])
    # A re-delivered batch (all duplicates), one with some duplicates, and late readings of an earlier hour.
    await write_batch(db, [_rows(1, ts_all[:900], np.full(900, 9.0))], [])
    late = T0 + np.arange(0, 50) * 1_000_000 + 500_000
    await write_batch(db, [_rows(1, np.concatenate([ts_all[900:910], late]), np.full(60, 3.0))], [])
    merged = {t.__tablename__: await _table(db, t.__tablename__) for t in ROLLUPS}  # type: ignore[attr-defined]
    await rebuild_rollups(db, [1, 2], T0 - 86_400_000_000, T0 + 2 * 86_400_000_000)
    for name, rows in merged.items():
        assert rows == await _table(db, name), name
    async with db.engine.connect() as conn:
        raw = (await conn.execute(text("SELECT count(*) FROM readings"))).scalar_one()
        minute = (await conn.execute(text("SELECT sum(count) FROM rollup_1m"))).scalar_one()
        day = (await conn.execute(text("SELECT sum(count) FROM rollup_1d"))).scalar_one()
    assert raw == 7200 + 3600 + 50 == minute == day
