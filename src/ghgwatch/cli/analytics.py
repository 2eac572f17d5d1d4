"""File-in / file-out analytics commands: ``forecast``, ``correlate``, ``gaps …`` and ``model …``.

Heavy libraries are imported inside the commands so that ``ghgwatch --help`` stays fast. Bad input
(missing file or column, non-numeric cell, too short a series) prints one line naming the file, row or
column and exits with code 2.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from ghgwatch.cli._progress import progress_bar
from ghgwatch.cli._runtime import _, num
from ghgwatch.cli._runtime import sig as _sig

if TYPE_CHECKING:
    import pandas as pd

gaps_app = typer.Typer(help="Fill gaps in a series and evaluate the gap-filling methods.", no_args_is_help=True)
model_app = typer.Typer(
    help="Multivariate model of a target column (e.g. methane in outgoing air).", no_args_is_help=True
)

InputOpt = Annotated[Path, typer.Option("--input", "-i", help="Input CSV file.")]
OutputOpt = Annotated[Path, typer.Option("--output", "-o", help="Output file.")]


def _fail(message: str) -> NoReturn:
    typer.echo(_("Error: {message}", message=message), err=True)
    raise typer.Exit(code=2)


@contextmanager
def _guard(path: Path) -> Iterator[None]:
    """Turn input and data errors into a one-line message naming the file, and exit code 2."""
    from ghgwatch.analytics.io import InputError

    try:
        yield
    except InputError as exc:
        _fail(str(exc))
    except (ValueError, KeyError) as exc:
        _fail(f"{path}: {exc}")


def _warn(warnings: list[str], path: Path) -> None:
    """Print the reader's warnings to stderr: the first 10, then how many there were in all."""
    for warning in warnings[:10]:
        typer.echo(_("Warning: {message}", message=warning), err=True)
    if len(warnings) > 10:
        typer.echo(_("Warning: {path}: {n} warnings in all", path=path, n=len(warnings)), err=True)


def read_input(path: Path, required: tuple[str, ...] = (), time: str = "required") -> pd.DataFrame:
    """The one reader (``kit.tables.read_table``) with its warnings printed; call inside :func:`_guard`."""
    from ghgwatch.analytics.io import read_table

    warnings: list[str] = []
    table = read_table(path, required=required, time=time, warnings=warnings)  # type: ignore[arg-type]
    _warn(warnings, path)
    return table


def _on_grid(table: pd.DataFrame, path: Path) -> tuple[pd.DataFrame, int]:
    """The table on its regular time grid, missing times inserted as empty rows, and how many there were."""
    import pandas as pd

    from ghgwatch.analytics._frequency import regular_grid

    grid = regular_grid(pd.DatetimeIndex(table.index))
    if grid is None:
        typer.echo(_("Note: {path}: the times are on no regular grid; no missing times are inserted", path=path),
                   err=True)
        return table, 0
    return table.reindex(grid), len(grid) - len(table)


def _write(write: Callable[[], None], output: Path) -> None:
    try:
        write()
    except OSError as exc:
        _fail(_("{path}: cannot write ({reason})", path=output, reason=exc.strerror or exc))


def forecast(
    input: InputOpt,
    horizon: Annotated[int, typer.Option(min=1, help="Steps to forecast after the last row.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output .csv, .json or .xlsx.")],
    method: Annotated[str, typer.Option(help="auto, linear, gbdt or naive.")] = "auto",
    interval: Annotated[float, typer.Option(min=0.01, max=0.99, help="Nominal interval coverage.")] = 0.9,
    backtest: Annotated[
        Path | None, typer.Option(help="Write the rolling-origin backtest (.json, or .csv / .xlsx: a row per model).")
    ] = None,
    folds: Annotated[int, typer.Option(min=1, help="Backtest folds.")] = 3,
    lower_limit: Annotated[
        float | None,
        typer.Option(help="Physical lower bound of forecasts and intervals (default: 0 if no value is negative)."),
    ] = None,
    upper_limit: Annotated[float | None, typer.Option(help="Physical upper bound (e.g. 100 for %).")] = None,
    allow_negative: Annotated[bool, typer.Option(help="Do not bound a non-negative series at 0.")] = False,
) -> None:
    """Forecast a `timestamp,value` series with prediction intervals."""
    from ghgwatch.analytics.backtest import forecast_auto, non_negative_bounds
    from ghgwatch.analytics.forecast import MODEL_NAMES
    from ghgwatch.analytics.gaps import interpolate_fill
    from ghgwatch.analytics.io import write_frame, write_report

    if method not in (*MODEL_NAMES, "auto"):
        _fail(_("unknown method {method}; expected auto, linear, gbdt or naive", method=repr(method)))
    with _guard(input):
        table, added = _on_grid(read_input(input, ("value",)), input)
        n_gaps = int(table["value"].isna().sum())
        if n_gaps:
            typer.echo(_("{path}: {n} empty values ({added} of them missing times) filled by linear interpolation "
                         "before fitting", path=input, n=n_gaps, added=added), err=True)
            table["value"] = interpolate_fill(table, "value")
        low = lower_limit
        if low is None and not allow_negative:
            low = non_negative_bounds(table["value"])[0]  # a concentration or a flow: never below zero
        if low is not None and upper_limit is not None and low >= upper_limit:
            _fail(_("--lower-limit {low} must be below --upper-limit {high}", low=num(low), high=num(upper_limit)))
        n_models = 3 if method == "auto" else (2 if method != "naive" else 1)
        steps = (n_models * folds if method == "auto" or backtest else 0) + 1
        with progress_bar(steps, "forecast") as step:
            fc, used, report = forecast_auto(
                table["value"],
                horizon,
                method=method,
                interval=interval,
                n_folds=folds,
                with_backtest=backtest is not None,
                progress=step,
                bounds=(low, upper_limit),
            )
    fc.index.name = "timestamp"
    _write(lambda: write_frame(output, fc), output)
    if backtest is not None and report is not None:
        bt_path = backtest
        _write(lambda: write_report(bt_path, {**report.to_dict(), "chosen": used}, "scores"), bt_path)
    typer.echo(_("{method}: {n} steps written to {path}", method=used, n=horizon, path=output))


