"""Backups: ``ghgwatch backup`` while the embedded platform runs, ``restore`` into a new folder, and every
acknowledged reading and the audit chain are there; the PostgreSQL procedure (pg_dump -Fc / pg_restore)."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from ghgwatch.audit import service as audit
from ghgwatch.lifecycle.backup import BackupError, backup, check, restore
from ghgwatch.security import service
from ghgwatch.security.principal import SYSTEM
from ghgwatch.settings import Settings, build_settings
from ghgwatch.store import Database, open_database
from ghgwatch.store.migrate import upgrade
from tests.conftest import build_world
from tests.support import postgres


@asynccontextmanager
async def _running(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, object]]]:
    from ghgwatch import roles

    app = roles.build_role_app(settings, "all", services=tuple(s for s in roles.SERVICES if s.name != "mqtt"))
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield client, app.state.ctx.extras


async def _count(db_path: Path, sql: str) -> int:
    db = open_database(f"sqlite+aiosqlite:///{db_path}")
    try:
        async with db.engine.connect() as conn:
            return int((await conn.execute(text(sql))).scalar() or 0)
    finally:
        await db.dispose()


async def test_embedded_backup_while_running_restores_every_reading_and_the_audit_chain(tmp_path: Path) -> None:
    live = build_settings(data_dir=tmp_path / "live")  # embedded: the JWT key is generated into the folder
    live.data_dir.mkdir()
    await asyncio.to_thread(upgrade, live.database_url)
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    acked: set[tuple[int, int]] = set()
    async with _running(live) as (client, extras):
        db: Database = extras["pipeline"].db  # type: ignore[attr-defined]
        world = await build_world(client, db)  # registry changes are audited
        async with db.transaction() as s:
            token = (await service.create_device(s, SYSTEM, organization_id=world.org_a, name="gw")).token
        headers = {"Authorization": f"Bearer {token}"}

        async def send(first: int, n: int) -> None:
            rows = [{"sensor": world.sensor_a, "ts": (t0 + timedelta(seconds=first + i)).isoformat(), "value": 0.5}
                    for i in range(n)]
            answer = await client.post("/api/v1/readings", json={"readings": rows}, headers=headers)
            assert answer.status_code == 202, answer.text
            acked.update((world.sensor_a, int((t0 + timedelta(seconds=first + i)).timestamp() * 1e6))
                         for i in range(n))

        await send(0, 500)
        deadline = time.monotonic() + 30
        while await _count(live.data_dir / "ghgwatch.db", "SELECT count(*) FROM readings") < 500:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        await extras["pipeline"].stop()  # type: ignore[attr-defined]
        await send(500, 300)  # acknowledged, durable on the bus, not stored yet: only the bus has them
        report = await asyncio.to_thread(backup, live, tmp_path / "backup")
        extras.pop("pipeline")
    assert report.revision is not None and report.files >= 4
    manifest = check(tmp_path / "backup")
    assert {"ghgwatch.db", "files/jwt.secret"} <= {f["path"] for f in manifest["files"]}
    assert any(f["path"].startswith("bus/topics/readings.raw.v1/") for f in manifest["files"])

    restored = build_settings(data_dir=tmp_path / "restored")
    await asyncio.to_thread(restore, tmp_path / "backup", restored)
    with pytest.raises(BackupError, match="exists"):
        await asyncio.to_thread(restore, tmp_path / "backup", restored)
    assert (restored.data_dir / "jwt.secret").read_text() == (live.data_dir / "jwt.secret").read_text()
    db_path = restored.data_dir / "ghgwatch.db"
    assert await _count(db_path, "SELECT count(*) FROM readings") == 500
    async with _running(restored) as (_client, extras):  # the pipeline replays the bus copy
        deadline = time.monotonic() + 60
        while await _count(db_path, "SELECT count(*) FROM readings") < len(acked):
            assert time.monotonic() < deadline, "acknowledged readings missing after the restore"
            await asyncio.sleep(0.05)
        db = extras["pipeline"].db  # type: ignore[attr-defined]
        async with db.engine.connect() as conn:
            stored = {tuple(r) for r in (await conn.execute(text("SELECT sensor_id, ts FROM readings"))).all()}
            minutes = (await conn.execute(text("SELECT sum(count) FROM rollup_1m"))).scalar()
        async with db.sessions() as s:
            checked, problem = await audit.verify(s)
    assert stored == acked and minutes == len(acked)
    assert checked > 0 and problem is None, problem

    # A damaged backup is refused before anything is touched.
    (tmp_path / "backup" / "ghgwatch.db").write_bytes(b"not a database")
    with pytest.raises(BackupError, match="damaged"):
        check(tmp_path / "backup")


@pytest.mark.postgres
def test_postgres_procedure_pg_dump_and_pg_restore(pg_admin_url: str, tmp_path: Path) -> None:
    """docs/operations.md section 4, step by step: pg_dump -Fc, pg_restore into an empty database."""
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.fail("pg_dump/pg_restore not installed (postgresql-client)")
    names = [f"ghgwatch_bk_{uuid.uuid4().hex[:8]}" for _ in range(2)]
    source, target = (postgres.create_database(pg_admin_url, n) for n in names)
    try:
        asyncio.run(_fill(postgres.asyncpg_url(source)))
        dump = tmp_path / "ghgwatch.dump"
        subprocess.run(["pg_dump", "-Fc", "--no-owner", "-f", str(dump), source], check=True, capture_output=True)
        subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", "-d", target, str(dump)], check=True,
                       capture_output=True)
        result = asyncio.run(_inspect(postgres.asyncpg_url(target)))
        assert result == {"readings": 3 * 1440, "minutes": 3 * 1440, "partitions": 3, "audit_ok": True}
    finally:
        for n in names:
            postgres.drop_database(pg_admin_url, n)


async def _fill(url: str) -> None:
    import numpy as np

    from ghgwatch.readings.writer import SensorRows, write_batch
    from ghgwatch.registry import service as registry
    from ghgwatch.registry.schemas import OrganizationIn
    from ghgwatch.registry.specs import ORGANIZATIONS

    await asyncio.to_thread(upgrade, url)
    db = open_database(url)
    try:
        async with db.transaction() as s:
            for i in range(3):
                await registry.create(s, SYSTEM, ORGANIZATIONS, OrganizationIn(name=f"Org {i}"))
        day = int(datetime.now(UTC).timestamp() // 86400) - 3
        ts = day * 86_400_000_000 + np.arange(3 * 1440, dtype=np.int64) * 60_000_000
        await write_batch(db, [SensorRows(1, ts, np.full(len(ts), 0.5), np.zeros(len(ts), np.int16))], [])
    finally:
        await db.dispose()


async def _inspect(url: str) -> dict[str, object]:
    db = open_database(url)
    try:
        async with db.engine.connect() as conn:
            readings = (await conn.execute(text("SELECT count(*) FROM readings"))).scalar()
            minutes = (await conn.execute(text("SELECT sum(count) FROM rollup_1m"))).scalar()
            parts = (await conn.execute(text("SELECT count(*) FROM pg_inherits i JOIN pg_class p "
                                             "ON p.oid = i.inhparent WHERE p.relname = 'readings'"))).scalar()
        async with db.sessions() as s:
            checked, problem = await audit.verify(s)
        return {"readings": readings, "minutes": minutes, "partitions": parts, "audit_ok": checked >= 3 and
                problem is None}
    finally:
        await db.dispose()


def test_backup_refuses_postgres_with_the_procedure(tmp_path: Path) -> None:
    settings = build_settings(data_dir=tmp_path, db={"url": "postgresql+asyncpg://x@127.0.0.1/x"})
    with pytest.raises(BackupError, match="pg_dump"):
        backup(settings, tmp_path / "b")
