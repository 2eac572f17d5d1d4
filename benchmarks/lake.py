"""Data-lake read benchmark: a year of one sensor at 1-minute resolution, read back from Parquet through DuckDB.

    python benchmarks/lake.py                 # local folder
    python benchmarks/lake.py --s3            # a moto S3 server started here (real S3 API over HTTP)
    python benchmarks/lake.py --s3 --compact  # the closed months compacted first: 12 monthly files, not 365

Writes 365 daily files laid out as the exporter does (one per organisation and day, rows sorted by sensor,
``--other-sensors`` more sensors in each file so the reader must skip their row groups), then times
``ColdReader.raw`` (all 525,600 points) and ``ColdReader.buckets`` (hourly means) over the 365 files, median of
``--runs``. With ``--compact`` the daily files are first merged per month by the lake's compaction
(``lake/compact.py``), as the lifecycle job does for closed months, and the reads go to the monthly files.
Target (issue 16): under 1 s. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DAY_US = 86_400_000_000


def write_year(lake: object, sensors: int, start_day: int) -> dict[str, str]:
    """Write 365 daily files; returns their paths with their SHA-256."""
    import hashlib

    from ghgwatch.lake.export import ROW_GROUP, _schema
    from ghgwatch.lake.storage import day_dir
    from ghgwatch.readings.partitions import day_date

    paths: dict[str, str] = {}
    minutes = np.arange(1440, dtype=np.int64) * 60_000_000
    for d in range(365):
        day = start_day + d
        sensor = np.repeat(np.arange(1, sensors + 2, dtype=np.int32), 1440)
        ts = np.tile(day * DAY_US + minutes, sensors + 1)
        value = np.sin(ts / 3.6e9) + sensor
        table = pa.Table.from_arrays([pa.array(sensor), pa.array(ts), pa.array(value),
                                      pa.array(np.zeros(len(ts), np.int16))], schema=_schema())
        relative = f"{day_dir(1, day_date(day))}/part-0.parquet"
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink, compression="zstd", row_group_size=ROW_GROUP)
        data = sink.getvalue().to_pybytes()
        lake.write_bytes(relative, data)  # type: ignore[attr-defined]
        paths[relative] = hashlib.sha256(data).hexdigest()
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--s3", action="store_true")
    parser.add_argument("--other-sensors", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--compact", action="store_true", help="merge the daily files per month first")
    args = parser.parse_args()
    from ghgwatch.lake.reader import ColdReader
    from ghgwatch.lake.storage import open_lake
    from ghgwatch.settings import LakeSettings, RetentionSettings

    server = None
    if args.s3:
        from tests.support.s3 import running_s3

        server = running_s3()
        s3 = server.__enter__()
        bucket = f"bench-{uuid.uuid4().hex[:6]}"
        s3.create_bucket(bucket)
        settings = LakeSettings(**s3.lake_settings(bucket))
    else:
        settings = LakeSettings(url=tempfile.mkdtemp(prefix="ghgwatch-lake-bench-"))
    try:
        lake = open_lake(settings)
        assert lake is not None
        start_day = int(time.time() // 86400) - 400
        started = time.perf_counter()
        written = write_year(lake, args.other_sensors, start_day)
        write_s = time.perf_counter() - started
        paths = list(written)
        compact_s = None
        if args.compact:
            from ghgwatch.lake.compact import Source, month_dir, month_of, write_month
            from ghgwatch.readings.partitions import date_day

            started = time.perf_counter()
            months: dict[tuple[int, int], list[Source]] = {}
            for path, sha in written.items():
                day = date_day(date.fromisoformat(path.split("date=")[1][:10]))
                months.setdefault(month_of(day), []).append(Source(path, sha))
            paths = [write_month(lake, sources, month_dir(1, *key)).path for key, sources in sorted(months.items())]
            compact_s = round(time.perf_counter() - started, 2)
        reader = ColdReader(lake, RetentionSettings())
        lo, hi = start_day * DAY_US, (start_day + 365) * DAY_US
        raw_times, hour_times = [], []
        for _ in range(args.runs):
            t = time.perf_counter()
            rows = reader.raw(paths, 1, lo, hi, 10_000_000)
            raw_times.append(time.perf_counter() - t)
            t = time.perf_counter()
            hours = reader.buckets(paths, 1, lo, hi, 3_600_000_000)
            hour_times.append(time.perf_counter() - t)
        assert len(rows.ts) == 365 * 1440 and len(hours) == 365 * 24
        reader.close()
    finally:
        if server is not None:
            server.__exit__(None, None, None)
    result = {"storage": "s3 (moto)" if args.s3 else "local folder", "files": len(paths),
              "points": len(rows.ts), "write_s": round(write_s, 2), "compact_s": compact_s,
              "raw_year_s": round(sorted(raw_times)[len(raw_times) // 2], 3),
              "hourly_year_s": round(sorted(hour_times)[len(hour_times) // 2], 3),
              "target_s": 1.0, "load": os.getloadavg()[0]}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
