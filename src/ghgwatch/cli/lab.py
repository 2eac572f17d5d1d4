"""``ghgwatch lab``: import laboratory gas analyses of a facility (CSV or XLSX, docs/lab.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from ghgwatch.cli._runtime import DataDir, _, database, err_console, fail, run, settings_for

lab_app = typer.Typer(help="Laboratory gas analyses (docs/lab.md).", no_args_is_help=True)


@lab_app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="Lab results as CSV or XLSX (header in docs/lab.md)")],
    facility: Annotated[int, typer.Option("--facility", help="Facility id the samples belong to")],
    data_dir: Path | None = DataDir,
) -> None:
    """Import lab results: all rows or none. Exit 2 listing every bad row by number (header = row 1)."""
    from ghgwatch.cli.admin import cli_actor
    from ghgwatch.lab.parse import LabFileError, parse_lab_file
    from ghgwatch.lab.service import import_results

    try:
        data = file.read_bytes()
    except OSError as exc:
        fail(f"{file}: " + _("cannot read ({reason})", reason=exc.strerror))
    settings = settings_for(data_dir)

    async def go() -> dict[str, Any]:
        async with database(settings) as db, db.transaction() as s:
            rows = parse_lab_file(data, "xlsx" if file.suffix.lower() == ".xlsx" else "csv")
            outcome = await import_results(s, cli_actor(), facility, rows, file.name, settings.lab)
            return outcome.as_dict()

    try:
        summary = run(go())
    except LabFileError as exc:
        for row, message in exc.errors:
            where = _("row {row}", row=row) if row else ""
            err_console.print(f"{file}: {where}: {message}" if where else f"{file}: {message}", highlight=False)
        fail(_("nothing was imported"))
    typer.echo(json.dumps({k: v for k, v in summary.items() if k != "items"}, ensure_ascii=False))
    err_console.print(_("{n} lab results imported; {flagged} flagged for sensor drift",
                        n=summary["imported"], flagged=summary["flagged"]), highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(lab_app, name="lab")
