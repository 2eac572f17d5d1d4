"""Export one organisation's raw readings of one closed UTC day to Parquet, with a manifest and a checksum.

The file is written locally first (memory stays bounded: sensors are read in chunks and written as row
groups), hashed, then uploaded; the ledger row (``lake_exports``) is written only after the upload, so a
day counts as exported only once its file is complete in the lake. Re-exporting a day (late readings arrived)
replaces the file and the ledger row. Rows are sorted by (sensor_id, ts), so a reader that wants one sensor
skips the other sensors' row groups by their statistics.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from ghgwatch.kit.timeutil import utcnow
from ghgwatch.lake.models import LakeExport
from ghgwatch.lake.storage import READINGS, Lake, day_dir
from ghgwatch.observability import metrics
from ghgwatch.readings.models import Reading
from ghgwatch.readings.partitions import DAY_US, day_date
from ghgwatch.store import Database

log = logging.getLogger(__name__)
SENSOR_CHUNK = 200
ROW_GROUP = 131_072
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Exported:
    organization_id: int
    day: int
    path: str
    rows: int
    bytes: int
    sha256: str
    min_ts: int
    max_ts: int


def _schema() -> Any:
    import pyarrow as pa

    return pa.schema([("sensor_id", pa.int32()), ("ts", pa.int64()), ("value", pa.float64()),
                      ("quality", pa.int16())],
                     metadata={"ts": "microseconds since 1970-01-01 UTC", "schema_version": str(SCHEMA_VERSION)})


async def _write_local(db: Database, sensor_ids: list[int], day: int, target: Path) -> tuple[int, int, int]:
    """Write the day's readings of ``sensor_ids`` to ``target``; returns (rows, min ts, max ts)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    lo, hi = day * DAY_US, (day + 1) * DAY_US
    schema = _schema()
    writer = pq.ParquetWriter(str(target), schema, compression="zstd", write_statistics=True)
    rows, min_ts, max_ts = 0, 0, 0
    try:
        for start in range(0, len(sensor_ids), SENSOR_CHUNK):
            chunk = sensor_ids[start:start + SENSOR_CHUNK]
            async with db.sessions() as session:
                result = (await session.execute(
                    select(Reading.sensor_id, Reading.ts, Reading.value, Reading.quality)
                    .where(Reading.sensor_id.in_(chunk), Reading.ts >= lo, Reading.ts < hi)
                    .order_by(Reading.sensor_id, Reading.ts))).all()
            if not result:
                continue
            columns = list(zip(*result, strict=True))
            table = pa.Table.from_arrays([pa.array(c, type=f.type) for c, f in zip(columns, schema, strict=True)],
                                         schema=schema)
            await asyncio.to_thread(writer.write_table, table, row_group_size=ROW_GROUP)
            ts = table.column("ts")
            lo_ts, hi_ts = pa.compute.min(ts).as_py(), pa.compute.max(ts).as_py()
            min_ts = lo_ts if rows == 0 else min(min_ts, lo_ts)
            max_ts = hi_ts if rows == 0 else max(max_ts, hi_ts)
            rows += len(table)
    finally:
        await asyncio.to_thread(writer.close)
    return rows, min_ts, max_ts


def _sha256(path: Path) -> tuple[int, str]:
    """Size and SHA-256 of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while block := source.read(1 << 20):
            digest.update(block)
    return path.stat().st_size, digest.hexdigest()


async def export_day(db: Database, lake: Lake, organization_id: int, sensor_ids: list[int],
                     day: int) -> Exported | None:
    """Export (or re-export) one organisation's day; ``None`` if it has no readings."""
    folder = day_dir(organization_id, day_date(day))
    relative = f"{folder}/part-0.parquet"
    fd, name = tempfile.mkstemp(prefix="ghgwatch-lake-", suffix=".parquet")
    os.close(fd)
    local = Path(name)
    try:
        rows, min_ts, max_ts = await _write_local(db, sorted(sensor_ids), day, local)
        if rows == 0:
            return None
        size, digest = await asyncio.to_thread(_sha256, local)
        await asyncio.to_thread(_upload, lake, local, relative)
    finally:
        await asyncio.to_thread(local.unlink, missing_ok=True)
    done = Exported(organization_id, day, relative, rows, size, digest, min_ts, max_ts)
    manifest = {"schema_version": SCHEMA_VERSION, "organization_id": organization_id,
                "date": day_date(day).isoformat(), "files": [{"path": "part-0.parquet", "rows": rows, "bytes": size,
                                                              "sha256": digest}],
                "min_ts": min_ts, "max_ts": max_ts, "exported_at": utcnow().isoformat()}
    await asyncio.to_thread(lake.write_bytes, f"{folder}/manifest.json", json.dumps(manifest, indent=1).encode())
    await _record(db, done)
    await asyncio.to_thread(_write_org_manifest_sync, lake, organization_id, await _ledger(db, organization_id))
    metrics.LAKE_EXPORTED_ROWS.inc(rows)
    metrics.LAKE_EXPORTED_FILES.inc()
    log.info("lake: exported %d readings of organisation %d for %s (%d bytes, sha256 %s)", rows, organization_id,
             day_date(day), size, digest[:12])
    return done


def _upload(lake: Lake, local: Path, relative: str) -> None:
    data_path = lake.path(relative)
    lake.fs.makedirs(os.path.dirname(data_path), exist_ok=True)
    if lake.protocol == "file":
        tmp = data_path + ".tmp"
        lake.fs.put_file(str(local), tmp)
        lake.fs.mv(tmp, data_path)
    else:
        lake.fs.put_file(str(local), data_path)
    if lake.fs.size(data_path) != local.stat().st_size:
        raise OSError(f"lake: {data_path} has the wrong size after upload")


async def _record(db: Database, done: Exported) -> None:
    values = {"organization_id": done.organization_id, "day": done.day, "path": done.path, "rows": done.rows,
              "bytes": done.bytes, "sha256": done.sha256, "min_ts": done.min_ts, "max_ts": done.max_ts,
              "exported_at": utcnow()}
    insert = postgresql.insert if db.dialect == "postgresql" else sqlite.insert
    stmt = insert(LakeExport).values(**values)
    stmt = stmt.on_conflict_do_update(index_elements=["organization_id", "day"],
                                      set_={k: v for k, v in values.items() if k not in ("organization_id", "day")})
    async with db.transaction() as session:
        await session.execute(stmt)


async def _ledger(db: Database, organization_id: int) -> list[LakeExport]:
    async with db.sessions() as session:
        return list((await session.execute(select(LakeExport).where(LakeExport.organization_id == organization_id)
                                           .order_by(LakeExport.day))).scalars())


def _write_org_manifest_sync(lake: Lake, organization_id: int, rows: list[LakeExport]) -> None:
    manifest = {"schema_version": SCHEMA_VERSION, "organization_id": organization_id, "days": [
        {"date": day_date(r.day).isoformat(), "path": r.path, "rows": r.rows, "bytes": r.bytes, "sha256": r.sha256,
         "min_ts": r.min_ts, "max_ts": r.max_ts} for r in rows]}
    lake.write_bytes(f"{READINGS}/organization_id={organization_id}/manifest.json",
                     json.dumps(manifest, indent=1).encode())


def verify(lake: Lake, entry: LakeExport) -> bool:
    """Whether the file in the lake still has the recorded size and SHA-256 (reads it whole)."""
    data = lake.read_bytes(entry.path)
    return len(data) == entry.bytes and hashlib.sha256(data).hexdigest() == entry.sha256
