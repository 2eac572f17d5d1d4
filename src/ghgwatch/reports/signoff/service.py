"""The sign-off flow of inventory reports: prepare, review, approve (locks), submit, check and restate.

Every step is one transaction of the caller's session and one entry of the audit chain (entity
``inventory_report``). The inputs of a report are gathered again (``inventory.runs.compute_run``, nothing stored)
at approval, at submission and on a check: their SHA-256 against the report's says whether they changed since.
Rules of who may do what: ``signoff/rules.py``.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import undefer

from ghgwatch import audit
from ghgwatch.inventory import runs
from ghgwatch.inventory.models import InventoryRun
from ghgwatch.inventory.schemas import RunIn
from ghgwatch.kit.problems import Problem, conflict, not_found
from ghgwatch.kit.timeutil import utcnow
from ghgwatch.registry.models import Organization
from ghgwatch.reports.annual import SignOff
from ghgwatch.reports.signoff import rules
from ghgwatch.reports.signoff.differences import differences
from ghgwatch.reports.signoff.documents import render_documents, seal
from ghgwatch.reports.signoff.models import InventoryReport, ReportFile
from ghgwatch.reports.signoff.rules import State
from ghgwatch.reports.signoff.schemas import ReportIn, ReportPatch
from ghgwatch.security.principal import Principal
from ghgwatch.store.dialect import supports_for_update

ENTITY = "inventory_report"


@dataclass
class Checked:
    report: InventoryReport
    changed: bool
    current_inputs_sha256: str
    restatement: InventoryReport | None


def _view(r: InventoryReport) -> dict[str, Any]:
    """What an audit entry keeps of a report."""
    return {"state": r.state, "version": r.version, "previous_id": r.previous_id, "run_id": r.run_id,
            "inputs_sha256": r.inputs_sha256, "total_co2e_t": r.total_co2e_t, "title": r.title,
            "comment": r.comment}


async def _audit(session: AsyncSession, actor: Principal, action: str, r: InventoryReport,
                 before: dict[str, Any] | None, **extra: Any) -> None:
    await audit.record(session, actor=actor.username, action=action, entity=ENTITY, entity_id=r.id,
                       organization_id=r.organization_id, before=before, after={**_view(r), **extra})


async def get(session: AsyncSession, actor: Principal, key: int, *, for_update: bool = False) -> InventoryReport:
    """The report, or 404 when it does not exist or belongs to another organisation (its existence is not
    revealed)."""
    stmt = select(InventoryReport).where(InventoryReport.id == key)
    if for_update and supports_for_update(session.get_bind().dialect.name):
        stmt = stmt.with_for_update()
    report = (await session.execute(stmt)).scalar_one_or_none()
    if report is None or (actor.org_filter() is not None and report.organization_id != actor.organization_id):
        raise not_found("report", key)
    return report


async def successor(session: AsyncSession, report_id: int) -> InventoryReport | None:
    stmt = select(InventoryReport).where(InventoryReport.previous_id == report_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def successors(session: AsyncSession, ids: list[int]) -> dict[int, int]:
    """previous id → id of its restatement, for the reports ``ids``."""
    if not ids:
        return {}
    rows = await session.execute(select(InventoryReport.previous_id, InventoryReport.id)
                                 .where(InventoryReport.previous_id.in_(ids)))
    return {int(p): int(i) for p, i in rows.all() if p is not None}


async def files(session: AsyncSession, report_id: int, *, content: bool = False) -> list[ReportFile]:
    stmt = select(ReportFile).where(ReportFile.report_id == report_id).order_by(ReportFile.name)
    if content:
        stmt = stmt.options(undefer(ReportFile.content))
    return list((await session.execute(stmt)).scalars())


async def list_reports(session: AsyncSession, actor: Principal, organization_id: int | None = None,
                       year: int | None = None, state: str | None = None, limit: int = 100,
                       offset: int = 0) -> list[InventoryReport]:
    stmt = select(InventoryReport)
    scope = actor.org_filter()
    if scope is not None:
        stmt = stmt.where(InventoryReport.organization_id == scope)
    for column, value in ((InventoryReport.organization_id, organization_id), (InventoryReport.year, year),
                          (InventoryReport.state, state)):
        if value is not None:
            stmt = stmt.where(column == value)
    stmt = stmt.order_by(InventoryReport.id.desc()).limit(limit).offset(offset)
    return list((await session.execute(stmt)).scalars())


def _run_in(report: InventoryReport) -> RunIn:
    return RunIn.model_validate({**report.parameters, "organization_id": report.organization_id})


async def create(session: AsyncSession, actor: Principal, body: ReportIn) -> InventoryReport:
    """A draft from a new inventory run of the organisation's current inputs (a closed period only: the inputs
    of a period still running change every day, so the report could never be locked)."""
    actor.require_role(rules.PREPARERS)
    actor.require_org(body.organization_id)
    _, end = runs.period_of(body)
    if end > datetime.now(UTC):
        raise Problem(422, "Validation failed", "the period ends on {end}, in the future: a report is prepared for "
                      "a closed period", type_="validation", values={"end": end.date().isoformat()},
                      errors=[{"loc": ["body", "year" if body.year is not None else "period_end"],
                               "msg": "the period has not ended"}])
    parameters = body.model_dump(mode="json", exclude={"organization_id", "title", "comment"}, exclude_none=True)
    run = await runs.create_run(session, actor, body)
    report = InventoryReport(
        organization_id=body.organization_id, year=run.year, period_start=run.period_start,
        period_end=run.period_end, title=body.title or f"GHG report {run.year}", comment=body.comment,
        version=1, state=State.DRAFT.value, parameters=parameters, run_id=run.id,
        inputs_sha256=run.inputs_sha256, total_co2e_t=run.total_co2e_t, prepared_by=actor.username)
    session.add(report)
    await session.flush()
    await _audit(session, actor, "create", report, None)
    return report


async def update(session: AsyncSession, actor: Principal, key: int, body: ReportPatch) -> InventoryReport:
    """Title and comment of a draft or reviewed report; a reviewed one goes back to draft (its review was of
    another text)."""
    report = await get(session, actor, key, for_update=True)
    actor.require_role(rules.PREPARERS)
    rules.require_state(report.id, report.state, {State.DRAFT, State.REVIEWED}, "edited")
    before = _view(report)
    for field, value in body.model_dump(exclude_unset=True).items():
        if field == "title" and value is None:
            continue
        setattr(report, field, value)
    if _view(report) != before:
        _unreview(report)
        await _audit(session, actor, "update", report, before)
    return report


def _unreview(report: InventoryReport) -> None:
    report.state = State.DRAFT.value
    report.reviewed_by = report.reviewed_at = None


async def refresh(session: AsyncSession, actor: Principal, key: int) -> InventoryReport:
    """Gather the inputs again into a new run (a draft or reviewed report; it goes back to draft)."""
    report = await get(session, actor, key, for_update=True)
    actor.require_role(rules.PREPARERS)
    rules.require_state(report.id, report.state, {State.DRAFT, State.REVIEWED}, "refreshed")
    before = _view(report)
    run = await runs.create_run(session, actor, _run_in(report))
    report.run_id, report.inputs_sha256, report.total_co2e_t = run.id, run.inputs_sha256, run.total_co2e_t
    _unreview(report)
    await _audit(session, actor, "refresh", report, before)
    return report


async def review(session: AsyncSession, actor: Principal, key: int, comment: str | None) -> InventoryReport:
    report = await get(session, actor, key, for_update=True)
    rules.check_review(actor, report.prepared_by)
    rules.require_state(report.id, report.state, {State.DRAFT}, "reviewed")
    before = _view(report)
    report.state, report.reviewed_by, report.reviewed_at = State.REVIEWED.value, actor.username, utcnow()
    report.review_comment = comment
    await _audit(session, actor, "review", report, before, reviewed_by=actor.username, review_comment=comment)
    return report


async def reject(session: AsyncSession, actor: Principal, key: int, comment: str) -> InventoryReport:
    """Back to draft with the reason (by a reviewer or an approver: anyone but the preparer)."""
    report = await get(session, actor, key, for_update=True)
    rules.check_review(actor, report.prepared_by)
    rules.require_state(report.id, report.state, {State.DRAFT, State.REVIEWED}, "rejected")
    before = _view(report)
    _unreview(report)
    report.review_comment = comment
    await _audit(session, actor, "reject", report, before, rejected_by=actor.username, review_comment=comment)
    return report


async def _fresh(session: AsyncSession, actor: Principal, report: InventoryReport) -> InventoryRun:
    return await runs.compute_run(session, actor, _run_in(report))


async def approve(session: AsyncSession, actor: Principal, key: int, comment: str | None) -> InventoryReport:
    """Lock the report: its inputs hash (checked against the inputs now), its documents (rendered now and kept
    byte for byte with their checksums) and the seal over both."""
    report = await get(session, actor, key, for_update=True)
    rules.check_approval(actor, report.prepared_by, report.reviewed_by)
    rules.require_state(report.id, report.state, {State.REVIEWED}, "approved")
    fresh = await _fresh(session, actor, report)
    if fresh.inputs_sha256 != report.inputs_sha256:
        raise conflict("the inputs of report {report_id} changed since it was prepared (inputs SHA-256 {then}… then, "
                       "{now}… now): refresh it (POST .../refresh) and have it reviewed again before approval",
                       report_id=report.id, then=report.inputs_sha256[:12], now=fresh.inputs_sha256[:12])
    run = await session.get(InventoryRun, report.run_id)
    org = await session.get(Organization, report.organization_id)
    assert run is not None and org is not None
    now = utcnow()
    assert report.reviewed_by is not None and report.reviewed_at is not None
    signoff: list[SignOff] = [("prepared_by", report.prepared_by, report.created_at.date()),
                              ("reviewed_by", report.reviewed_by, report.reviewed_at.date()),
                              ("approved_by", actor.username, now.date())]
    meta: dict[str, str | int] = {"report_version": report.version}
    if report.previous_id is not None:
        meta["restates"] = f"{report.version - 1} (#{report.previous_id})"
    details = {"name": org.name, "inn": org.inn, "description": org.description}
    rendered = await asyncio.to_thread(render_documents, run.result, details, signoff, meta, now.date(),
                                         run.comparison)
    before = _view(report)
    for doc in rendered:
        session.add(ReportFile(report_id=report.id, organization_id=report.organization_id, name=doc.name,
                               media_type=doc.media_type, sha256=doc.sha256, size=len(doc.content),
                               content=doc.content))
    checksums = {doc.name: doc.sha256 for doc in rendered}
    report.state, report.approved_by, report.approved_at = State.APPROVED.value, actor.username, now
    report.seal_sha256 = seal(_identity(report), checksums)
    await session.flush()
    await _audit(session, actor, "approve", report, before, approved_by=actor.username, comment=comment,
                 documents=checksums, seal_sha256=report.seal_sha256)
    return report


def _identity(report: InventoryReport) -> dict[str, Any]:
    assert report.approved_at is not None
    return {"report_id": report.id, "organization_id": report.organization_id, "version": report.version,
            "run_id": report.run_id, "inputs_sha256": report.inputs_sha256, "approved_by": report.approved_by,
            "approved_at": report.approved_at.isoformat()}


async def verify_files(session: AsyncSession, report: InventoryReport) -> list[str]:
    """Names of the stored documents whose bytes no longer match their checksum or the seal."""
    stored = await files(session, report.id, content=True)
    bad = [f.name for f in stored if hashlib.sha256(f.content).hexdigest() != f.sha256]
    if report.seal_sha256 is not None and seal(_identity(report), {f.name: f.sha256 for f in stored}) \
            != report.seal_sha256:
        bad.append("(seal)")
    return bad


async def _restate(session: AsyncSession, actor: Principal, report: InventoryReport,
                   fresh: InventoryRun) -> InventoryReport:
    """Version n + 1 from the inputs now, linked to ``report``, with the differences; a draft to sign off."""
    old_run = await session.get(InventoryRun, report.run_id)
    assert old_run is not None
    run = await runs.store_run(session, actor, fresh)
    new = InventoryReport(
        organization_id=report.organization_id, year=report.year, period_start=report.period_start,
        period_end=report.period_end, title=report.title, version=report.version + 1, previous_id=report.id,
        state=State.DRAFT.value, parameters=report.parameters, run_id=run.id, inputs_sha256=run.inputs_sha256,
        total_co2e_t=run.total_co2e_t, prepared_by=actor.username,
        differences={"previous_id": report.id, "previous_version": report.version,
                     "previous_inputs_sha256": report.inputs_sha256, "inputs_sha256": run.inputs_sha256,
                     **differences(old_run.result, run.result)})
    session.add(new)
    await session.flush()
    await _audit(session, actor, "restate", new, None, previous_inputs_sha256=report.inputs_sha256,
                 previous_total_co2e_t=report.total_co2e_t)
    return new


async def check(session: AsyncSession, actor: Principal, key: int) -> Checked:
    """Gather the inputs again; for a locked report whose inputs changed, make (or find) its restatement."""
    report = await get(session, actor, key, for_update=True)
    actor.require_role(rules.PREPARERS)
    fresh = await _fresh(session, actor, report)
    changed = fresh.inputs_sha256 != report.inputs_sha256
    restatement = None
    if changed and report.state in rules.LOCKED:
        restatement = await successor(session, report.id) or await _restate(session, actor, report, fresh)
    await _audit(session, actor, "check", report, None, changed=changed, current_inputs_sha256=fresh.inputs_sha256,
                 restatement_id=None if restatement is None else restatement.id)
    return Checked(report, changed, fresh.inputs_sha256, restatement)


async def submit(session: AsyncSession, actor: Principal, key: int, comment: str | None) -> Checked:
    """Submit an approved report whose documents and inputs are unchanged. Changed inputs make a restatement
    instead (returned in ``restatement``; the report stays approved): the caller commits it and answers 409."""
    report = await get(session, actor, key, for_update=True)
    actor.require_role(rules.SUBMITTERS)
    rules.require_state(report.id, report.state, {State.APPROVED}, "submitted")
    if (later := await successor(session, report.id)) is not None:
        raise conflict("report {report_id} was restated by version {version} (report {later_id}): submit that one "
                       "once it is approved", report_id=report.id, version=later.version, later_id=later.id)
    if bad := await verify_files(session, report):
        raise conflict("the stored documents of report {report_id} do not match their approved checksums "
                       "({names}): not submitted", report_id=report.id, names=", ".join(bad))
    fresh = await _fresh(session, actor, report)
    if fresh.inputs_sha256 != report.inputs_sha256:
        restatement = await _restate(session, actor, report, fresh)
        await _audit(session, actor, "submit_refused", report, None, current_inputs_sha256=fresh.inputs_sha256,
                     restatement_id=restatement.id)
        return Checked(report, True, fresh.inputs_sha256, restatement)
    before = _view(report)
    report.state, report.submitted_by, report.submitted_at = State.SUBMITTED.value, actor.username, utcnow()
    await _audit(session, actor, "submit", report, before, submitted_by=actor.username, comment=comment,
                 seal_sha256=report.seal_sha256)
    return Checked(report, False, fresh.inputs_sha256, None)
