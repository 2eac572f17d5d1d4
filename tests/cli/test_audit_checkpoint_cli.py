"""``ghgwatch audit checkpoint --out FILE`` and ``ghgwatch audit verify --checkpoint FILE`` on SQLite and
PostgreSQL: a chain cut short after the checkpoint passes the plain verify but not the one with the checkpoint."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from sqlalchemy import delete, select

from ghgwatch.audit.models import AuditEntry, AuditHead
from ghgwatch.settings import build_settings
from ghgwatch.store import open_database
from tests.cli.test_admin_cli import cli_env, invoke

__all__ = ["cli_env"]


async def _head(url: str) -> tuple[int, str, str | None]:
    db = open_database(url)
    try:
        async with db.sessions() as s:
            head = (await s.execute(select(AuditHead))).scalar_one()
            return head.last_seq, head.last_hash, head.mac
    finally:
        await db.dispose()


async def _truncate(url: str, saved: tuple[int, str, str | None]) -> None:
    """Remove the entries after ``saved`` and put back that earlier head row (its MAC was valid then)."""
    db = open_database(url)
    try:
        async with db.transaction() as s:
            await s.execute(delete(AuditEntry).where(AuditEntry.id > saved[0]))
            head = (await s.execute(select(AuditHead))).scalar_one()
            head.last_seq, head.last_hash, head.mac = saved
    finally:
        await db.dispose()


def test_checkpoint_catches_a_truncated_chain(cli_env: dict[str, str], tmp_path: Path) -> None:
    assert invoke(cli_env, "db", "upgrade")[0] == 0
    assert invoke(cli_env, "org", "create", "Kuzbass Coal")[0] == 0
    url = cli_env.get("GHGWATCH_DB__URL") or build_settings(data_dir=Path(cli_env["GHGWATCH_DATA_DIR"])).database_url
    saved = asyncio.run(_head(url))
    assert invoke(cli_env, "org", "create", "Second Coal")[0] == 0
    file = tmp_path / "checkpoint.json"
    code, out, err = invoke(cli_env, "audit", "checkpoint", "--out", str(file))
    assert code == 0, out + err
    assert json.loads(file.read_text())["count"] == saved[0] + 1
    code, out, _ = invoke(cli_env, "audit", "verify", "--checkpoint", str(file))
    assert code == 0 and "1 checkpoint holds" in out

    asyncio.run(_truncate(url, saved))
    assert invoke(cli_env, "audit", "verify")[0] == 0  # unnoticed without the checkpoint
    code, _, err = invoke(cli_env, "audit", "verify", "--checkpoint", str(file))
    assert code == 1 and "truncated" in err, err
    file.write_text(file.read_text().replace('"count": ', '"count": 1'))  # an edited checkpoint is refused
    code, _, err = invoke(cli_env, "audit", "verify", "--checkpoint", str(file))
    assert code == 2 and "signature" in err, err
