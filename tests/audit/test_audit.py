"""Every change is audited with who, what, before and after; verify detects altered and removed rows."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select, update

from ghgwatch import audit
from ghgwatch.audit.models import AuditEntry
from ghgwatch.security.models import Role
from tests.conftest import World


async def _verify(world: World) -> tuple[int, audit.AuditProblem | None]:
    async with world.db.transaction() as s:
        return await audit.verify(s)


async def test_changes_are_recorded_with_before_and_after(world: World) -> None:
    headers = await world.login(Role.ENGINEER, world.org_a)
    await world.client.patch(f"/api/v1/sensors/{world.sensor_a}", headers=headers, json={"alarm_level": 1.0})
    async with world.db.transaction() as s:
        last = (await s.execute(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))).scalar_one()
    assert (last.action, last.entity, last.entity_id) == ("update", "sensor", str(world.sensor_a))
    assert last.actor.startswith("engineer-")
    assert last.before is not None and last.after is not None
    assert (last.before["alarm_level"], last.after["alarm_level"]) == (0.75, 1.0)
    checked, problem = await _verify(world)
    assert problem is None
    assert checked == last.id


async def test_failed_change_leaves_no_entry(world: World) -> None:
    headers = await world.login(Role.ADMIN, None)
    checked_before, _ = await _verify(world)
    answer = await world.client.post("/api/v1/organizations", headers=headers, json={"name": "Org A"})
    assert answer.status_code == 409
    checked_after, problem = await _verify(world)
    assert problem is None
    assert checked_after == checked_before


@pytest.mark.parametrize("tamper", ["alter", "remove_middle", "remove_last", "relink"])
async def test_verify_names_the_first_bad_entry(world: World, tamper: str) -> None:
    checked, problem = await _verify(world)
    assert problem is None and checked >= 8
    async with world.db.transaction() as s:
        if tamper == "alter":
            await s.execute(update(AuditEntry).where(AuditEntry.id == 3).values(actor="mallory"))
        elif tamper == "remove_middle":
            await s.execute(delete(AuditEntry).where(AuditEntry.id == 4))
        elif tamper == "remove_last":
            await s.execute(delete(AuditEntry).where(AuditEntry.id == checked))
        else:
            await s.execute(update(AuditEntry).where(AuditEntry.id == 5).values(prev_hash="f" * 64))
    _, problem = await _verify(world)
    assert problem is not None
    expected = {"alter": 3, "remove_middle": 4, "remove_last": checked, "relink": 5}[tamper]
    assert problem.seq == expected, str(problem)


def test_snapshot_redacts_columns_marked_secret() -> None:
    from sqlalchemy import Column, Integer, String
    from sqlalchemy.orm import DeclarativeBase

    from ghgwatch.audit.service import REDACTED, snapshot

    class _Base(DeclarativeBase):
        pass

    class Thing(_Base):
        __tablename__ = "thing"
        id = Column(Integer, primary_key=True)
        secret = Column(String(50), info={"secret": True})

    assert snapshot(Thing(id=1, secret="hunter2")) == {"id": 1, "secret": REDACTED}
    assert snapshot(Thing(id=2)) == {"id": 2, "secret": None}
