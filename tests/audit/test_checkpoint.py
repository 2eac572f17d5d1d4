"""Signed checkpoints exported outside the database catch a chain cut short (with an old head row put back) and a
chain rebuilt by someone who holds the audit key, which the MACs alone cannot."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import delete, select

from ghgwatch import audit
from ghgwatch.audit import anchor, checkpoint
from ghgwatch.audit.models import AuditEntry, AuditHead
from ghgwatch.audit.service import _digest
from ghgwatch.security.models import Role
from tests.conftest import World


async def _take(world: World) -> str:
    key = anchor.current_key()
    assert key is not None
    async with world.db.transaction() as s:
        return checkpoint.dumps(await checkpoint.take(s), key)


async def _check(world: World, text: str) -> audit.AuditProblem | None:
    key = anchor.current_key()
    assert key is not None
    async with world.db.transaction() as s:
        return await checkpoint.check(s, checkpoint.loads(text, key))


async def _more_entries(world: World, n: int) -> None:
    admin = await world.login(Role.ADMIN, world.org_a)
    for i in range(n):
        answer = await world.client.patch(f"/api/v1/sensors/{world.sensor_a}", headers=admin,
                                          json={"alarm_level": 1.0 + i})
        assert answer.status_code == 200, answer.text


async def test_a_checkpoint_holds_while_the_chain_only_grows(world: World) -> None:
    text = await _take(world)
    body = json.loads(text)
    async with world.db.sessions() as s:
        head = (await s.execute(select(AuditHead))).scalar_one()
    assert body["count"] == head.last_seq > 0 and body["head_hash"] == head.last_hash and body["created"]
    await _more_entries(world, 3)
    assert await _check(world, text) is None


async def test_a_chain_cut_short_with_an_old_head_put_back_is_caught(world: World) -> None:
    async with world.db.sessions() as s:
        old = (await s.execute(select(AuditHead))).scalar_one()
        saved = (old.last_seq, old.last_hash, old.mac)
    await _more_entries(world, 3)
    text = await _take(world)
    async with world.db.transaction() as s:  # drop the newest entries, put back the earlier head row (valid MAC)
        await s.execute(delete(AuditEntry).where(AuditEntry.id > saved[0]))
        head = (await s.execute(select(AuditHead))).scalar_one()
        head.last_seq, head.last_hash, head.mac = saved
    async with world.db.transaction() as s:
        _, problem = await audit.verify(s)
    assert problem is None  # the MACs alone cannot tell
    problem = await _check(world, text)
    assert problem is not None and "truncated" in problem.reason and problem.seq == json.loads(text)["count"]


async def test_a_chain_rebuilt_with_the_key_is_caught(world: World) -> None:
    text = await _take(world)
    key = anchor.current_key()
    assert key is not None
    async with world.db.transaction() as s:  # whoever holds the key rewrites entry 2 and re-MACs everything after
        entries = (await s.execute(select(AuditEntry).where(AuditEntry.id >= 2).order_by(AuditEntry.id))
                   ).scalars().all()
        prev = entries[0].prev_hash
        for entry in entries:
            if entry.id == 2:
                entry.actor = "mallory"
            entry.prev_hash, entry.hash = prev, ""
            entry.hash = _digest(entry)
            entry.mac = anchor.entry_mac(key, entry.hash)
            prev = entry.hash
        head = (await s.execute(select(AuditHead))).scalar_one()
        head.last_hash, head.mac = prev, anchor.head_mac(key, head.last_seq, prev)
    async with world.db.transaction() as s:
        _, problem = await audit.verify(s)
    assert problem is None
    problem = await _check(world, text)
    assert problem is not None and "rebuilt" in problem.reason


async def test_checkpoint_files_are_authenticated_and_a_broken_chain_is_not_checkpointed(world: World) -> None:
    text = await _take(world)
    edited = json.loads(text)
    edited["count"] -= 1
    with pytest.raises(checkpoint.CheckpointError, match="signature"):
        checkpoint.loads(json.dumps(edited), anchor.current_key() or b"")
    with pytest.raises(checkpoint.CheckpointError, match="signature"):
        checkpoint.loads(text, b"another key")
    for bad in ("not json", "{}", json.dumps({"format": checkpoint.FORMAT, "count": "3"})):
        with pytest.raises(checkpoint.CheckpointError):
            checkpoint.loads(bad, b"k")
    async with world.db.transaction() as s:
        await s.execute(delete(AuditEntry).where(AuditEntry.id == 2))
    with pytest.raises(checkpoint.CheckpointError, match="entry 2"):
        await _take(world)
