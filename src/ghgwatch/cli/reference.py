"""``ghgwatch reference import|export|list|restore|evaluate``: the mine reference database.

``restore`` and ``evaluate`` work on a file (long format: ``mine_key``, ``year`` and the variable, as
``export mine-years`` writes it), on the database (``--db``) or, for ``evaluate``, on the built-in SYNTHETIC panel.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from ghgwatch.cli._runtime import DataDir, _, console, database, fail, finish_import, num, run, settings_for
from ghgwatch.cli.admin import cli_actor

reference_app = typer.Typer(help="The mine reference database (mines, mine-years, seams).", no_args_is_help=True)
TABLE_HELP = "mines | mine-years | seams"


def _kind(table: str) -> Any:
    from ghgwatch.reference.minedb import service

    return service.KINDS.get(table) or fail(_("unknown table {table}; choose from {choices}",
                                                         table=repr(table), choices=", ".join(service.KINDS)))


@reference_app.command("import")
def import_file(
    table: str = typer.Argument(..., help=TABLE_HELP),
    file: Path = typer.Argument(..., exists=True, dir_okay=False),
    mode: str = typer.Option("partial", help="partial: keep good rows; atomic: nothing written if a row is bad"),
    data_dir: Path | None = DataDir,
) -> None:
    """Import CSV or XLSX (header = row 1); a row with record_key is a correction. Exits 1 on a bad row."""
    from ghgwatch.reference.minedb import tabular
    from ghgwatch.registry.tabular import ImportMode, ImportReport, TableFormat, read_table

    k = _kind(table)
    try:
        import_mode = ImportMode(mode)
    except ValueError:
        fail(_("--mode must be partial or atomic"))
    fmt = TableFormat.XLSX if file.suffix.lower() == ".xlsx" else TableFormat.CSV
    rows = read_table(file.read_bytes(), fmt)

    async def go() -> ImportReport:
        async with database(settings_for(data_dir)) as db, db.transaction() as s:
            return await tabular.import_rows(s, cli_actor(), k, rows, import_mode)

    finish_import(run(go()), file)


@reference_app.command("export")
def export_file(
    table: str = typer.Argument(..., help=TABLE_HELP),
    out: Path = typer.Argument(..., dir_okay=False, help="Output file (.csv or .xlsx)"),
    data_dir: Path | None = DataDir,
) -> None:
    """Export the current versions of a table."""
    from ghgwatch.reference.minedb import service, tabular
    from ghgwatch.registry.tabular import TableFormat

    k = _kind(table)
    fmt = TableFormat.XLSX if out.suffix.lower() == ".xlsx" else TableFormat.CSV

    async def go() -> tuple[bytes, int]:
        async with database(settings_for(data_dir)) as db, db.transaction() as s:
            rows, total = await service.search(s, cli_actor(), k, limit=10_000_000)
            return tabular.export_rows(k, rows, fmt), total

    data, total = run(go())
    out.write_bytes(data)
    console.print(_("{n} rows written to {path}", n=total, path=out), highlight=False)


@reference_app.command("list")
def list_rows(
    table: str = typer.Argument("mines", help=TABLE_HELP),
    q: str | None = typer.Option(None, "--q", help="Search names, GEM ids, keys"),
    mine_key: str | None = typer.Option(None, "--mine-key"),
    kuzbass_only: bool = typer.Option(False, "--kuzbass-only"),
    limit: int = typer.Option(50, min=1),
    offset: int = typer.Option(0, min=0),
    data_dir: Path | None = DataDir,
) -> None:
    """List current records as JSON lines."""
    from ghgwatch.reference.minedb import service

    k = _kind(table)
    filters: dict[str, Any] = {}
    if mine_key and k is not service.MINES:
        filters["mine_key"] = mine_key
    if kuzbass_only and k is service.MINES:
        filters["in_kuzbass"] = True

    async def go() -> tuple[list[dict[str, Any]], int]:
        async with database(settings_for(data_dir)) as db, db.transaction() as s:
            rows, total = await service.search(s, cli_actor(), k, q=q, filters=filters, limit=limit, offset=offset)
            return [service.as_dict(r) for r in rows], total

    rows, total = run(go())
    for r in rows:
        typer.echo(json.dumps(r, ensure_ascii=False, default=str))
    console.print(_("{shown} of {total}", shown=len(rows), total=total), highlight=False)


def _file_panel(file: Path, variable: str) -> tuple[Any, list[str], list[int], list[dict[str, Any]]]:
    from ghgwatch.kit.problems import Problem
    from ghgwatch.reference.minedb import panel
    from ghgwatch.registry.tabular import TableFormat, read_table

    fmt = TableFormat.XLSX if file.suffix.lower() == ".xlsx" else TableFormat.CSV
    try:
        rows = read_table(file.read_bytes(), fmt)
        panel.check(variable)
        values, mines, years = panel.from_cells(panel.from_rows(rows, variable))
    except Problem as exc:
        fail(f"{file}: {exc.detail or exc.title}")
    return values, mines, years, rows


@reference_app.command("restore")
def restore_cmd(
    file: Path | None = typer.Argument(None, exists=True, dir_okay=False, help="Long-format CSV/XLSX panel"),
    variable: str = typer.Option("relative_m3_t", "--variable"),
    method: str = typer.Option("knn", "--method", help="mean | interpolation | regression | knn"),
    out: Path | None = typer.Option(None, "--out", help="Write the filled panel (CSV) here; default stdout"),
    db: bool = typer.Option(False, "--db", help="Restore the database panel instead of a file"),
    apply: bool = typer.Option(False, "--apply", help="With --db: write the filled cells (status restored)"),
    year_from: int | None = typer.Option(None, "--year-from", help="With --db: first year of the panel"),
    year_to: int | None = typer.Option(None, "--year-to", help="With --db: last year of the panel"),
    data_dir: Path | None = DataDir,
) -> None:
    """Fill the gaps of a mine × year panel; every filled cell is marked with its method."""
    from ghgwatch.reference.minedb import panel, restore

    if method not in restore.METHODS:
        fail(_("--method {method}: choose from {choices}", method=repr(method),
                          choices=", ".join(restore.METHODS)))
    if db:
        async def go() -> dict[str, Any]:
            async with database(settings_for(data_dir)) as database_, database_.transaction() as s:
                return await panel.restore_db(s, cli_actor(), variable, method, year_from=year_from,
                                             year_to=year_to, apply=apply)

        result = run(go())
        typer.echo(json.dumps({k: v for k, v in result.items() if k != "cells"}, ensure_ascii=False))
        return
    if file is None:
        fail(_("give a panel file, or --db"))
    values, mines, years, _rows = _file_panel(file, variable)
    filled, marks = restore.restore(values, method)
    text = panel.filled_csv(filled, marks, mines, years, variable)
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        console.print(_("{n} cells filled by {method}; written to {path}",
                                   n=int(sum(1 for r in marks for c in r if c)), method=method, path=out),
                      highlight=False)


@reference_app.command("evaluate")
def evaluate_cmd(
    file: Path | None = typer.Argument(None, exists=True, dir_okay=False, help="Long-format CSV/XLSX panel"),
    variable: str = typer.Option("relative_m3_t", "--variable"),
    synthetic: bool = typer.Option(False, "--synthetic", help="Use the built-in SYNTHETIC panel"),
    db: bool = typer.Option(False, "--db", help="Use the database panel"),
    fraction: float = typer.Option(0.1, "--fraction", min=0.01, max=0.9),
    repeats: int = typer.Option(5, "--repeats", min=1, max=50),
    seed: int = typer.Option(0, "--seed"),
    year_from: int | None = typer.Option(None, "--year-from", help="With --db: first year of the panel"),
    year_to: int | None = typer.Option(None, "--year-to", help="With --db: last year of the panel"),
    data_dir: Path | None = DataDir,
) -> None:
    """Hide known cells at random, restore them by every method, print the mean error in % per method."""
    from ghgwatch.reference.minedb import panel, restore

    if synthetic:
        values, _years = restore.synthetic_panel()
    elif db:
        async def go() -> Any:
            async with database(settings_for(data_dir)) as database_, database_.transaction() as s:
                panel.check(variable)
                cells = await panel.load(s, cli_actor(), variable, year_from, year_to)
                return panel.from_cells(cells, year_from, year_to)[0]

        values = run(go())
    elif file is not None:
        values = _file_panel(file, variable)[0]
    else:
        fail(_("give a panel file, --db or --synthetic"))
    try:
        results = restore.evaluate(values, fraction=fraction, repeats=repeats, seed=seed)
    except ValueError as exc:
        fail(str(exc))
    import numpy as np

    known = int((~np.isnan(values)).sum())
    if synthetic:
        console.print(_("SYNTHETIC panel: generated for testing the methods, no real mine is described"),
                      highlight=False)
    console.print(_("panel {mines} mines × {years} years, {known} known cells; {hidden} hidden per repeat, "
                    "{repeats} repeats", mines=values.shape[0], years=values.shape[1], known=known,
                    hidden=results[0].cells, repeats=repeats), highlight=False)
    console.print(f"| {_('method')} | {_('mean error, %')} | {_('std, %')} |", highlight=False)
    console.print("|---|---|---|", highlight=False)
    for r in results:
        console.print(f"| {r.method} | {num(r.mean_error_pct, 2)} | {num(r.std_error_pct, 2)} |", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(reference_app, name="reference")
