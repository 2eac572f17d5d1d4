"""``ghgwatch import ...`` and ``ghgwatch audit verify|anchor|checkpoint``."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape

from ghgwatch.cli._runtime import (
    DataDir,
    _,
    console,
    database,
    err_console,
    fail,
    finish_import,
    ngettext,
    run,
    settings_for,
)
from ghgwatch.cli.admin import cli_actor

import_app = typer.Typer(help="Import reference data and registry tables.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)


@import_app.command("gem")
def import_gem(
    organization: int = typer.Option(..., "--organization", help="Organisation id to import into"),
    kuzbass_only: bool = typer.Option(True, "--kuzbass-only/--all-russia"),
    mine: list[str] = typer.Option([], "--mine", help="GEM mine id(s), e.g. M0836 (default: every mine)"),
    data_dir: Path | None = DataDir,
) -> None:
    """Import GEM coal mines (facilities) and their shafts and drainage stations (sources).

    Data: Global Energy Monitor, Global Coal Mine Tracker / Coal Mine Boundaries and Methane Sources (CC BY 4.0).
    """
    from ghgwatch.reference import gem

    mines = gem.find_mines(kuzbass_only=kuzbass_only, ids=set(mine) or None)
    if not mines:
        fail(_("no GEM mine matches"))

    async def go() -> gem.ImportSummary:
        async with database(settings_for(data_dir)) as db, db.transaction() as s:
            return await gem.import_mines(s, cli_actor(), organization, mines)

    summary = run(go())
    typer.echo(json.dumps({"facilities_created": summary.facilities_created,
                              "facilities_skipped": summary.facilities_skipped,
                              "sources_created": summary.sources_created, "credit": gem.CREDIT}))


@import_app.command("table")
def import_table(
    table: str = typer.Argument(..., help="organizations | facilities | sources | sensors"),
    file: Path = typer.Argument(..., exists=True, dir_okay=False),
    mode: str = typer.Option("partial", help="partial: keep good rows; atomic: nothing written if a row is bad"),
    data_dir: Path | None = DataDir,
) -> None:
    """Import a registry table from CSV or XLSX (header = row 1). Exits 1 if any row was rejected."""
    from ghgwatch.registry import tabular
    from ghgwatch.registry.specs import BY_PATH

    spec = BY_PATH.get(table) or fail(_("unknown table {table}; choose from {choices}", table=repr(table),
                                        choices=", ".join(BY_PATH)))
    try:
        import_mode = tabular.ImportMode(mode)
    except ValueError:
        fail(_("--mode must be partial or atomic"))
    fmt = tabular.TableFormat.XLSX if file.suffix.lower() == ".xlsx" else tabular.TableFormat.CSV
    rows = tabular.read_table(file.read_bytes(), fmt)

    async def go() -> tabular.ImportReport:
        async with database(settings_for(data_dir)) as db, db.transaction() as s:
            return await tabular.import_rows(s, cli_actor(), spec, rows, import_mode)

    finish_import(run(go()), file)


@audit_app.command("verify")
def audit_verify(
    checkpoint: list[Path] = typer.Option(
        [], "--checkpoint", exists=True, dir_okay=False,
        help="A file written by `ghgwatch audit checkpoint`: the chain must still hold its last entry (repeatable)"),
    data_dir: Path | None = DataDir,
) -> None:
    """Walk the hash chain; exit 1 naming the first bad entry if any row was altered or removed.

    With --checkpoint, also detect a chain cut short or rebuilt since the checkpoint was taken."""
    from ghgwatch import audit
    from ghgwatch.audit import checkpoint as checkpoints
    from ghgwatch.audit.anchor import current_key

    async def go() -> tuple[int, audit.AuditProblem | None]:
        async with database(settings_for(data_dir), auto_upgrade=False) as db, db.transaction() as s:
            key = current_key()
            assert key is not None  # installed by database()
            try:
                taken = [checkpoints.loads(path.read_text(encoding="utf-8"), key) for path in checkpoint]
            except checkpoints.CheckpointError as exc:
                fail(f"{exc}")
            checked, problem = await audit.verify(s)
            for one in taken:
                problem = problem or await checkpoints.check(s, one)
            return checked, problem

    checked, problem = run(go())
    if problem is not None:
        err_console.print("[red]" + _("audit log broken") + "[/red] " + escape(
            _("at entry {seq}: {reason} ({n} entries verified before it)", seq=problem.seq, reason=problem.reason,
              n=checked)), highlight=False)
        raise typer.Exit(1)
    suffix = ("; " + ngettext("{n} checkpoint holds", "{n} checkpoints hold", len(checkpoint))) if checkpoint else ""
    console.print(_("audit log intact: {n} entries verified", n=checked) + suffix, highlight=False)


@audit_app.command("checkpoint")
def audit_checkpoint(
    out: Path = typer.Option(..., "--out", dir_okay=False, help="File to write (keep it outside this system)"),
    data_dir: Path | None = DataDir,
) -> None:
    """Write a checkpoint of the verified chain (entry count, head hash, time) signed with the audit key.

    Store it elsewhere; `ghgwatch audit verify --checkpoint FILE` later detects a chain cut short or rebuilt."""
    from ghgwatch.audit import checkpoint as checkpoints
    from ghgwatch.audit.anchor import current_key

    async def go() -> str:
        async with database(settings_for(data_dir), auto_upgrade=False) as db, db.transaction() as s:
            key = current_key()
            assert key is not None  # installed by database()
            return checkpoints.dumps(await checkpoints.take(s), key)

    try:
        text = run(go())
    except checkpoints.CheckpointError as exc:
        fail(str(exc))
    out.write_text(text, encoding="utf-8")
    console.print(_("audit checkpoint written to {path}: {n} entries", path=out, n=json.loads(text)["count"]),
                  highlight=False)


@audit_app.command("anchor")
def audit_anchor(data_dir: Path | None = DataDir) -> None:
    """Add the audit key's MAC to entries written before anchoring (once, after upgrading). Refuses a broken
    chain, so that a tampered one is never blessed."""
    from ghgwatch import audit
    from ghgwatch.audit.anchor import current_key

    async def go() -> int:
        async with database(settings_for(data_dir), auto_upgrade=False) as db, db.transaction() as s:
            key = current_key()
            assert key is not None  # installed by database()
            return await audit.anchor_chain(s, key)

    try:
        anchored = run(go())
    except ValueError as exc:
        err_console.print("[red]" + _("not anchored") + f"[/red]: {escape(str(exc))}", highlight=False)
        raise typer.Exit(1) from exc
    console.print(_("audit log anchored: {n} entries given a MAC", n=anchored))


def register(app: typer.Typer) -> None:
    app.add_typer(import_app, name="import")
    app.add_typer(audit_app, name="audit")
