"""Readings stored before (a re-delivered batch, a gateway resending its buffer, a reading sent twice with another
value): the store keeps the first of each (sensor, ts) and adds only the new readings to the rollups, without
recomputing the touched buckets from raw (readings/writer.py ``_store``), on both databases."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sqlalchemy import text

from ghgwatch.readings import rollups, writer
from ghgwatch.readings.models import ROLLUPS
from ghgwatch.readings.writer import SensorRows, rebuild_rollups, write_batch
from ghgwatch.store import Database

T0 = 1_790_000_000_000_000  # 2026-09-21, a fixed moment
S = 1_000_000


def _rows(sensor: int, ts: np.ndarray, values: np.ndarray) -> SensorRows:
    return SensorRows(sensor, ts.astype(np.int64), values.astype(np.float64), np.zeros(len(ts), np.int16))


async def _all(db: Database, sql: str) -> list[tuple[Any, ...]]:
    async with db.engine.connect() as conn:
        return [tuple(r) for r in (await conn.execute(text(sql))).all()]


async def _rollups(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    names = [t.__tablename__ for t in ROLLUPS]  # type: ignore[attr-defined]
    return {name: await _all(db, "SELECT sensor_id, bucket, count, round(CAST(sum AS numeric), 6), min, max, last, "
                                 f"last_ts FROM {name} ORDER BY sensor_id, bucket") for name in names}


async def _rebuilt(db: Database, sensors: list[int]) -> dict[str, list[tuple[Any, ...]]]:
    await rebuild_rollups(db, sensors, T0 - 86_400 * S, T0 + 2 * 86_400 * S)
    return await _rollups(db)


async def test_a_partly_resent_batch_stores_its_new_readings_and_adds_only_them(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(5)
    first = T0 + np.arange(600) * S  # ten minutes of 1 Hz
    await write_batch(db, [_rows(1, first, rng.normal(1, .2, 600)), _rows(2, first, rng.normal(5, 1, 600))], [])
    before = await _all(db, "SELECT sensor_id, ts, value FROM readings ORDER BY sensor_id, ts")

    recomputed: list[object] = []
    recompute = rollups.recompute

    async def spy(conn: Any, spans: Any) -> None:
        recomputed.append(spans)
        await recompute(conn, spans)

    monkeypatch.setattr(rollups, "recompute", spy)
    # Sensor 1: its last 100 s again with other values, 300 s new, the newest of them twice (second value
    # differs); sensor 2: all again (a re-delivery); sensor 3: new.
    again, new = first[-100:], T0 + np.arange(600, 900) * S
    s1_ts = np.concatenate([again, new, new[-1:]])
    s1_values = np.concatenate([np.full(100, 9.0), np.arange(300.0), [-7.0]])
    await write_batch(db, [_rows(1, s1_ts, s1_values), _rows(2, first, np.full(600, 9.0)),
                           _rows(3, new, np.full(300, 2.0))], [])
    assert recomputed == []  # the resent path adds the new readings' aggregates; no bucket read back from raw

    stored = await _all(db, "SELECT sensor_id, ts, value FROM readings ORDER BY sensor_id, ts")
    assert [r for r in stored if r[0] in (1, 2) and r[1] < new[0]] == before  # the first of each (sensor, ts) stays
    assert [r[2] for r in stored if r[0] == 1 and r[1] >= new[0]] == list(np.arange(300.0))  # -7.0 came second
    assert len(stored) == 1200 + 300 + 300
    latest = await _all(db, "SELECT sensor_id, ts, value FROM sensor_latest ORDER BY sensor_id")
    assert latest == [(1, int(new[-1]), 299.0), (2, int(first[-1]), before[-1][2]), (3, int(new[-1]), 2.0)]
    merged = await _rollups(db)
    monkeypatch.setattr(rollups, "recompute", recompute)
    assert merged == await _rebuilt(db, [1, 2, 3])
    day = await _all(db, "SELECT sum(count) FROM rollup_1d")
    assert day == [(1800,)]


async def test_readings_stored_by_another_writer_meanwhile_are_recomputed(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """The resent path's insert finds readings the key look-up did not (a writer outside the pipeline's locks):
    it recomputes the touched buckets from raw, so the rollups stay those of the stored readings."""
    ts = T0 + np.arange(300) * S
    await write_batch(db, [_rows(1, ts, np.ones(300))], [])

    async def nothing_stored(conn: Any, sensor: Any, ts: Any) -> set[tuple[int, int]]:
        return set()  # as if the readings had been stored between the look-up and the insert

    monkeypatch.setattr(writer, "_stored_keys", nothing_stored)
    await write_batch(db, [_rows(1, np.concatenate([ts[-50:], ts[-1:] + np.arange(1, 51) * S]), np.full(100, 3.0))],
                      [])
    merged = await _rollups(db)
    assert await _all(db, "SELECT count(*), sum(value) FROM readings") == [(350, 300.0 + 150.0)]
    assert merged == await _rebuilt(db, [1])
    assert await _all(db, "SELECT sum(count) FROM rollup_1m") == [(350,)]


def test_first_unstored_keeps_the_first_of_each_key_not_stored() -> None:
    sensor = np.array([1, 1, 2, 1, 2, 1], np.int64)
    ts = np.array([10, 11, 10, 10, 12, 11], np.int64)
    keep = writer._first_unstored(sensor, ts, {(2, 10)})
    assert keep.tolist() == [True, True, False, False, True, False]


def test_spans_give_each_sensors_first_and_last_instant() -> None:
    sensor = np.array([3, 1, 3, 1, 2], np.int64)
    ts = np.array([50, 7, 20, 9, 4], np.int64)
    assert rollups.extents(sensor, ts) == [(1, 7, 9), (2, 4, 4), (3, 20, 50)]
