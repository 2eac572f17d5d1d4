"""``ghgwatch backup`` and ``ghgwatch restore`` (embedded mode; PostgreSQL: pg_dump / pg_restore)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from ghgwatch.cli._runtime import DataDir, _, console, fail, num, settings_for


def register(app: typer.Typer) -> None:
    @app.command("backup")
    def backup_command(
        target: Path = typer.Argument(..., help="A new (or empty) folder to write the backup to"),
        data_dir: Path | None = DataDir,
    ) -> None:
        """Back up the data folder (SQLite online backup, the bus's committed state, keys, settings) while
        ghgwatch runs. PostgreSQL: use pg_dump -Fc (docs/operations.md, section 4)."""
        from ghgwatch.lifecycle.backup import BackupError, backup

        try:
            report = backup(settings_for(data_dir), target)
        except BackupError as exc:
            fail(str(exc))
        console.print(_("backup written to {path}: {files} files, {bytes} bytes, database revision {revision}",
                        path=f"[bold]{report.path}[/bold]", files=report.files, bytes=num(report.bytes),
                        revision=report.revision))

    @app.command("restore")
    def restore_command(
        source: Path = typer.Argument(..., exists=True, file_okay=False, help="A folder written by ghgwatch backup"),
        data_dir: Path | None = DataDir,
        force: bool = typer.Option(False, "--force", help="Replace an existing database in the data folder"),
    ) -> None:
        """Check a backup (every file's SHA-256) and put it into the data folder; ghgwatch must be stopped.
        Afterwards ``ghgwatch audit verify`` proves the audit chain intact."""
        from ghgwatch.lifecycle.backup import BackupError, restore

        try:
            manifest = restore(source, settings_for(data_dir), force=force)
        except BackupError as exc:
            fail(str(exc))
        typer.echo(json.dumps({"restored": str(source), "created_at": manifest["created_at"],
                               "revision": manifest["revision"], "files": len(manifest["files"])}))
