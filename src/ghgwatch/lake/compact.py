"""Compaction of closed months: an organisation's daily Parquet files rewritten into one file per month.

A year of one sensor from 365 daily objects on S3 costs 365 object reads (7.6 s on the moto server, issue 16);
twelve monthly objects answer it in a fraction of that. Steps, each safe to interrupt:

1. **write**: the month's inputs (the daily files and, when a late day was re-exported, the previous monthly
   file without that day) are downloaded and checked against the ledger's SHA-256, merged and sorted by
   (sensor_id, ts) by DuckDB (spilling to disk, so memory stays bounded), written as one Parquet file with
   row groups of :data:`~ghgwatch.lake.export.ROW_GROUP` rows (a one-sensor query skips the others' row groups
   by their statistics), uploaded under a name that carries its checksum, read back and verified;
2. **commit**: the ledger rows of the month's days point at the monthly file (path, bytes, SHA-256), in one
   transaction: the ledger is what readers follow, so until this commit they read the daily files, and after
   it the monthly one; never both (a crash before it leaves an unreferenced monthly object, no duplicates);
3. **tidy**: the month's manifest and the organisation's manifest are rewritten from the ledger (each object
   written whole), then the daily folders and superseded monthly files are removed. A crash here leaves
   unreferenced objects that the next run removes.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import posixpath
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy import select, update

from ghgwatch.kit.timeutil import utcnow
from ghgwatch.lake.export import ROW_GROUP, SCHEMA_VERSION, _ledger, _sha256, _upload, _write_org_manifest_sync
from ghgwatch.lake.models import LakeExport
from ghgwatch.lake.storage import READINGS, Lake
from ghgwatch.observability import metrics
from ghgwatch.readings.partitions import DAY_US, date_day, day_date
from ghgwatch.store import Database

log = logging.getLogger(__name__)
MONTH_DIR = "month="
SORT_MEMORY = "512MB"
"""DuckDB's memory limit while sorting a month; beyond it the sort spills to a temporary folder."""


class CompactionError(RuntimeError):
    """An input did not match its checksum, or the merged file did not hold the month's rows."""


@dataclass(frozen=True)
class Source:
    """One input of a month: a lake object, its expected SHA-256, and days to leave out of it."""

    path: str
    sha256: str
    skip_days: tuple[int, ...] = field(default=())


@dataclass(frozen=True)
class MonthFile:
    path: str
    rows: int
    bytes: int
    sha256: str


def month_of(day: int) -> tuple[int, int]:
    value = day_date(day)
    return value.year, value.month


