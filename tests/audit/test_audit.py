"""Every change is audited with who, what, before and after; verify detects altered and removed rows."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select, update

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


async def test_a_chain_rebuilt_without_the_audit_key_is_detected(world: World) -> None:
    from ghgwatch.audit.models import AuditHead
    from ghgwatch.audit.service import _digest

    checked, problem = await _verify(world)
    assert problem is None and checked >= 5
    async with world.db.transaction() as s:  # rewrite entry 3 and recompute every later hash and the head
        entries = (await s.execute(select(AuditEntry).where(AuditEntry.id >= 3).order_by(AuditEntry.id))
                   ).scalars().all()
        prev = entries[0].prev_hash
        for entry in entries:
            if entry.id == 3:
                entry.actor = "mallory"
            entry.prev_hash = prev
            entry.hash = _digest(entry)
            prev = entry.hash
        head = (await s.execute(select(AuditHead))).scalar_one()
        head.last_hash = prev
    async with world.db.transaction() as s:
        _, plain = await audit.verify(s, key=None)
    assert plain is None  # the hash chain alone cannot tell
    _, problem = await _verify(world)
    assert problem is not None and problem.seq == 3 and "MAC" in problem.reason


async def test_audit_api_is_for_auditors_and_scoped(world: World) -> None:
    auditor_a = await world.login(Role.AUDITOR, world.org_a)
    engineer_a = await world.login(Role.ENGINEER, world.org_a)
    await world.client.patch(f"/api/v1/sensors/{world.sensor_a}", headers=engineer_a, json={"alarm_level": 1.0})
    page = await world.client.get("/api/v1/audit", headers=auditor_a, params={"entity": "sensor", "limit": 5})
    assert page.status_code == 200, page.text
    body = page.json()
    assert body["items"] and all(i["organization_id"] == world.org_a for i in body["items"])
    assert (await world.client.get("/api/v1/audit", headers=engineer_a)).status_code == 403
    auditor_b = await world.login(Role.AUDITOR, world.org_b)
    other = await world.client.get("/api/v1/audit", headers=auditor_b, params={"entity": "sensor", "action": "update"})
    assert other.json()["items"] == []
    logins = await world.client.get("/api/v1/audit", headers=auditor_a, params={"action": "login"})
    assert logins.json()["total"] >= 2
    verified = await world.client.get("/api/v1/audit/verify", headers=auditor_a)
    assert verified.json()["intact"] is True and verified.json()["anchored"] is True



async def test_audit_api_filters_and_pages(world: World) -> None:
    from datetime import UTC, datetime, timedelta

    auditor = await world.login(Role.AUDITOR, world.org_a)
    engineer = await world.login(Role.ENGINEER, world.org_a)
    for level in (1.0, 2.0, 3.0):
        await world.client.patch(f"/api/v1/sensors/{world.sensor_a}", headers=engineer, json={"alarm_level": level})
    params = {"entity": "sensor", "action": "update", "entity_id": str(world.sensor_a)}
    first = (await world.client.get("/api/v1/audit", headers=auditor, params={**params, "limit": 2})).json()
    second = (await world.client.get("/api/v1/audit", headers=auditor,
                                     params={**params, "limit": 2, "offset": 2})).json()
    assert first["total"] == second["total"] == 3
    assert [i["after"]["alarm_level"] for i in first["items"] + second["items"]] == [3.0, 2.0, 1.0]  # newest first
    assert all(i["actor"].startswith("engineer-") for i in first["items"])
    by_actor = await world.client.get("/api/v1/audit", headers=auditor,
                                      params={"actor": first["items"][0]["actor"], "entity": "sensor"})
    assert by_actor.json()["total"] == 3
    later = (datetime.now(UTC) + timedelta(hours=1)).replace(tzinfo=None).isoformat()  # naive: taken as UTC
    assert (await world.client.get("/api/v1/audit", headers=auditor,
                                   params={**params, "from": later})).json()["total"] == 0
    assert (await world.client.get("/api/v1/audit", headers=auditor,
                                   params={**params, "to": later})).json()["total"] == 3
    for bad in ({"from": "yesterday"}, {"limit": 0}, {"limit": 5000}, {"offset": -1}, {"actor": "x" * 121}):
        answer = await world.client.get("/api/v1/audit", headers=auditor, params=bad)
        assert answer.status_code == 422, (bad, answer.text)
    platform_admin = await world.login(Role.ADMIN, None)
    everything = (await world.client.get("/api/v1/audit", headers=platform_admin,
                                         params={"entity": "organization"})).json()
    assert {i["entity_id"] for i in everything["items"]} >= {str(world.org_a), str(world.org_b)}
    mine = (await world.client.get("/api/v1/audit", headers=auditor, params={"limit": 1000})).json()
    assert mine["items"] and {i["organization_id"] for i in mine["items"]} == {world.org_a}


async def test_audit_verify_tells_an_organisation_only_about_its_own_entries(world: World) -> None:
    auditor_a = await world.login(Role.AUDITOR, world.org_a)
    admin_b = await world.login(Role.ADMIN, world.org_b)
    platform_admin = await world.login(Role.ADMIN, None)
    for name in ("Mine b1", "Mine b2", "Mine b3"):  # organisation B's activity must not show in A's answer
        answer = await world.client.patch(f"/api/v1/facilities/{world.facility_b}", headers=admin_b,
                                          json={"name": name})
        assert answer.status_code == 200, answer.text
    async with world.db.sessions() as s:
        total = (await s.execute(select(func.count()).select_from(AuditEntry))).scalar_one()
        own_a = (await s.execute(select(func.count()).select_from(AuditEntry)
                                 .where(AuditEntry.organization_id == world.org_a))).scalar_one()
        b_entry = (await s.execute(select(func.max(AuditEntry.id))
                                   .where(AuditEntry.organization_id == world.org_b))).scalar_one()
        a_entry = (await s.execute(select(func.min(AuditEntry.id))
                                   .where(AuditEntry.organization_id == world.org_a))).scalar_one()
    seen_by_a = (await world.client.get("/api/v1/audit/verify", headers=auditor_a)).json()
    assert 0 < own_a < total
    assert seen_by_a == {"intact": True, "scope": "organization", "checked": own_a, "problem_seq": None,
                         "problem": None, "anchored": True}
    platform = (await world.client.get("/api/v1/audit/verify", headers=platform_admin)).json()
    assert platform["scope"] == "platform" and platform["checked"] == total

    async with world.db.transaction() as s:  # B's entry altered: A learns that the chain is broken, not where
        await s.execute(update(AuditEntry).where(AuditEntry.id == b_entry).values(actor="mallory"))
    broken = (await world.client.get("/api/v1/audit/verify", headers=auditor_a)).json()
    assert broken["intact"] is False and broken["problem_seq"] is None
    assert broken["checked"] == own_a  # all of A's entries came before B's altered one
    assert "not at an entry of your organisation" in broken["problem"]
    assert (await world.client.get("/api/v1/audit/verify", headers=platform_admin)).json()["problem_seq"] == b_entry

    async with world.db.transaction() as s:  # now an earlier entry of A's own: A is told which
        await s.execute(update(AuditEntry).where(AuditEntry.id == a_entry).values(actor="mallory"))
    own_broken = (await world.client.get("/api/v1/audit/verify", headers=auditor_a)).json()
    assert own_broken["problem_seq"] is None and "your organisation's entry" in own_broken["problem"]
    assert own_broken["checked"] == 0  # A's first entry is the bad one


async def test_audit_entries_show_sequence_numbers_to_platform_administrators_only(world: World) -> None:
    # A sequence number is the platform's entry count when the entry was written: an organisation that signs in
    # (audited) and reads its newest entry's number would learn the platform's count.
    auditor_a = await world.login(Role.AUDITOR, world.org_a)
    mine = (await world.client.get("/api/v1/audit", headers=auditor_a, params={"action": "login"})).json()
    assert mine["items"] and all(i["id"] is None for i in mine["items"])
    everything = (await world.client.get("/api/v1/audit", headers=await world.login(Role.ADMIN, None),
                                         params={"action": "login"})).json()
    assert all(isinstance(i["id"], int) for i in everything["items"])
