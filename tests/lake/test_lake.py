"""Closed days go to Parquet on a real S3 API server (moto) before retention removes them, with a manifest and
checksums; the readings API, analytics and reports read them back through DuckDB, scoped to the organisation."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np
import pytest
from fastapi import FastAPI
from sqlalchemy import select, text

from ghgwatch.lake.export import verify
from ghgwatch.lake.models import LakeExport
from ghgwatch.lifecycle.job import LifecycleJob
from ghgwatch.lifecycle.service import start_lake, stop_lake
from ghgwatch.readings import partitions
from ghgwatch.readings.writer import SensorRows, write_batch
from ghgwatch.security.models import Role
from ghgwatch.settings import Settings, build_settings
from ghgwatch.store import Database
from ghgwatch.web import create_app
from tests.conftest import World, build_world
from tests.support.s3 import S3Server, running_s3

DAY = 86_400_000_000


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with running_s3() as server:
        yield server


@pytest.fixture
def lake_settings(s3: S3Server, settings: Settings) -> Settings:
    bucket = f"lake-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(bucket)
    return build_settings(data_dir=settings.data_dir, db=settings.db.model_dump(),
                          security={"jwt_secret": "test-secret-key-that-is-long-enough-for-hs256"},
                          retention={"raw_days": 2, "rollup_1m_days": 2, "rollup_1h_days": 30},
                          # Days close at midnight here, so which days are closed does not depend on the hour the
                          # test runs (the default grace of 2 h made yesterday "open" between 00:00 and 02:00 UTC).
                          lake={**s3.lake_settings(bucket), "close_after_hours": 0})


@pytest.fixture
async def lake_app(lake_settings: Settings, db: Database) -> AsyncIterator[FastAPI]:
    application = create_app(lake_settings, db=db, on_start=[start_lake], on_stop=[stop_lake])
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def lake_world(lake_app: FastAPI, db: Database) -> AsyncIterator[World]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=lake_app), base_url="http://test") as client:
        yield await build_world(client, db)


async def _write_day(db: Database, sensor: int, day: int, base: float) -> None:
    ts = day * DAY + np.arange(0, 24 * 60, dtype=np.int64) * 60_000_000 + 7_000_000  # one a minute
    values = base + np.sin(np.arange(len(ts)) / 50.0)
    await write_batch(db, [SensorRows(sensor, ts, values, np.zeros(len(ts), np.int16))], [])


def _iso(day: int) -> str:
    return datetime.fromtimestamp(day * DAY / 1e6, tz=UTC).isoformat()


async def test_closed_days_move_to_s3_and_read_back_through_the_same_api(
        lake_world: World, lake_app: FastAPI, lake_settings: Settings, db: Database,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The daily files are what is checked here; in the first days of a month some of the six days belong to a
    # closed month, which the job would compact into one file (tests/lake/test_compact.py covers that).
    async def no_compaction(*args: object) -> list[tuple[int, int, int]]:
        return []

    monkeypatch.setattr("ghgwatch.lifecycle.job.compact_closed", no_compaction)
    w = lake_world
    today = partitions.day_of(int(datetime.now(UTC).timestamp() * 1_000_000))
    sensor_b = int(await _scalar(db, "SELECT id FROM sensors WHERE organization_id = :o", o=w.org_b))
    for day in range(today - 5, today + 1):
        await _write_day(db, w.sensor_a, day, 1.0)
        await _write_day(db, sensor_b, day, 5.0)
    a_headers = await w.login(Role.ENGINEER, w.org_a)
    span = {"from": _iso(today - 5), "to": _iso(today - 3)}
    url = f"/api/v1/sensors/{w.sensor_a}/readings"
    hot_raw = (await w.client.get(url, params={**span, "resolution": "raw"}, headers=a_headers)).json()
    hot_1m = (await w.client.get(url, params={**span, "resolution": "1m"}, headers=a_headers)).json()
    assert len(hot_raw["points"]) == 2 * 24 * 60

    lake = lake_app.state.ctx.extras["lake"]
    report = await LifecycleJob(db, lake_settings, lake).run_once()
    drop_before = today - 3
    exported_days = {day for _, day in report.exported}
    assert {(w.org_a, d) for d in range(today - 5, today)} <= set(report.exported)
    assert today not in exported_days  # not closed yet
    assert report.raw_removed_before_day == drop_before
    assert await _scalar(db, "SELECT count(*) FROM readings WHERE ts < :t", t=drop_before * DAY) == 0
    assert await _scalar(db, "SELECT count(*) FROM rollup_1m WHERE bucket < :t", t=(today - 2) * DAY) == 0

    # In the bucket: one file per organisation and day, its manifest, checksums that match.
    async with db.sessions() as s:
        entries = (await s.execute(select(LakeExport).where(LakeExport.day == today - 5))).scalars().all()
    assert {e.organization_id for e in entries} == {w.org_a, w.org_b}
    for entry in entries:
        assert entry.rows == 24 * 60
        assert entry.path == f"readings/organization_id={entry.organization_id}/date={partitions.day_date(entry.day)}" \
                             "/part-0.parquet"
        assert verify(lake, entry)
        manifest = json.loads(lake.read_bytes(entry.path.replace("part-0.parquet", "manifest.json")))
        assert manifest["files"] == [{"path": "part-0.parquet", "rows": entry.rows, "bytes": entry.bytes,
                                      "sha256": entry.sha256}]
    org_manifest = json.loads(lake.read_bytes(f"readings/organization_id={w.org_a}/manifest.json"))
    assert [d["date"] for d in org_manifest["days"]][:3] == [str(partitions.day_date(d)) for d in
                                                           range(today - 5, today - 2)]

    # The same API answers from Parquet (DuckDB) now: raw points and 1-minute buckets are identical.
    cold_raw = (await w.client.get(url, params={**span, "resolution": "raw"}, headers=a_headers)).json()
    cold_1m = (await w.client.get(url, params={**span, "resolution": "1m"}, headers=a_headers)).json()
    assert cold_raw["points"] == hot_raw["points"]
    assert [(p["ts"], p["count"], p["min"], p["max"], p["last"]) for p in cold_1m["points"]] == \
           [(p["ts"], p["count"], p["min"], p["max"], p["last"]) for p in hot_1m["points"]]
    assert np.allclose([p["value"] for p in cold_1m["points"]], [p["value"] for p in hot_1m["points"]])
    # A range across the boundary joins cold and hot without gaps or doubles.
    across = (await w.client.get(url, params={"from": _iso(today - 4), "to": _iso(today - 1), "resolution": "raw"},
                                 headers=a_headers)).json()["points"]
    assert len(across) == 3 * 24 * 60 and len({p["ts"] for p in across}) == len(across)

    # Scoped: another organisation's user cannot read them, cold or hot.
    b_headers = await w.login(Role.ENGINEER, w.org_b)
    denied = await w.client.get(url, params={**span, "resolution": "raw"}, headers=b_headers)
    assert denied.status_code in (403, 404)

    # Analytics and reports read through the same layer.
    from ghgwatch.analytics.series import reading_times, rollup_series

    async with db.sessions() as session:
        means = await rollup_series(session, w.sensor_a, datetime.fromisoformat(span["from"]),
                                    datetime.fromisoformat(span["to"]), "1m")
        times = await reading_times(session, w.sensor_a, datetime.fromisoformat(span["from"]),
                                    datetime.fromisoformat(span["to"]))
    assert len(means) == 2 * 24 * 60 and np.allclose(means.to_numpy(), [p["value"] for p in hot_1m["points"]])
    assert len(times) == 2 * 24 * 60


async def test_a_failed_export_keeps_the_day_in_the_database(lake_world: World, lake_app: FastAPI,
                                                             lake_settings: Settings, db: Database,
                                                             s3: S3Server) -> None:
    w = lake_world
    today = partitions.day_of(int(datetime.now(UTC).timestamp() * 1_000_000))
    await _write_day(db, w.sensor_a, today - 6, 1.0)
    lake = lake_app.state.ctx.extras["lake"]
    broken = type(lake)(lake.fs, "no-such-bucket-" + uuid.uuid4().hex[:6] + "/lake", lake.protocol)
    report = await LifecycleJob(db, lake_settings, broken).run_once()
    assert report.export_failures >= 1 and report.exported == []
    assert await _scalar(db, "SELECT count(*) FROM readings") == 24 * 60  # kept: not in the lake


async def _scalar(db: Database, sql: str, **params: object) -> int:
    async with db.engine.connect() as conn:
        return int((await conn.execute(text(sql), params)).scalar() or 0)


def test_local_folder_lake(tmp_path: Path) -> None:
    from ghgwatch.lake.storage import open_lake
    from ghgwatch.settings import LakeSettings

    lake = open_lake(LakeSettings(url=f"file://{tmp_path / 'lake'}"))
    assert lake is not None and lake.protocol == "file"
    lake.write_bytes("readings/x/manifest.json", b"{}")
    assert lake.read_bytes("readings/x/manifest.json") == b"{}"
    assert not list((tmp_path / "lake" / "readings" / "x").glob("*.tmp"))
