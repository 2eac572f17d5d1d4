"""Report sign-off on both databases: draft → reviewed → approved (locked) → submitted, who may do what,
restatement with the differences, scoping and the audit chain.

Hand-computed figures (IPCC 2006 Vol. 2 Ch. 4 §4.1.3.2 Tier 1 average underground mining factor 18 m3/t, CH4
density 0.67 kg/m3 at 20 °C and 1 atm, METHODOLOGY §1.1 and §6.1; GWP CH4 28, IPCC AR5 WG1 Table 8.7):
1,000,000 t of coal → 18 × 0.67 × 1,000,000 / 1000 = 12,060 t CH4 = 337,680 t CO2e;
1,500,000 t → 18,090 t CH4 = 506,520 t CO2e (+168,840 t CO2e, +50 %).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from ghgwatch import audit
from ghgwatch.audit.models import AuditEntry
from ghgwatch.reports.signoff import ReportFile
from ghgwatch.security.models import Role
from tests.conftest import World

REPORTS = "/api/v1/inventory/reports"
CH4_1MT, CO2E_1MT = 12_060.0, 337_680.0
CH4_15MT, CO2E_15MT = 18_090.0, 506_520.0
MINING = "1.B.1.a.i.1"  # IPCC category of underground coal mining (inventory/categories.py)


@dataclass
class People:
    """Organisation A's preparer (engineer), reviewer (engineer), approver (admin), auditor; B's administrator."""

    preparer: dict[str, str]
    reviewer: dict[str, str]
    approver: dict[str, str]
    auditor: dict[str, str]
    stranger: dict[str, str]


@pytest.fixture
async def people(world: World) -> People:
    return People(preparer=await world.login(Role.ENGINEER, world.org_a),
                  reviewer=await world.login(Role.ENGINEER, world.org_a),
                  approver=await world.login(Role.ADMIN, world.org_a),
                  auditor=await world.login(Role.AUDITOR, world.org_a),
                  stranger=await world.login(Role.ADMIN, world.org_b))


async def _name(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    return str((await client.get("/api/v1/me", headers=headers)).json()["username"])


async def _activity(client: httpx.AsyncClient, world: World, headers: dict[str, str], coal_t: float) -> int:
    answer = await client.post("/api/v1/activity-data", headers=headers, json={
        "facility_id": world.facility_a, "period_start": "2025-01-01", "period_end": "2025-12-31",
        "activity_type": "coal_mining_underground", "data": {"coal_t": coal_t}, "unit": "t"})
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


async def _draft(client: httpx.AsyncClient, world: World, people: People) -> tuple[int, dict[str, Any]]:
    activity = await _activity(client, world, people.preparer, 1_000_000)
    answer = await client.post(REPORTS, headers=people.preparer, json={
        "organization_id": world.org_a, "year": 2025, "methodology": "ipcc2006", "gwp": "ar5",
        "title": "GHG report 2025"})
    assert answer.status_code == 201, answer.text
    return activity, answer.json()


async def _approved(client: httpx.AsyncClient, world: World, people: People) -> tuple[int, dict[str, Any]]:
    activity, report = await _draft(client, world, people)
    url = f"{REPORTS}/{report['id']}"
    assert (await client.post(f"{url}/review", headers=people.reviewer, json={})).status_code == 200
    approved = await client.post(f"{url}/approve", headers=people.approver, json={"comment": "ok"})
    assert approved.status_code == 200, approved.text
    return activity, approved.json()


def _rows(differences: dict[str, Any], group: str) -> dict[str, dict[str, Any]]:
    return {r["key"]: r for r in differences[group]}


async def test_happy_path_locks_documents_and_audits_every_step(client: httpx.AsyncClient, world: World,
                                                                people: People) -> None:
    _, draft = await _draft(client, world, people)
    assert draft["state"] == "draft" and draft["version"] == 1 and draft["previous_id"] is None
    assert draft["prepared_by"] == await _name(client, people.preparer)
    assert draft["total_co2e_t"] == pytest.approx(CO2E_1MT, rel=1e-9)
    run = (await client.get(f"/api/v1/inventory/runs/{draft['run_id']}", headers=people.auditor)).json()
    assert run["inputs_sha256"] == draft["inputs_sha256"]
    assert run["result"]["totals"]["ch4_t"] == pytest.approx(CH4_1MT, rel=1e-9)
    url = f"{REPORTS}/{draft['id']}"

    reviewed = await client.post(f"{url}/review", headers=people.reviewer, json={"comment": "figures checked"})
    assert reviewed.status_code == 200, reviewed.text
    assert reviewed.json()["state"] == "reviewed"
    assert reviewed.json()["reviewed_by"] == await _name(client, people.reviewer)

    approved = await client.post(f"{url}/approve", headers=people.approver, json={})
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert body["state"] == "approved" and body["approved_by"] == await _name(client, people.approver)
    assert body["inputs_sha256"] == draft["inputs_sha256"] and len(body["seal_sha256"]) == 64
    names = {d["name"] for d in body["documents"]}
    assert names == {f"annual-{lang}.{fmt}" for lang in ("ru", "en") for fmt in ("pdf", "xlsx", "json")}
    for doc in body["documents"]:
        got = await client.get(f"{url}/documents/{doc['name']}", headers=people.auditor)
        assert got.status_code == 200
        assert hashlib.sha256(got.content).hexdigest() == doc["sha256"] == got.headers["x-document-sha256"]
        assert got.headers["x-report-seal"] == body["seal_sha256"]
    locked = (await client.get(f"{url}/documents/annual-en.json", headers=people.auditor)).json()
    sign = next(s for s in locked["sections"] if s["key"] == "sign_off")
    assert [row[1] for row in sign["rows"]] == [draft["prepared_by"], reviewed.json()["reviewed_by"],
                                                body["approved_by"]]
    assert locked["inputs_sha256"] == draft["inputs_sha256"]

    submitted = await client.post(f"{url}/submit", headers=people.approver, json={})
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["state"] == "submitted" and submitted.json()["submitted_by"] == body["approved_by"]
    listed = (await client.get(REPORTS, headers=people.auditor, params={"state": "submitted"})).json()
    assert [r["id"] for r in listed] == [draft["id"]]

    async with world.db.sessions() as s:
        entries = (await s.execute(select(AuditEntry).where(AuditEntry.entity == "inventory_report")
                                   .order_by(AuditEntry.id))).scalars().all()
        assert [(e.action, e.entity_id) for e in entries] == [
            (a, str(draft["id"])) for a in ("create", "review", "approve", "submit")]
        approve = entries[2].after
        assert approve is not None and approve["seal_sha256"] == body["seal_sha256"]
        assert approve["documents"] == {d["name"]: d["sha256"] for d in body["documents"]}
        assert approve["inputs_sha256"] == draft["inputs_sha256"]
        assert (await audit.verify(s))[1] is None
    verified = (await client.get("/api/v1/audit/verify", headers=people.approver)).json()
    assert verified["intact"] is True


async def test_preparer_and_reviewer_cannot_approve_and_auditor_cannot_act(client: httpx.AsyncClient, world: World,
                                                                          people: People) -> None:
    admin_preparer = await world.login(Role.ADMIN, world.org_a)
    await _activity(client, world, people.preparer, 1_000_000)
    created = await client.post(REPORTS, headers=admin_preparer, json={"organization_id": world.org_a, "year": 2025})
    assert created.status_code == 201, created.text
    url = f"{REPORTS}/{created.json()['id']}"

    own_review = await client.post(f"{url}/review", headers=admin_preparer, json={})
    assert own_review.status_code == 403 and "prepared this report and may not review it" in own_review.json()["detail"]
    for step in ("review", "approve", "submit", "refresh", "check"):
        answer = await client.post(f"{url}/{step}", headers=people.auditor, json={})
        assert answer.status_code == 403, (step, answer.text)
        assert "role 'auditor' may not do this" in answer.json()["detail"]
    assert (await client.patch(url, headers=people.auditor, json={"title": "x"})).status_code == 403
    assert (await client.post(REPORTS, headers=people.auditor,
                              json={"organization_id": world.org_a, "year": 2025})).status_code == 403

    assert (await client.post(f"{url}/review", headers=people.reviewer, json={})).status_code == 200
    own = await client.post(f"{url}/approve", headers=admin_preparer, json={})
    assert own.status_code == 403
    assert "prepared this report and may not approve it" in own.json()["detail"]
    assert "second person" in own.json()["detail"]
    by_reviewer = await client.post(f"{url}/approve", headers=people.reviewer, json={})
    assert by_reviewer.status_code == 403 and "reviewed this report" in by_reviewer.json()["detail"]
    by_engineer = await client.post(f"{url}/approve", headers=await world.login(Role.ENGINEER, world.org_a), json={})
    assert by_engineer.status_code == 403 and "role 'engineer'" in by_engineer.json()["detail"]
    assert (await client.get(url, headers=people.auditor)).json()["state"] == "reviewed"
    assert (await client.post(f"{url}/approve", headers=people.approver, json={})).status_code == 200


async def test_approved_report_is_immutable(client: httpx.AsyncClient, world: World, people: People) -> None:
    _, report = await _approved(client, world, people)
    url = f"{REPORTS}/{report['id']}"
    edit = await client.patch(url, headers=people.preparer, json={"title": "changed"})
    assert edit.status_code == 409 and "locked" in edit.json()["detail"]
    for step, who in (("refresh", people.preparer), ("review", people.reviewer), ("approve", people.approver)):
        answer = await client.post(f"{url}/{step}", headers=who, json={})
        assert answer.status_code == 409, (step, answer.text)
    reject = await client.post(f"{url}/reject", headers=people.reviewer, json={"comment": "no"})
    assert reject.status_code == 409
    again = (await client.get(url, headers=people.auditor)).json()
    assert again["title"] == "GHG report 2025" and again["state"] == "approved"
    assert again["seal_sha256"] == report["seal_sha256"] and again["documents"] == report["documents"]


async def test_changed_inputs_make_a_restatement_with_the_differences(client: httpx.AsyncClient, world: World,
                                                                     people: People) -> None:
    activity, report = await _approved(client, world, people)
    url = f"{REPORTS}/{report['id']}"
    unchanged = (await client.post(f"{url}/check", headers=people.preparer)).json()
    assert unchanged["changed"] is False and unchanged["restatement"] is None
    assert unchanged["current_inputs_sha256"] == report["inputs_sha256"]

    patched = await client.patch(f"/api/v1/activity-data/{activity}", headers=people.preparer,
                                 json={"data": {"coal_t": 1_500_000}})
    assert patched.status_code == 200, patched.text
    refused = await client.post(f"{url}/submit", headers=people.approver, json={})
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert "changed since it was approved" in problem["detail"]
    new_id = problem["restatement_id"]
    old = (await client.get(url, headers=people.auditor)).json()
    assert old["state"] == "approved" and old["superseded_by"] == new_id

    new = (await client.get(f"{REPORTS}/{new_id}", headers=people.auditor)).json()
    assert new["version"] == 2 and new["previous_id"] == report["id"] and new["state"] == "draft"
    assert new["inputs_sha256"] != report["inputs_sha256"]
    assert new["total_co2e_t"] == pytest.approx(CO2E_15MT, rel=1e-9)
    diff = new["differences"]
    assert diff["previous_inputs_sha256"] == report["inputs_sha256"] and diff["previous_version"] == 1
    gas = _rows(diff, "gas")
    assert gas["CH4, t"]["old"] == pytest.approx(CH4_1MT, rel=1e-9)
    assert gas["CH4, t"]["new"] == pytest.approx(CH4_15MT, rel=1e-9)
    assert gas["CH4, t"]["difference"] == pytest.approx(CH4_15MT - CH4_1MT, rel=1e-9)
    assert gas["CO2e, t"]["difference"] == pytest.approx(168_840.0, rel=1e-9)
    assert gas["CO2e, t"]["difference_pct"] == pytest.approx(50.0, rel=1e-9)
    assert gas["CO2, t"]["difference"] == 0.0
    assert _rows(diff, "facility")["Mine a"]["new"] == pytest.approx(CO2E_15MT, rel=1e-9)
    source = _rows(diff, "source")[MINING]
    assert (source["old"], source["new"]) == (pytest.approx(CO2E_1MT, rel=1e-9), pytest.approx(CO2E_15MT, rel=1e-9))

    superseded = await client.post(f"{url}/submit", headers=people.approver, json={})
    assert superseded.status_code == 409 and f"report {new_id}" in superseded.json()["detail"]
    again = (await client.post(f"{url}/check", headers=people.preparer)).json()
    assert again["changed"] is True and again["restatement"]["id"] == new_id  # found, not made twice

    # the restatement goes through the same sign-off (prepared by the approver who submitted: another admin)
    new_url = f"{REPORTS}/{new_id}"
    assert (await client.post(f"{new_url}/review", headers=people.reviewer, json={})).status_code == 200
    assert (await client.post(f"{new_url}/approve", headers=people.approver, json={})).status_code == 403
    second_admin = await world.login(Role.ADMIN, world.org_a)
    assert (await client.post(f"{new_url}/approve", headers=second_admin, json={})).status_code == 200
    done = await client.post(f"{new_url}/submit", headers=second_admin, json={})
    assert done.status_code == 200 and done.json()["state"] == "submitted"
    async with world.db.sessions() as s:
        actions = (await s.execute(select(AuditEntry.action, AuditEntry.entity_id)
                                   .where(AuditEntry.entity == "inventory_report").order_by(AuditEntry.id))).all()
        assert [tuple(a) for a in actions] == [
            ("create", str(report["id"])), ("review", str(report["id"])), ("approve", str(report["id"])),
            ("check", str(report["id"])), ("restate", str(new_id)), ("submit_refused", str(report["id"])),
            ("check", str(report["id"])), ("review", str(new_id)), ("approve", str(new_id)),
            ("submit", str(new_id))]
        assert (await audit.verify(s))[1] is None


async def test_check_on_demand_restates_a_submitted_report(client: httpx.AsyncClient, world: World,
                                                          people: People) -> None:
    _, report = await _approved(client, world, people)
    url = f"{REPORTS}/{report['id']}"
    assert (await client.post(f"{url}/submit", headers=people.approver, json={})).status_code == 200
    await _activity(client, world, people.preparer, 500_000)  # a second row: 1.5 Mt in all
    checked = (await client.post(f"{url}/check", headers=people.reviewer)).json()
    assert checked["changed"] is True and checked["current_inputs_sha256"] != report["inputs_sha256"]
    new = checked["restatement"]
    assert new["version"] == 2 and new["previous_id"] == report["id"] and new["prepared_by"] == \
        await _name(client, people.reviewer)
    assert _rows(new["differences"], "gas")["CO2e, t"]["new"] == pytest.approx(CO2E_15MT, rel=1e-9)
    assert (await client.get(url, headers=people.auditor)).json()["state"] == "submitted"


async def test_approval_refused_when_inputs_changed_after_review(client: httpx.AsyncClient, world: World,
                                                                people: People) -> None:
    activity, report = await _draft(client, world, people)
    url = f"{REPORTS}/{report['id']}"
    assert (await client.post(f"{url}/review", headers=people.reviewer, json={})).status_code == 200
    await client.patch(f"/api/v1/activity-data/{activity}", headers=people.preparer,
                       json={"data": {"coal_t": 1_500_000}})
    refused = await client.post(f"{url}/approve", headers=people.approver, json={})
    assert refused.status_code == 409 and "refresh it" in refused.json()["detail"]
    refreshed = (await client.post(f"{url}/refresh", headers=people.preparer)).json()
    assert refreshed["state"] == "draft" and refreshed["reviewed_by"] is None
    assert refreshed["total_co2e_t"] == pytest.approx(CO2E_15MT, rel=1e-9)
    rejected = await client.post(f"{url}/reject", headers=people.reviewer, json={"comment": "source missing"})
    assert rejected.status_code == 200 and rejected.json()["review_comment"] == "source missing"
    assert (await client.post(f"{url}/reject", headers=people.reviewer, json={})).status_code == 422
    edited = await client.patch(url, headers=people.preparer, json={"title": "GHG report 2025, corrected"})
    assert edited.status_code == 200 and edited.json()["title"] == "GHG report 2025, corrected"


async def test_other_organisation_gets_404_and_bad_input_4xx(client: httpx.AsyncClient, world: World,
                                                            people: People) -> None:
    _, report = await _draft(client, world, people)
    url = f"{REPORTS}/{report['id']}"
    for method, path in (("GET", url), ("PATCH", url), ("POST", f"{url}/review"), ("POST", f"{url}/approve"),
                         ("POST", f"{url}/check"), ("GET", f"{url}/documents/annual-ru.pdf")):
        answer = await client.request(method, path, headers=people.stranger, json={})
        assert answer.status_code == 404, (method, path, answer.text)
        assert answer.json()["detail"] == f"report {report['id']} does not exist"
    assert (await client.get(REPORTS, headers=people.stranger)).json() == []
    assert (await client.get(REPORTS, headers=people.stranger, params={"organization_id": world.org_a})).json() == []
    other = await client.post(REPORTS, headers=people.stranger, json={"organization_id": world.org_a, "year": 2025})
    assert other.status_code == 403
    future = await client.post(REPORTS, headers=people.preparer, json={"organization_id": world.org_a, "year": 2099})
    assert future.status_code == 422 and "closed period" in future.json()["detail"]
    assert future.json()["errors"][0]["loc"] == ["body", "year"]
    missing = await client.get(f"{url}/documents/annual-ru.pdf", headers=people.auditor)
    assert missing.status_code == 404  # a draft has no locked documents
    assert (await client.get(REPORTS, headers=people.auditor, params={"state": "bogus"})).status_code == 422


async def test_altered_document_is_refused(client: httpx.AsyncClient, world: World, people: People) -> None:
    _, report = await _approved(client, world, people)
    url = f"{REPORTS}/{report['id']}"
    async with world.db.transaction() as s:
        await s.execute(update(ReportFile).where(ReportFile.report_id == report["id"],
                                                 ReportFile.name == "annual-ru.pdf").values(content=b"%PDF-forged"))
    download = await client.get(f"{url}/documents/annual-ru.pdf", headers=people.auditor)
    assert download.status_code == 409 and "no longer matches" in download.json()["detail"]
    refused = await client.post(f"{url}/submit", headers=people.approver, json={})
    assert refused.status_code == 409 and "annual-ru.pdf" in refused.json()["detail"]
    assert (await client.get(url, headers=people.auditor)).json()["state"] == "approved"