def correlate(
    input: InputOpt,
    target: Annotated[str, typer.Option(help="Target column.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output .json, or .csv / .xlsx: a row per column.")],
    max_lag: Annotated[int, typer.Option(min=0, help="Search lags -N..N for the best one.")] = 0,
) -> None:
    """Pearson, Spearman and Kendall correlations of a target with every other numeric column."""
    from ghgwatch.analytics.correlation import correlate as run
    from ghgwatch.analytics.io import write_report
    from ghgwatch.kit.tables import column_key

    target = column_key(target)
    with _guard(input):
        # Rows in time order when the table has a time column (lags are steps in time), else in file order.
        table = read_input(input, (target,), time="optional")
        result = run(table.reset_index(drop=True), target, max_lag)
    _write(lambda: write_report(output, result, "columns"), output)
    typer.echo(_("{n} columns correlated with {target}; written to {path}", n=len(result["columns"]), target=target,
                 path=output))


@gaps_app.command("fill")
def gaps_fill(
    input: InputOpt,
    output: Annotated[Path, typer.Option("--output", "-o", help="Output .csv, .json or .xlsx.")],
    method: Annotated[str, typer.Option(help="mean, interpolate, nearest, regression, knn or auto.")] = "auto",
    seed: Annotated[int, typer.Option(help="Seed of the evaluation used by auto.")] = 1,
) -> None:
    """Fill empty values and missing times of a regular series; output `timestamp,value,filled,method`."""
    from ghgwatch.analytics.gaps import GAP_METHODS, fill_gaps
    from ghgwatch.analytics.io import write_frame

    with _guard(input):
        table, added = _on_grid(read_input(input, ("value",)), input)
        with progress_bar(len(GAP_METHODS) if method == "auto" else 1, "gaps fill") as step:
            out = fill_gaps(table, method, "value", seed=seed, progress=step)
    out.index.name = "timestamp"
    _write(lambda: write_frame(output, out), output)
    typer.echo(_("{n} gaps filled by {method} ({added} of them missing times); written to {path}",
                 n=int(out["filled"].sum()), method=out.attrs["chosen"], added=added, path=output))


@gaps_app.command("evaluate")
def gaps_evaluate(
    input: InputOpt,
    output: Annotated[Path, typer.Option("--output", "-o", help="Output .json, or .csv / .xlsx: a row per method.")],
    fraction: Annotated[float, typer.Option(min=0.001, max=0.9, help="Share of known values to hide.")] = 0.1,
    block_length: Annotated[int, typer.Option(min=1, help="Hide blocks of this many values.")] = 1,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 1,
) -> None:
    """Hide known values at random and report MAE, RMSE and MAPE of each method."""
    from ghgwatch.analytics.gaps import GAP_METHODS, evaluate_gaps
    from ghgwatch.analytics.io import write_report

    with _guard(input):
        table = read_input(input, ("value",))
        with progress_bar(len(GAP_METHODS), "gaps") as step:
            report = evaluate_gaps(
                table, "value", fraction=fraction, block_length=block_length, seed=seed, progress=step
            )
    _write(lambda: write_report(output, report, "methods"), output)
    typer.echo(_("best: {method} (MAE); written to {path}", method=report["best"], path=output))


