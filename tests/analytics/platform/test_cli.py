"""``ghgwatch analytics jobs|models|promote`` against the database (both databases)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sqlalchemy import select
from typer.testing import CliRunner

from ghgwatch.audit.models import AuditEntry
from ghgwatch.cli import app
from ghgwatch.readings.writer import SensorRows, write_batch
from ghgwatch.security.principal import SYSTEM
from ghgwatch.store import Database, open_database
from tests.analytics.platform.conftest import pattern

runner = CliRunner()


async def _seed(url: str) -> int:
    """A sensor with four hours of 1-minute readings ending now; returns its id."""
    from ghgwatch.registry import service
    from ghgwatch.registry.schemas import FacilityIn, OrganizationIn, SensorIn, SourceIn
    from ghgwatch.registry.specs import FACILITIES, ORGANIZATIONS, SENSORS, SOURCES

    db = open_database(url)
    try:
        async with db.transaction() as s:
            org = await service.create(s, SYSTEM, ORGANIZATIONS, OrganizationIn(name="CLI org"))
            fac = await service.create(s, SYSTEM, FACILITIES, FacilityIn(
                organization_id=org.id, name="Mine", type="underground_mine"))  # type: ignore[attr-defined, arg-type]
            src = await service.create(s, SYSTEM, SOURCES, SourceIn(
                facility_id=fac.id, name="Shaft", type="ventilation_shaft"))  # type: ignore[attr-defined, arg-type]
            sen = await service.create(s, SYSTEM, SENSORS, SensorIn(
                source_id=src.id, name="CH4", kind="methane", unit="%"))  # type: ignore[attr-defined, arg-type]
            sensor_id = int(sen.id)  # type: ignore[attr-defined]
        t0 = int(datetime.now(UTC).replace(second=0, microsecond=0).timestamp()) * 1_000_000
        minutes = np.arange(-240, 0)
        await write_batch(db, [SensorRows(sensor_id, t0 + minutes * 60_000_000, pattern(minutes),
                                          np.zeros(len(minutes), dtype=np.int16))], [])
    finally:
        await db.dispose()
    return sensor_id


async def _audit_actions(url: str) -> list[tuple[str, str]]:
    db = open_database(url)
    try:
        async with db.sessions() as s:
            rows = (await s.execute(select(AuditEntry).where(AuditEntry.entity == "model")
                                    .order_by(AuditEntry.id))).scalars().all()
            return [(r.action, r.actor) for r in rows]
    finally:
        await db.dispose()


def test_jobs_run_models_and_promote(db_url: str, db: Database, tmp_path: Path) -> None:
    del db  # truncates PostgreSQL afterwards
    sensor = asyncio.run(_seed(db_url))
    env = {"GHGWATCH_DATA_DIR": str(tmp_path / "data"), "GHGWATCH_DB__URL": db_url}

    for _ in range(2):
        result = runner.invoke(app, ["analytics", "jobs", "run", "refit", f"sensor_id={sensor}", "method=linear",
                                     "horizon=20", "window_hours=5", "name=cli-model"], env=env)
        assert result.exit_code == 0, result.output
        job = json.loads(result.stdout[result.stdout.index("{"):])
        assert job["state"] == "done" and job["progress"] == 1.0 and job["created_by"].startswith("cli:")
    assert job["result"]["version"] == 2

    listed = runner.invoke(app, ["analytics", "models", "--name", "cli-model", "--json"], env=env)
    assert listed.exit_code == 0, listed.output
    models = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(m["version"], m["status"], m["method"]) for m in models] == [(2, "candidate", "linear"),
                                                                          (1, "candidate", "linear")]
    assert runner.invoke(app, ["analytics", "models"], env=env).exit_code == 0  # the table

    first = runner.invoke(app, ["analytics", "promote", str(job["result"]["model_id"] - 1)], env=env)
    second = runner.invoke(app, ["analytics", "promote", str(job["result"]["model_id"])], env=env)
    assert json.loads(first.stdout)["status"] == "promoted"
    assert json.loads(second.stdout) == {"id": job["result"]["model_id"], "name": "cli-model", "version": 2,
                                         "status": "promoted", "retired": [job["result"]["model_id"] - 1]}
    actions = asyncio.run(_audit_actions(db_url))
    assert [a for a, _ in actions] == ["register", "register", "promote", "retire", "promote"]  # jobs too (issue 12)
    assert all(actor.startswith("cli:") for _, actor in actions)

    queued = runner.invoke(app, ["analytics", "jobs", "run", "gap_report", "--queue-only"], env=env)
    assert json.loads(queued.stdout)["state"] == "queued"
    jobs = runner.invoke(app, ["analytics", "jobs", "list", "--state", "done", "--json"], env=env)
    assert [json.loads(line)["kind"] for line in jobs.stdout.splitlines()] == ["refit", "refit"]
    assert runner.invoke(app, ["analytics", "jobs", "list"], env=env).exit_code == 0

    bad = runner.invoke(app, ["analytics", "jobs", "run", "forecast", "method=magic", f"sensor_id={sensor}"], env=env)
    assert bad.exit_code == 2 and "method" in bad.stderr
    missing = runner.invoke(app, ["analytics", "promote", "9999"], env=env)
    assert missing.exit_code == 2 and "does not exist" in missing.stderr
