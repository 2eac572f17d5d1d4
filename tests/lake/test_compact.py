"""Closed months are compacted into one Parquet file per organisation and month, on S3 and in a local folder;
readers follow the ledger (monthly where present, daily otherwise), and a compaction interrupted at any step
leaves readable data that is neither lost nor doubled."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pyarrow.parquet as pq
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from ghgwatch.lake import compact
from ghgwatch.lake.compact import month_dir, month_of, month_range
from ghgwatch.lake.export import export_day, verify
from ghgwatch.lake.models import LakeExport
from ghgwatch.lake.storage import Lake
from ghgwatch.lifecycle.job import LifecycleJob
from ghgwatch.lifecycle.service import start_lake, stop_lake
from ghgwatch.readings import partitions
from ghgwatch.security.models import Role
from ghgwatch.settings import Settings, build_settings
from ghgwatch.store import Database
from ghgwatch.web import create_app
from tests.conftest import World, build_world
from tests.lake.test_lake import _iso, _scalar, _write_day
from tests.support.s3 import S3Server, running_s3

DAY = 86_400_000_000
STORAGES = ["local", "s3"]


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with running_s3() as server:
        yield server


@pytest.fixture(params=STORAGES)
def lake_settings(request: pytest.FixtureRequest, settings: Settings, tmp_path: Path) -> Settings:
    if request.param == "s3":
        server: S3Server = request.getfixturevalue("s3")
        bucket = f"compact-{uuid.uuid4().hex[:8]}"
        server.create_bucket(bucket)
        lake: dict[str, Any] = server.lake_settings(bucket)
    else:
        lake = {"url": str(tmp_path / "lake")}
    return build_settings(data_dir=settings.data_dir, db=settings.db.model_dump(),
                          security={"jwt_secret": "test-secret-key-that-is-long-enough-for-hs256"},
                          retention={"raw_days": 2, "rollup_1m_days": 2, "rollup_1h_days": 30},
                          lake={**lake, "close_after_hours": 0})


@pytest.fixture
async def lake_app(lake_settings: Settings, db: Database) -> AsyncIterator[FastAPI]:
    application = create_app(lake_settings, db=db, on_start=[start_lake], on_stop=[stop_lake])
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def lake_world(lake_app: FastAPI, db: Database) -> AsyncIterator[World]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=lake_app), base_url="http://test") as client:
        yield await build_world(client, db)


def _today() -> int:
    return partitions.day_of(int(datetime.now(UTC).timestamp() * 1_000_000))


def _old_month() -> tuple[int, int, list[int]]:
    """A month that closed at least four weeks ago, and its first three days (past every horizon)."""
    year, month = month_of(month_range(*month_of(_today())).start - 1)  # the previous month
    year, month = month_of(month_range(year, month).start - 1)  # and the one before it
    start = month_range(year, month).start
    return year, month, [start, start + 1, start + 2]


def _objects(lake: Lake, relative: str) -> list[str]:
    lake.fs.invalidate_cache()
    try:
        return sorted(str(p).rsplit("/", 1)[1] for p in lake.fs.ls(lake.path(relative), detail=False))
    except FileNotFoundError:
        return []


async def _ledger(db: Database, org: int) -> dict[int, LakeExport]:
    async with db.sessions() as s:
        return {e.day: e for e in (await s.execute(select(LakeExport).where(
            LakeExport.organization_id == org))).scalars()}


async def _points(w: World, headers: dict[str, str], days: list[int], resolution: str = "raw") -> list[Any]:
    response = await w.client.get(f"/api/v1/sensors/{w.sensor_a}/readings", headers=headers, params={
        "from": _iso(days[0]), "to": _iso(days[-1] + 1), "resolution": resolution})
    assert response.status_code == 200, response.text
    points: list[Any] = response.json()["points"]
    return points


async def test_a_closed_month_becomes_one_sorted_file_and_reads_the_same(
        lake_world: World, lake_app: FastAPI, lake_settings: Settings, db: Database) -> None:
    w = lake_world
    year, month, days = _old_month()
    today = _today()
    recent = [today - 1]  # yesterday: an open month's day (stays daily) unless today is the 1st
    sensor_b = int(await _scalar(db, "SELECT id FROM sensors WHERE organization_id = :o", o=w.org_b))
    for day in [*days, *recent]:
        await _write_day(db, w.sensor_a, day, 1.0)
        await _write_day(db, sensor_b, day, 5.0)
    headers = await w.login(Role.ENGINEER, w.org_a)
    hot = await _points(w, headers, days)
    hot_1h = await _points(w, headers, days, "1h")
    assert len(hot) == 3 * 24 * 60

    lake: Lake = lake_app.state.ctx.extras["lake"]
    report = await LifecycleJob(db, lake_settings, lake).run_once()
    assert (w.org_a, year, month) in report.compacted and (w.org_b, year, month) in report.compacted
    assert await _scalar(db, "SELECT count(*) FROM readings WHERE ts < :t", t=(days[-1] + 1) * DAY) == 0

    ledger = await _ledger(db, w.org_a)
    monthly = {ledger[d].path for d in days}
    assert len(monthly) == 1
    path = monthly.pop()
    assert path.startswith(month_dir(w.org_a, year, month) + "/part-")
    assert all(ledger[d].rows == 24 * 60 for d in days) and verify(lake, ledger[days[0]])
    if month_of(recent[0]) == month_of(today):  # its month is still open: the day stays a daily file
        assert "/date=" in ledger[recent[0]].path
    else:  # today is the 1st: yesterday's month closed at midnight (close_after_hours 0) and was compacted too
        assert ledger[recent[0]].path.startswith(month_dir(w.org_a, *month_of(recent[0])) + "/part-")
    # The daily folders are gone; the month's folder holds its file and a manifest with its checksum.
    org_folder = _objects(lake, f"readings/organization_id={w.org_a}")
    assert not [n for n in org_folder if n.startswith(f"date={year:04d}-{month:02d}-")]
    assert _objects(lake, month_dir(w.org_a, year, month)) == sorted([path.rsplit("/", 1)[1], "manifest.json"])
    manifest = json.loads(lake.read_bytes(f"{month_dir(w.org_a, year, month)}/manifest.json"))
    assert manifest["files"] == [{"path": path.rsplit("/", 1)[1], "rows": 3 * 24 * 60, "bytes": ledger[days[0]].bytes,
                                  "sha256": ledger[days[0]].sha256}]
    assert [d["date"] for d in manifest["days"]] == [str(partitions.day_date(d)) for d in days]
    org_manifest = json.loads(lake.read_bytes(f"readings/organization_id={w.org_a}/manifest.json"))
    assert {d["path"] for d in org_manifest["days"] if d["date"] in manifest["days"][0]["date"]} == {path}
    # Only organisation A's readings, sorted by (sensor, ts), in row groups whose statistics allow pruning.
    table = pq.read_table(lake.fs.open(lake.path(path), "rb"))
    assert table.column("sensor_id").to_pylist() == [w.sensor_a] * (3 * 24 * 60)
    assert table.column("ts").to_pylist() == sorted(table.column("ts").to_pylist())

    # The same API reads the monthly file: identical raw points and hourly buckets, and across into daily files.
    assert await _points(w, headers, days) == hot
    assert _same_buckets(await _points(w, headers, days, "1h"), hot_1h)
    span = [days[0], *range(days[-1] + 1, recent[0] + 1)]
    across = await _points(w, headers, span)
    assert len(across) == 4 * 24 * 60 and len({p["ts"] for p in across}) == len(across)

    # Idempotent: a second run compacts nothing and removes nothing that is referenced.
    again = await LifecycleJob(db, lake_settings, lake).run_once()
    assert again.compacted == [] and await _points(w, headers, days) == hot


async def test_an_interrupted_compaction_leaves_readable_data_neither_lost_nor_doubled(
        lake_world: World, lake_app: FastAPI, lake_settings: Settings, db: Database,
        monkeypatch: pytest.MonkeyPatch) -> None:
    w = lake_world
    year, month, days = _old_month()
    for day in days:
        await _write_day(db, w.sensor_a, day, 2.0)
    headers = await w.login(Role.ENGINEER, w.org_a)
    hot = await _points(w, headers, days)
    lake: Lake = lake_app.state.ctx.extras["lake"]
    folder = month_dir(w.org_a, year, month)

    # 1. The monthly file is written and verified, then the process dies before the ledger points at it.
    async def crash(*_: object) -> None:
        raise RuntimeError("killed before the ledger update")

    monkeypatch.setattr(compact, "commit", crash)
    report = await LifecycleJob(db, lake_settings, lake).run_once()
    assert report.compacted == [] and report.raw_removed_before_day is not None
    assert [n for n in _objects(lake, folder) if n.startswith("part-")]  # the orphan is there...
    assert all("/date=" in e.path for e in (await _ledger(db, w.org_a)).values())  # ...but unreferenced
    assert await _scalar(db, "SELECT count(*) FROM readings WHERE sensor_id = :s", s=w.sensor_a) == 0
    assert await _points(w, headers, days) == hot  # read from the daily files, once
    monkeypatch.undo()

    # 2. The next run compacts; then it dies after the ledger update, before the daily files are removed.
    def crash_tidy(*_: object) -> int:
        raise RuntimeError("killed before the clean-up")

    monkeypatch.setattr(compact, "_tidy_sync", crash_tidy)
    report = await LifecycleJob(db, lake_settings, lake).run_once()
    assert report.compacted == []  # logged as failed: the tidy-up did not finish
    assert all("/month=" in e.path for e in (await _ledger(db, w.org_a)).values())
    assert [n for n in _objects(lake, f"readings/organization_id={w.org_a}") if n.startswith("date=")]
    assert await _points(w, headers, days) == hot  # the ledger names only the monthly file
    monkeypatch.undo()

    # 3. The run after that finishes the clean-up: one monthly file, no daily folder, same data.
    await LifecycleJob(db, lake_settings, lake).run_once()
    assert not [n for n in _objects(lake, f"readings/organization_id={w.org_a}") if n.startswith("date=")]
    assert len([n for n in _objects(lake, folder) if n.startswith("part-")]) == 1
    assert await _points(w, headers, days) == hot


async def test_a_late_day_of_a_compacted_month_is_read_once_and_merged_at_the_next_run(
        lake_world: World, lake_app: FastAPI, lake_settings: Settings, db: Database) -> None:
    w = lake_world
    year, month, days = _old_month()
    for day in days:
        await _write_day(db, w.sensor_a, day, 3.0)
    headers = await w.login(Role.ENGINEER, w.org_a)
    lake: Lake = lake_app.state.ctx.extras["lake"]
    await LifecycleJob(db, lake_settings, lake).run_once()
    before = await _points(w, headers, days)
    old_path = (await _ledger(db, w.org_a))[days[1]].path

    # Late readings of the middle day arrive and that day alone is re-exported (its raw rows were dropped: the
    # new file holds the late ones only, which is what the ledger now says the day has).
    await _write_day(db, w.sensor_a, days[1], 30.0)
    assert await export_day(db, lake, w.org_a, [w.sensor_a], days[1]) is not None
    ledger = await _ledger(db, w.org_a)
    assert "/date=" in ledger[days[1]].path and ledger[days[0]].path == old_path
    mixed = await _points(w, headers, days)
    assert len(mixed) == len(before) and len({p["ts"] for p in mixed}) == len(mixed)
    middle = [p["value"] for p in mixed if days[1] * DAY <= _us(p["ts"]) < days[2] * DAY]
    assert min(middle) > 20  # the day comes from its new daily file, not from the monthly one

    report = await LifecycleJob(db, lake_settings, lake).run_once()
    assert (w.org_a, year, month) in report.compacted
    ledger = await _ledger(db, w.org_a)
    assert len({ledger[d].path for d in days}) == 1 and ledger[days[0]].path != old_path
    assert await _points(w, headers, days) == mixed
    assert len([n for n in _objects(lake, month_dir(w.org_a, year, month)) if n.startswith("part-")]) == 1


def _same_buckets(a: list[Any], b: list[Any]) -> bool:
    """Equal buckets; means within float rounding (DuckDB sums in another order than the database)."""
    keys = ("ts", "count", "min", "max", "last")
    return [[p[k] for k in keys] for p in a] == [[p[k] for k in keys] for p in b] and bool(
        np.allclose([p["value"] for p in a], [p["value"] for p in b]))


def _us(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1_000_000)