@model_app.command("fit")
def model_fit(
    input: InputOpt,
    target: Annotated[str, typer.Option(help="Target column, e.g. ch4_outgoing.")],
    output: OutputOpt,
    kind: Annotated[str, typer.Option(help="auto, linear or gbdt.")] = "auto",
    horizon: Annotated[int, typer.Option(min=1, help="Largest step ahead the model forecasts.")] = 6,
    lags: Annotated[int, typer.Option(min=0, help="Lags 0..N of every column as features.")] = 3,
) -> None:
    """Fit, score on the last 20 % of rows, rank features and save the model with its metadata."""
    from rich.console import Console
    from rich.table import Table

    from ghgwatch.analytics.multivariate import MultivariateForecaster, save_model
    from ghgwatch.kit.tables import column_key

    target = column_key(target)
    with _guard(input):
        table = read_input(input, (target,))
        with progress_bar(1, "model fit") as step:
            model = MultivariateForecaster(target, kind=kind, horizon=horizon, lags=lags).fit(table)
            step(_("done"))
    meta = save_model(model, output)
    view = Table(title=_("{target}: {kind} (test MAE at step {step})", target=target, kind=meta["kind"],
                         step=horizon))
    view.add_column(_("model"))
    view.add_column("MAE", justify="right")
    for name, scores in meta["metrics"].items():
        view.add_row(name, _sig(scores["mae"], 4))
    Console().print(view)
    top = ", ".join(f"{k} {_sig(v, 3)}" for k, v in list(meta["column_importance"].items())[:5])
    typer.echo(_("importance: {top}", top=top) + "\n" + _("model written to {path}", path=output))


def _load(path: Path) -> object:
    from ghgwatch.analytics.multivariate import load_model

    try:
        return load_model(path)[0]
    except FileNotFoundError:
        _fail(_("{path}: file not found", path=path))
    except (ValueError, EOFError, ImportError, AttributeError) as exc:
        _fail(_("{path}: cannot load model ({reason})", path=path, reason=exc))


@model_app.command("predict")
def model_predict(
    model: Annotated[Path, typer.Option("--model", "-m", help="Model file from `model fit`.")],
    input: InputOpt,
    output: OutputOpt,
    horizon: Annotated[int | None, typer.Option(min=1, help="Steps ahead (default: the model's).")] = None,
) -> None:
    """Forecast the target after the last row of the input table (`timestamp,forecast`; CSV, JSON or XLSX)."""
    from ghgwatch.analytics.io import write_frame
    from ghgwatch.analytics.multivariate import MultivariateForecaster

    fitted = _load(model)
    assert isinstance(fitted, MultivariateForecaster)
    with _guard(input):
        pred = fitted.predict(read_input(input, tuple(fitted.columns_)), horizon)
    _write(lambda: write_frame(output, pred), output)
    typer.echo(_("{n} steps written to {path}", n=len(pred), path=output))


@model_app.command("evaluate")
def model_evaluate(
    model: Annotated[Path, typer.Option("--model", "-m", help="Model file from `model fit`.")],
    input: InputOpt,
    output: Annotated[Path, typer.Option("--output", "-o", help="Output .csv or .json.")],
    horizon: Annotated[int | None, typer.Option(min=1, help="Steps ahead (default: the model's).")] = None,
) -> None:
    """Table `timestamp,target,forecast,error_pct` over the input period, plus summary metrics in JSON."""
    from ghgwatch.analytics import metrics
    from ghgwatch.analytics.io import write_frame, write_json
    from ghgwatch.analytics.multivariate import MultivariateForecaster
    from ghgwatch.kit.values import format_moment

    fitted = _load(model)
    assert isinstance(fitted, MultivariateForecaster)
    with _guard(input):
        table = fitted.evaluate(read_input(input, tuple(fitted.columns_)), horizon)
    if table.empty:
        _fail(_("{path}: no rows with a forecast to compare (too few rows for the model's lags)", path=input))
    t, f = table["target"].to_numpy(), table["forecast"].to_numpy()
    summary = {
        "mae": metrics.mae(t, f),
        "rmse": metrics.rmse(t, f),
        "mape": metrics.mape(t, f),
        "rows": len(t),
    }
    if output.suffix.lower() == ".json":
        rows = [
            {"timestamp": format_moment(ts.to_pydatetime()), **vals}
            for ts, vals in zip(table.index, table.to_dict("records"), strict=False)
        ]
        write_json(output, {"target": fitted.target, "metrics": summary, "rows": rows})
    else:
        _write(lambda: write_frame(output, table), output)
    typer.echo(_("MAE {mae}, MAPE {mape} %; written to {path}", mae=_sig(summary["mae"], 4),
                 mape=_sig(summary["mape"], 3), path=output))


def register(app: typer.Typer) -> None:
    app.command("forecast")(forecast)
    app.command("correlate")(correlate)
    app.add_typer(gaps_app, name="gaps")
    app.add_typer(model_app, name="model")
