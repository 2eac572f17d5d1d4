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


def test_sqlitechunk_rows_cover_every_reading_once_in_order() -> None:
    from ghgwatch.readings.writer import chunk_rows

    batches = [_rows(1, T0 + np.arange(7), np.arange(7.0)), _rows(2, np.empty(0, np.int64), np.empty(0)),
               _rows(3, T0 + np.arange(2), np.arange(2.0)), _rows(4, T0 + np.arange(5), np.arange(5.0))]
    chunks = chunk_rows(batches, 3)
    assert [sum(len(b.ts) for b in c) for c in chunks] == [3, 3, 3, 3, 2]
    flat = [(b.sensor, int(t)) for c in chunks for b in c for t in b.ts]
    assert flat == [(b.sensor, int(t)) for b in batches for t in b.ts]
    assert chunk_rows([], 3) == [[]]


async def test_a_batch_written_in_sqlitechunk_rows_stores_what_one_transaction_does(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite writes a large batch in several transactions (so an alert waits for one chunk only); readings,
    rollups and latest values are those of one transaction, and a re-delivered batch changes nothing."""
    from ghgwatch.readings import writer

    monkeypatch.setattr(writer, "SQLITE_CHUNK", 250)
    written: list[int] = []  # readings per transaction
    write = writer._write

    async def counting(db: Database, batches: list[SensorRows], dead: list[object]) -> int:
        written.append(sum(len(b.ts) for b in batches))
        return await write(db, batches, dead)  # type: ignore[arg-type]

    monkeypatch.setattr(writer, "_write", counting)
    rng = np.random.default_rng(3)
    ts = T0 + np.arange(0, 1800) * 1_000_000
    batch = [_rows(1, ts, rng.normal(1, .2, 1800)), _rows(2, ts[::3], rng.normal(5, 1, 600))]
    assert await write_batch(db, batch, []) == 2400
    assert written == ([250] * 9 + [150] if db.dialect == "sqlite" else [2400])
    merged = {t.__tablename__: await _table(db, t.__tablename__) for t in ROLLUPS}  # type: ignore[attr-defined]
    assert await write_batch(db, batch, []) == 2400  # re-delivered after a crash between chunks: no change
    await rebuild_rollups(db, [1, 2], T0 - 86_400_000_000, T0 + 86_400_000_000)
    for name, rows in merged.items():
        assert rows == await _table(db, name), name
    async with db.engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM readings"))).scalar_one() == 2400
        latest = (await conn.execute(text("SELECT sensor_id, ts FROM sensor_latest ORDER BY sensor_id"))).all()
    assert [tuple(r) for r in latest] == [(1, int(ts[-1])), (2, int(ts[::3][-1]))]
