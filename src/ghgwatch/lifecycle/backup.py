"""Backup and restore of an embedded installation (the data folder), safe while ghgwatch runs.

A backup is a folder::

    manifest.json        version, time, database revision, every file with its size and SHA-256
    ghgwatch.db          SQLite online backup (a consistent snapshot, taken while writers carry on)
    bus/...              the embedded log: committed offsets and segments
    files/...            the other files of the data folder (generated JWT key, secrets key, demo credentials)
    settings.json        the effective settings (secrets shown as ``**********``), for reference

Order makes it consistent without stopping anything: the bus's committed offsets are copied **before** the
database snapshot (everything they mark as consumed is in the snapshot), and the log's segments **after** it
(they hold every record acknowledged up to then). After a restore the pipeline re-reads from those offsets;
re-storing what the snapshot already has is harmless (readings are idempotent), and nothing acknowledged
before the backup is missing.

PostgreSQL (cluster mode) is backed up with ``pg_dump -Fc`` and restored with ``pg_restore``: see
``docs/operations.md`` section 4, and ``tests/lifecycle/test_backup.py`` for the tested procedure.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ghgwatch import __version__
from ghgwatch.kit.timeutil import utcnow
from ghgwatch.settings import Settings
from ghgwatch.store import TURN_FILE_SUFFIXES

DB_NAME = "ghgwatch.db"
FORMAT = 1


class BackupError(RuntimeError):
    """The backup cannot be made or restored as asked (says why)."""


@dataclass(frozen=True)
class BackupReport:
    path: Path
    files: int
    bytes: int
    revision: str | None


def _sqlite_path(settings: Settings) -> Path:
    url = settings.database_url
    if not url.startswith("sqlite"):
        raise BackupError("ghgwatch backup covers embedded mode (SQLite); back PostgreSQL up with pg_dump -Fc "
                          "(docs/operations.md, section 4)")
    return Path(url.split("///", 1)[1])


def _bus_root(settings: Settings) -> Path | None:
    url = settings.bus.url
    if not url.startswith("embedded"):
        return None  # Kafka keeps its own copies; it needs no backup (docs/operations.md)
    location = url.partition(":")[2].split("?", 1)[0].removeprefix("//")
    return settings.data_dir / "bus" if not location else settings.data_dir / location


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while block := source.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def backup(settings: Settings, target: Path) -> BackupReport:
    """Write a backup of the embedded installation to the new folder ``target`` (blocking)."""
    db_path = _sqlite_path(settings)
    if not db_path.exists():
        raise BackupError(f"no database at {db_path}")
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"{target} exists and is not empty")
    target.mkdir(parents=True, exist_ok=True)
    bus = _bus_root(settings)
    if bus is not None and (bus / "groups").exists():  # 1. offsets before the snapshot
        shutil.copytree(bus / "groups", target / "bus" / "groups", ignore=shutil.ignore_patterns("*.tmp"))
    source = sqlite3.connect(db_path)  # 2. online backup API: consistent, concurrent writers carry on
    dest = sqlite3.connect(target / DB_NAME)
    try:
        source.backup(dest, pages=4096)
        revision_row = dest.execute("SELECT version_num FROM alembic_version").fetchone()
    finally:
        dest.close()
        source.close()
    if bus is not None and (bus / "topics").exists():  # 3. segments after the snapshot
        shutil.copytree(bus / "topics", target / "bus" / "topics", ignore=shutil.ignore_patterns("LOCK"))
    # The write-turn lock files (store/_turn.py) are empty and belong to the running processes.
    skip = {DB_NAME, *(f"{DB_NAME}{suffix}" for suffix in ("-wal", "-shm", "-journal", *TURN_FILE_SUFFIXES))}
    for item in sorted(settings.data_dir.iterdir()) if settings.data_dir.exists() else []:
        if item.is_file() and item.name not in skip:
            (target / "files").mkdir(exist_ok=True)
            shutil.copy2(item, target / "files" / item.name)
    (target / "settings.json").write_text(settings.model_dump_json(indent=1))
    files = [p for p in sorted(target.rglob("*")) if p.is_file()]
    manifest: dict[str, Any] = {
        "format": FORMAT, "ghgwatch": __version__, "created_at": utcnow().isoformat(),
        "revision": revision_row[0] if revision_row else None,
        "files": [{"path": str(p.relative_to(target)), "bytes": p.stat().st_size, "sha256": _sha256(p)}
                  for p in files]}
    (target / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return BackupReport(target, len(files), sum(f["bytes"] for f in manifest["files"]), manifest["revision"])


def check(source: Path) -> dict[str, Any]:
    """The manifest of a backup after checking every file's size and SHA-256."""
    try:
        manifest: dict[str, Any] = json.loads((source / "manifest.json").read_text())
    except (OSError, ValueError) as exc:
        raise BackupError(f"{source} is not a ghgwatch backup (manifest.json: {exc})") from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(f"backup format {manifest.get('format')} is not supported (expected {FORMAT})")
    for entry in manifest["files"]:
        path = source / entry["path"]
        if not path.is_file() or path.stat().st_size != entry["bytes"] or _sha256(path) != entry["sha256"]:
            raise BackupError(f"{entry['path']} is missing or damaged (size or SHA-256 differs from the manifest)")
    return manifest


def restore(source: Path, settings: Settings, *, force: bool = False) -> dict[str, Any]:
    """Put a checked backup into the data folder of ``settings`` (ghgwatch must be stopped there)."""
    manifest = check(source)
    db_path = _sqlite_path(settings)
    bus = _bus_root(settings)
    if bus is not None and (bus / "LOCK").exists():
        fd = os.open(bus / "LOCK", os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BackupError("ghgwatch is running on this data folder: stop it before restoring") from None
        finally:
            os.close(fd)
    if db_path.exists() and not force:
        raise BackupError(f"{db_path} exists: restore into an empty data folder, or pass --force to replace it")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    for suffix in ("-wal", "-shm", "-journal"):
        db_path.with_name(db_path.name + suffix).unlink(missing_ok=True)
    shutil.copy2(source / DB_NAME, db_path)
    os.chmod(db_path, 0o600)
    if bus is not None and (source / "bus").exists():
        shutil.rmtree(bus, ignore_errors=True)
        shutil.copytree(source / "bus", bus)
    if (source / "files").exists():
        for item in (source / "files").iterdir():
            shutil.copy2(item, settings.data_dir / item.name)
    return manifest
