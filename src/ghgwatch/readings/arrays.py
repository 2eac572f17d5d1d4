"""A sensor's stored series as numpy arrays, whether read from the database or from the data lake."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class RawRows:
    ts: I64
    value: F64
    quality: npt.NDArray[np.int16]


@dataclass(frozen=True)
class BucketRows:
    """Rollup buckets: as the rollup tables store them (count, sum, min, max, last value and its time)."""

    bucket: I64
    count: I64
    sum: F64
    min: F64
    max: F64
    last: F64
    last_ts: I64

    FIELDS = ("bucket", "count", "sum", "min", "max", "last", "last_ts")

    @property
    def mean(self) -> F64:
        return self.sum / np.maximum(self.count, 1)

    def __len__(self) -> int:
        return len(self.bucket)


def bucket_rows(columns: Mapping[str, Any] | Sequence[Any]) -> BucketRows:
    """Build from columns in :attr:`BucketRows.FIELDS` order (a sequence) or by name (a mapping)."""
    def get(i: int, name: str) -> Any:
        return columns[name] if isinstance(columns, Mapping) else columns[i]

    i64, f64 = np.int64, np.float64
    return BucketRows(np.asarray(get(0, "bucket"), i64), np.asarray(get(1, "count"), i64),
                      np.asarray(get(2, "sum"), f64), np.asarray(get(3, "min"), f64), np.asarray(get(4, "max"), f64),
                      np.asarray(get(5, "last"), f64), np.asarray(get(6, "last_ts"), i64))


def raw_rows(ts: Any, value: Any, quality: Any) -> RawRows:
    return RawRows(np.asarray(ts, np.int64), np.asarray(value, np.float64), np.asarray(quality, np.int16))
