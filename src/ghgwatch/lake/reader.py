"""Cold reads: raw readings and bucket aggregates of one sensor from the lake's Parquet files, through DuckDB.

DuckDB reads the files through the lake's fsspec filesystem (registered with the connection), so the same
code reads a local folder and S3 without DuckDB's own ``httpfs`` extension (which downloads itself at first
use: INFRA.md section 9). Only the files of the days asked for are opened (the caller lists them from the
ledger), and their row groups are sorted by sensor, so a one-sensor query skips the others by statistics.
Closed months are one file each (:mod:`ghgwatch.lake.compact`); when a late day of a compacted month was
re-exported to a daily file, the caller passes that day in ``exclude`` for the monthly file, so the day is read
from its newer daily file only.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from ghgwatch.lake.storage import Lake
from ghgwatch.observability import metrics
from ghgwatch.readings.arrays import BucketRows, RawRows, bucket_rows, raw_rows
from ghgwatch.readings.partitions import DAY_US
from ghgwatch.settings import RetentionSettings


class ColdReader:
    """One DuckDB database per process; each query runs on a cursor of its own (blocking: call it in a thread)."""

    def __init__(self, lake: Lake, retention: RetentionSettings, *, threads: int = 2) -> None:
        import duckdb

        self.lake = lake
        self.retention = retention
        self._con: Any = duckdb.connect(config={"threads": threads})
        if lake.protocol != "file":
            self._con.register_filesystem(lake.fs)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._con.close()

    def _cursor(self) -> Any:
        with self._lock:
            return self._con.cursor()

    def _source(self, paths: list[str], exclude: dict[str, list[int]] | None,
                params: dict[str, object]) -> tuple[str, str]:
        """The ``FROM`` clause over ``paths`` and the extra ``WHERE`` terms leaving out excluded days."""
        params["files"] = [self.lake.url(p) for p in paths]
        if not exclude:
            return "read_parquet($files)", ""
        terms = []
        for n, (path, days) in enumerate(sorted(exclude.items())):
            params[f"xf{n}"], params[f"xd{n}"] = self.lake.url(path), days
            terms.append(f" AND NOT (filename = $xf{n} AND list_contains($xd{n}, ts // {DAY_US}))")
        return "read_parquet($files, filename = true)", "".join(terms)

    def raw(self, paths: list[str], sensor_id: int, lo: int, hi: int, limit: int,
            exclude: dict[str, list[int]] | None = None) -> RawRows:
        started = time.perf_counter()
        params: dict[str, object] = {"s": sensor_id, "lo": lo, "hi": hi, "n": limit}
        source, skip = self._source(paths, exclude, params)
        result = self._cursor().execute(
            f"SELECT ts, value, quality FROM {source} WHERE sensor_id = $s AND ts >= $lo AND ts < $hi{skip} "
            "ORDER BY ts LIMIT $n", params).fetchnumpy()
        metrics.LAKE_QUERY_DURATION.observe(time.perf_counter() - started)
        return raw_rows(result["ts"], result["value"], result["quality"])

    def buckets(self, paths: list[str], sensor_id: int, lo: int, hi: int, width: int,
                exclude: dict[str, list[int]] | None = None) -> BucketRows:
        """Per bucket of ``width`` µs: count, sum, min, max, last value and its time (as the rollup tables)."""
        started = time.perf_counter()
        params: dict[str, object] = {"s": sensor_id, "lo": lo, "hi": hi, "w": width}
        source, skip = self._source(paths, exclude, params)
        result = self._cursor().execute(
            'SELECT ts - ts % $w AS bucket, count(*) AS "count", sum(value) AS "sum", min(value) AS "min", '
            f'max(value) AS "max", arg_max(value, ts) AS "last", max(ts) AS last_ts FROM {source} '
            f"WHERE sensor_id = $s AND ts >= $lo AND ts < $hi{skip} GROUP BY 1 ORDER BY 1", params).fetchnumpy()
        metrics.LAKE_QUERY_DURATION.observe(time.perf_counter() - started)
        return bucket_rows(result)
