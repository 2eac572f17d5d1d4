"""Reading ``timestamp,value`` CSV files and scoring them: the engine of ``ghgwatch detect``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

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
from ghgwatch.kit.table_out import write_frame
from ghgwatch.kit.tables import InputError, read_table
from ghgwatch.kit.values import format_moment


@dataclass(frozen=True, slots=True)
class Series:
    """Rows in time order (the file read by :func:`ghgwatch.kit.tables.read_table`), with what was odd about
    them."""

    times: list[str]  # ISO 8601, the file's time zone kept
    timestamps: FloatArray  # Unix seconds (naive times taken as UTC)
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


def read_series(path: Path) -> Series:
    """The ``value`` column of a time-series file, read like every file command reads (``kit.tables``: the
    clock stepping back and repeated times are warnings, then rows in time order, the first of a time kept).
    Rows with an empty value are left out with a warning: a detector scores readings, and a gap is none."""
    warnings: list[str] = []
    table = read_table(path, required=("value",), min_rows=1, warnings=warnings)
    values = table["value"].to_numpy(dtype=np.float64)
    empty = np.flatnonzero(np.isnan(values))
    if empty.size:
        first = format_moment(table.index[empty[0]].to_pydatetime())
        warnings.append(f"{path}: {empty.size} rows with an empty value left out (the first at {first})")
        table = table.iloc[np.flatnonzero(~np.isnan(values))]
        values = table["value"].to_numpy(dtype=np.float64)
    if not len(values):
        raise InputError("no data rows with a value", path=path)
    index = pd.DatetimeIndex(table.index)
    seconds = index.as_unit("ns").asi8.astype(np.float64) / 1e9
    times = [format_moment(t.to_pydatetime()) for t in index]
    return Series(times, seconds, values, tuple(warnings))


def detect(
    series: Series,
    method: str = "auto",
    threshold: float | None = None,
    holdoff: int = HOLDOFF_POINTS,
    progress: Callable[[int], None] | None = None,
) -> Detection:
    """Score every point with past data only, flag scores above the threshold and raise one alarm per
    incident (hold-off of ``holdoff`` points, calibrated with the default detector on NAB)."""
    if method == "auto":
        method = choose_method(series.timestamps, series.values)
    thr = DEFAULT_THRESHOLDS[method] if threshold is None else threshold
    if method == "iforest":
        # Features: the value and its first difference, so both level and jump anomalies isolate.
        feats = np.column_stack((series.values, np.diff(series.values, prepend=series.values[:1])))
        scores = IsolationForestDetector().score_past_only(feats, progress=progress)
    else:
        det = make_detector(method, thr, interval_s=median_interval(series.timestamps))
        scores = det.score_many(series.values, series.timestamps)
        if progress is not None:
            progress(series.values.size)
    flags = scores > thr
    return Detection(method, thr, scores, flags, alarm_points(scores, np.nextafter(thr, np.inf), holdoff), holdoff)


def write_flags(path: Path, series: Series, result: Detection) -> None:
    """``timestamp,value,score,is_anomaly,alarm`` as CSV, JSON or XLSX by the extension of ``path``."""
    frame = pd.DataFrame(
        {
            "value": series.values,
            "score": np.round(result.scores, 6),
            "is_anomaly": result.flags.astype(int),
            "alarm": result.alarms.astype(int),
        },
        index=pd.DatetimeIndex(pd.to_datetime(series.timestamps, unit="s", utc=True), name="timestamp"),
    )
    frame.insert(0, "timestamp", series.times)
    write_frame(path, frame.set_index("timestamp"), float_format="%.10g")
