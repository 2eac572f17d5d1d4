"""``ghgwatch detect``: anomaly flags for a ``timestamp,value`` CSV file, without a database."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from ghgwatch.cli._runtime import _, sig


class Method(StrEnum):
    AUTO = "auto"
    ADAPTIVE = "adaptive"
    ROBUST_Z = "robust_z"
    EWMA = "ewma"
    SEASONAL = "seasonal"
    SEASONAL_WEEKLY = "seasonal_weekly"
    IFOREST = "iforest"


def detect(
    input: Annotated[
        Path, typer.Option("--input", "-i", help="CSV or XLSX with a time and a value column (timestamp,value)")
    ],
    output: Annotated[
        Path,
        typer.Option("--output", "-o", help="timestamp,value,score,is_anomaly,alarm as .csv, .json or .xlsx"),
    ],
    method: Annotated[
        Method,
        typer.Option(
            help="auto: seasonal (or seasonal_weekly) for ≥4 days with a daily (weekly) pattern, "
            "else adaptive (calibrated on labelled real series)"
        ),
    ] = Method.AUTO,
    threshold: Annotated[float | None, typer.Option(help="score above which a point is flagged")] = None,
    holdoff: Annotated[
        int | None,
        typer.Option(min=0, help="points after a flag in which further flags join the same alarm"),
    ] = None,
) -> None:
    """Score each point with past data only (as in streaming), flag anomalies, one alarm per incident."""
    from ghgwatch.alerts.detectors.registry import HOLDOFF_POINTS
    from ghgwatch.alerts.detectors.series_file import detect as run
    from ghgwatch.alerts.detectors.series_file import read_series, write_flags
    from ghgwatch.cli._progress import progress_bar
    from ghgwatch.kit.tables import InputError

    if threshold is not None and threshold <= 0:
        typer.echo(_("Error: {message}", message="--threshold must be > 0"), err=True)
        raise typer.Exit(2)
    try:
        series = read_series(input)
    except InputError as exc:
        typer.echo(_("Error: {message}", message=exc), err=True)
        raise typer.Exit(2) from None
    for warning in series.warnings[:10]:
        typer.echo(_("Warning: {message}", message=warning), err=True)
    if len(series.warnings) > 10:
        typer.echo(_("Warning: {path}: {n} warnings in all", path=input, n=len(series.warnings)), err=True)
    with progress_bar(series.values.size, f"detect ({method.value})") as step:
        result = run(
            series,
            method.value,
            threshold,
            HOLDOFF_POINTS if holdoff is None else holdoff,
            progress=lambda rows: step(_("scoring"), rows),
        )
    try:
        write_flags(output, series, result)
    except OSError as exc:
        typer.echo(_("Error: {message}", message=_("{path}: cannot write ({reason})", path=output,
                                                   reason=exc.strerror or exc)), err=True)
        raise typer.Exit(2) from None
    typer.echo(_("{alarms} alarms, {flagged} of {points} points flagged (method {method}, threshold {threshold}, "
                 "hold-off {holdoff} points) -> {path}", alarms=int(result.alarms.sum()),
                 flagged=int(result.flags.sum()), points=result.flags.size, method=result.method,
                 threshold=sig(result.threshold, 6), holdoff=result.holdoff, path=output))


def register(app: typer.Typer) -> None:
    app.command("detect")(detect)
