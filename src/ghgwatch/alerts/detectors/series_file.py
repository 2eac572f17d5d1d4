"""Reading ``timestamp,value`` CSV files and scoring them: the engine of ``ghgwatch detect``."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ghgwatch.alerts.detectors.base import BoolArray, FloatArray
from ghgwatch.alerts.detectors.iforest import IsolationForestDetector
from ghgwatch.alerts.detectors.methods import (
    DEFAULT_THRESHOLDS,
    choose_method,
    make_detector,
    median_interval,
)
from ghgwatch.alerts.detectors.registry import HOLDOFF_POINTS
from ghgwatch.alerts.nab import alarms as alarm_points

HEADER = ("timestamp", "value")


class SeriesError(ValueError):
    """Bad input, located by file, row (1-based, header is row 1) and column."""

    def __init__(self, path: Path, row: int | None, column: str | None, message: str) -> None:
        where = f"{path}" + (f", row {row}" if row else "") + (f", column {column!r}" if column else "")
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True, slots=True)
class Series:
    """Rows in file order (the order a stream would deliver them), with what was odd about them."""

    raw_timestamps: list[str]
    timestamps: FloatArray  # Unix seconds, UTC
    values: FloatArray
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Detection:
    """``flags``: points scoring above ``threshold``; ``alarms``: the first point of each incident
    (flags closer than ``holdoff`` points to the previous flag belong to the same incident)."""

    method: str
    threshold: float
    scores: FloatArray
    flags: BoolArray
    alarms: BoolArray
    holdoff: int


def parse_timestamp(text: str) -> float:
    """ISO 8601 (naive means UTC) or Unix seconds."""
    try:
        return float(text)
    except ValueError:
        pass
    dt = datetime.fromisoformat(text.strip())
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()


def read_series(path: Path) -> Series:
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    except OSError as exc:
        raise SeriesError(path, None, None, f"cannot read file ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise SeriesError(path, None, None, "not a UTF-8 text file") from exc
    if not rows or tuple(c.strip().lower() for c in rows[0]) != HEADER:
        raise SeriesError(path, 1, None, "the header must be exactly 'timestamp,value'")
    raw: list[str] = []
    ts: list[float] = []
    vs: list[float] = []
    warnings: list[str] = []
    latest = -math.inf
    for n, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        if len(row) != 2:
            raise SeriesError(path, n, None, f"expected 2 fields, found {len(row)}")
        try:
            t = parse_timestamp(row[0])
        except ValueError:
            raise SeriesError(
                path, n, "timestamp", f"not an ISO 8601 time or Unix seconds: {row[0]!r}"
            ) from None
        try:
            v = float(row[1])
        except ValueError:
            raise SeriesError(path, n, "value", f"not a number: {row[1]!r}") from None
        if not math.isfinite(v):
            raise SeriesError(path, n, "value", f"not a finite number: {row[1]!r}")
        if t < latest:
            # Real logs do this (clock reset, time-zone change, a gateway's buffer): keep the rows in
            # file order, the order a live stream would have delivered them, and say so.
            warnings.append(
                str(
                    SeriesError(
                        path,
                        n,
                        "timestamp",
                        f"clock steps back by {latest - t:g} s to {row[0]!r}; rows kept in file order",
                    )
                )
            )
        latest = max(latest, t)
        raw.append(row[0])
        ts.append(t)
        vs.append(v)
    if not ts:
        raise SeriesError(path, None, None, "no data rows")
    return Series(raw, np.asarray(ts, dtype=np.float64), np.asarray(vs, dtype=np.float64), tuple(warnings))


def detect(
    series: Series, method: str = "auto", threshold: float | None = None, holdoff: int = HOLDOFF_POINTS
) -> Detection:
    """Score every point with past data only, flag scores above the threshold and raise one alarm per
    incident (hold-off of ``holdoff`` points, calibrated with the default detector on NAB)."""
    if method == "auto":
        method = choose_method(series.timestamps, series.values)
    thr = DEFAULT_THRESHOLDS[method] if threshold is None else threshold
    if method == "iforest":
        # Features: the value and its first difference, so both level and jump anomalies isolate.
        feats = np.column_stack((series.values, np.diff(series.values, prepend=series.values[:1])))
        scores = IsolationForestDetector().score_past_only(feats)
    else:
        det = make_detector(method, thr, interval_s=median_interval(series.timestamps))
        scores = det.score_many(series.values, series.timestamps)
    flags = scores > thr
    return Detection(method, thr, scores, flags, alarm_points(scores, np.nextafter(thr, np.inf), holdoff), holdoff)


def write_flags(path: Path, series: Series, result: Detection) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(("timestamp", "value", "score", "is_anomaly", "alarm"))
        w.writerows(
            (t, repr(v), f"{s:.6g}", int(f), int(a))
            for t, v, s, f, a in zip(
                series.raw_timestamps,
                series.values.tolist(),
                result.scores.tolist(),
                result.flags.tolist(),
                result.alarms.tolist(),
                strict=True,
            )
        )