def month_range(year: int, month: int) -> range:
    """The days (since 1970-01-01) of a calendar month."""
    first = date_day(date(year, month, 1))
    last = date_day(date(year + month // 12, month % 12 + 1, 1))
    return range(first, last)


def org_dir(organization_id: int) -> str:
    return f"{READINGS}/organization_id={organization_id}"


def month_dir(organization_id: int, year: int, month: int) -> str:
    return f"{org_dir(organization_id)}/{MONTH_DIR}{year:04d}-{month:02d}"


def is_monthly(path: str) -> bool:
    return f"/{MONTH_DIR}" in path


def _download_checked(lake: Lake, source: Source, target: Path) -> None:
    digest = hashlib.sha256()
    with lake.fs.open(lake.path(source.path), "rb") as remote, target.open("wb") as local:
        while block := remote.read(1 << 22):
            digest.update(block)
            local.write(block)
    if digest.hexdigest() != source.sha256:
        raise CompactionError(f"lake: {source.path} does not match its recorded SHA-256; month not compacted")


def write_month(lake: Lake, sources: list[Source], folder: str) -> MonthFile:
    """Merge ``sources`` into one sorted Parquet file in ``folder``, upload it and verify it (blocking)."""
    import duckdb
    import pyarrow.parquet as pq

    with tempfile.TemporaryDirectory(prefix="ghgwatch-compact-") as tmp:
        work = Path(tmp)
        parts: list[str] = []
        params: dict[str, object] = {}
        whole: list[str] = []
        for n, source in enumerate(sources):
            local = work / f"in-{n}.parquet"
            _download_checked(lake, source, local)
            if source.skip_days:
                params[f"f{n}"], params[f"d{n}"] = str(local), list(source.skip_days)
                parts.append(f"SELECT sensor_id, ts, value, quality FROM read_parquet($f{n}) "
                             f"WHERE NOT list_contains($d{n}, ts // {DAY_US})")
            else:
                whole.append(str(local))
        if whole:
            params["whole"] = whole
            parts.append("SELECT sensor_id, ts, value, quality FROM read_parquet($whole)")
        out = work / "month.parquet"
        con = duckdb.connect(config={"threads": 2, "memory_limit": SORT_MEMORY,
                                     "temp_directory": str(work / "spill"), "preserve_insertion_order": True})
        try:
            con.execute(
                f"COPY ({' UNION ALL '.join(parts)} ORDER BY sensor_id, ts) TO '{out}' (FORMAT parquet, "
                f"COMPRESSION zstd, ROW_GROUP_SIZE {ROW_GROUP}, KV_METADATA {{ts: 'microseconds since "
                f"1970-01-01 UTC', schema_version: '{SCHEMA_VERSION}'}})", params)
        finally:
            con.close()
        rows = pq.ParquetFile(out).metadata.num_rows
        size, digest = _sha256(out)
        relative = f"{folder}/part-{digest[:16]}.parquet"
        _upload(lake, out, relative)
    if hashlib.sha256(lake.read_bytes(relative)).hexdigest() != digest:
        raise CompactionError(f"lake: {relative} read back with another SHA-256 than it was written with")
    return MonthFile(relative, rows, size, digest)


async def _month_rows(db: Database, organization_id: int, year: int, month: int) -> list[LakeExport]:
    days = month_range(year, month)
    async with db.sessions() as session:
        return list((await session.execute(select(LakeExport).where(
            LakeExport.organization_id == organization_id, LakeExport.day >= days.start,
            LakeExport.day < days.stop).order_by(LakeExport.day))).scalars())


async def compact_month(db: Database, lake: Lake, organization_id: int, year: int, month: int) -> MonthFile | None:
    """Compact one closed month (idempotent: ``None`` when it has no daily file left)."""
    rows = await _month_rows(db, organization_id, year, month)
    daily = [r for r in rows if not is_monthly(r.path)]
    if not daily:
        return None
    redone = tuple(r.day for r in daily)
    previous = {r.path: r.sha256 for r in rows if is_monthly(r.path)}
    sources = [Source(p, sha, redone) for p, sha in previous.items()] + [Source(r.path, r.sha256) for r in daily]
    done = await asyncio.to_thread(write_month, lake, sources, month_dir(organization_id, year, month))
    expected = sum(r.rows for r in rows)
    if done.rows != expected:
        await asyncio.to_thread(lake.fs.rm, lake.path(done.path))
        raise CompactionError(f"lake: the month {year}-{month:02d} of organisation {organization_id} merged into "
                              f"{done.rows} rows, the ledger counts {expected}; month not compacted")
    await commit(db, organization_id, rows, done)
    await tidy(db, lake, organization_id, year, month)
    metrics.LAKE_COMPACTED_MONTHS.inc()
    log.info("lake: compacted %d day files of organisation %d for %d-%02d into %s (%d readings, %d bytes)",
             len(daily), organization_id, year, month, done.path, done.rows, done.bytes)
    return done


async def commit(db: Database, organization_id: int, rows: list[LakeExport], done: MonthFile) -> None:
    """Point the month's ledger rows at ``done`` in one transaction; refused if a row changed meanwhile."""
    async with db.transaction() as session:
        for r in rows:
            result = await session.execute(
                update(LakeExport).where(LakeExport.organization_id == organization_id, LakeExport.day == r.day,
                                         LakeExport.path == r.path, LakeExport.sha256 == r.sha256)
                .values(path=done.path, bytes=done.bytes, sha256=done.sha256))
            if result.rowcount != 1:  # type: ignore[attr-defined]
                raise CompactionError(f"lake: the ledger row of {day_date(r.day)} changed during compaction")


async def tidy(db: Database, lake: Lake, organization_id: int, year: int, month: int) -> int:
    """Rewrite the month's and the organisation's manifests from the ledger, then remove the month's daily
    folders and monthly files the ledger no longer references; returns how many objects were removed."""
    rows = await _month_rows(db, organization_id, year, month)
    if not rows or not all(is_monthly(r.path) for r in rows):
        return 0
    ledger = await _ledger(db, organization_id)
    return await asyncio.to_thread(_tidy_sync, lake, organization_id, year, month, rows, ledger)


def _tidy_sync(lake: Lake, organization_id: int, year: int, month: int, rows: list[LakeExport],
               ledger: list[LakeExport]) -> int:
    folder = month_dir(organization_id, year, month)
    files = sorted({(r.path, r.bytes, r.sha256) for r in rows})
    manifest = {"schema_version": SCHEMA_VERSION, "organization_id": organization_id,
                "month": f"{year:04d}-{month:02d}",
                "files": [{"path": posixpath.basename(p), "rows": sum(r.rows for r in rows if r.path == p),
                           "bytes": b, "sha256": s} for p, b, s in files],
                "days": [{"date": day_date(r.day).isoformat(), "rows": r.rows, "min_ts": r.min_ts,
                          "max_ts": r.max_ts} for r in rows],
                "compacted_at": utcnow().isoformat()}
    lake.write_bytes(f"{folder}/manifest.json", json.dumps(manifest, indent=1).encode())
    _write_org_manifest_sync(lake, organization_id, ledger)
    keep = {lake.path(p) for p, _, _ in files} | {lake.path(f"{folder}/manifest.json")}
    prefix = f"date={year:04d}-{month:02d}-"
    lake.fs.invalidate_cache()
    stale = [e for e in _listing(lake, org_dir(organization_id)) if posixpath.basename(e).startswith(prefix)]
    stale += [e for e in _listing(lake, folder) if e not in keep]
    for entry in stale:
        lake.fs.rm(entry, recursive=True)
    lake.fs.invalidate_cache()
    return len(stale)


def _listing(lake: Lake, relative: str) -> list[str]:
    try:
        return [str(e).rstrip("/") for e in lake.fs.ls(lake.path(relative), detail=False)]
    except FileNotFoundError:
        return []


async def compact_closed(db: Database, lake: Lake, closed_before_day: int,
                         failed_day: int | None = None) -> list[tuple[int, int, int]]:
    """Compact every month that ended before ``closed_before_day`` (and before a failed export's day) and still
    has daily files; finish an interrupted tidy-up of compacted months. Returns (organisation, year, month)
    compacted; a month whose compaction fails is logged and retried at the next run."""
    end = closed_before_day if failed_day is None else min(closed_before_day, failed_day)
    async with db.sessions() as session:
        entries = (await session.execute(select(LakeExport.organization_id, LakeExport.day, LakeExport.path)
                                         .where(LakeExport.day < end))).all()
    months: dict[tuple[int, int, int], bool] = {}
    for org, day, path in entries:
        key = (int(org), *month_of(int(day)))
        if month_range(key[1], key[2]).stop <= end:
            months[key] = months.get(key, False) or not is_monthly(path)
    compacted: list[tuple[int, int, int]] = []
    leftovers = await asyncio.to_thread(_daily_folders, lake, sorted({k[0] for k, todo in months.items()
                                                                       if not todo}))
    for key in sorted(months):
        try:
            if months[key]:
                if await compact_month(db, lake, *key) is not None:
                    compacted.append(key)
            elif (key[0], key[1], key[2]) in leftovers:
                await tidy(db, lake, *key)
        except Exception:
            log.exception("lake: compacting organisation %d, %d-%02d failed", *key)
            metrics.LAKE_COMPACTION_FAILURES.inc()
    return compacted


def _daily_folders(lake: Lake, organizations: list[int]) -> set[tuple[int, int, int]]:
    """(organisation, year, month) that still have daily folders in the lake (one listing per organisation)."""
    found: set[tuple[int, int, int]] = set()
    lake.fs.invalidate_cache()
    for org in organizations:
        for entry in _listing(lake, org_dir(org)):
            name = posixpath.basename(entry)
            if name.startswith("date="):
                found.add((org, int(name[5:9]), int(name[10:12])))
    return found
