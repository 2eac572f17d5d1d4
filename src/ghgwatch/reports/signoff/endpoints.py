"""REST endpoints of report sign-off under ``/inventory/reports``.

No ``from __future__ import annotations``: FastAPI reads the request and response models at run time.
"""

import hashlib
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import undefer

from ghgwatch.kit.problems import Problem, conflict
from ghgwatch.reports.signoff import service
from ghgwatch.reports.signoff.models import InventoryReport, ReportFile
from ghgwatch.reports.signoff.rules import State
from ghgwatch.reports.signoff.schemas import (
    ActionIn,
    CheckOut,
    RejectIn,
    ReportDetail,
    ReportFileOut,
    ReportIn,
    ReportOut,
    ReportPatch,
)
from ghgwatch.web.deps import CurrentPrincipal, Session

router = APIRouter(prefix="/inventory/reports", tags=["reports"])


async def _detail(session: AsyncSession, report: InventoryReport) -> ReportDetail:
    later = await service.successor(session, report.id)
    docs = [ReportFileOut.model_validate(f) for f in await service.files(session, report.id)]
    return ReportDetail.model_validate(report).model_copy(
        update={"superseded_by": None if later is None else later.id, "documents": docs})


async def _done(session: AsyncSession, report: InventoryReport) -> ReportDetail:
    out = await _detail(session, report)
    await session.commit()
    return out


@router.get("", response_model=list[ReportOut], summary="List inventory reports",
            description="Filters: organization_id, year, state (draft, reviewed, approved, submitted).")
async def list_reports(session: Session, actor: CurrentPrincipal, organization_id: int | None = None,
                       year: Annotated[int | None, Query(ge=1900, le=2100)] = None, state: State | None = None,
                       limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                       offset: Annotated[int, Query(ge=0)] = 0) -> list[ReportOut]:
    found = await service.list_reports(session, actor, organization_id, year,
                                       None if state is None else state.value, limit, offset)
    later = await service.successors(session, [r.id for r in found])
    return [ReportOut.model_validate(r).model_copy(update={"superseded_by": later.get(r.id)}) for r in found]


@router.post("", response_model=ReportDetail, status_code=201, summary="Prepare a report (draft)",
             description="Runs the inventory of the organisation for a closed period (as POST /inventory/runs) and "
                         "keeps the run request, so that approval, submission and checks gather the inputs again.")
async def create_report(session: Session, actor: CurrentPrincipal, body: ReportIn) -> ReportDetail:
    return await _done(session, await service.create(session, actor, body))


@router.get("/{report_id}", response_model=ReportDetail, summary="Read a report, its documents and differences")
async def get_report(report_id: int, session: Session, actor: CurrentPrincipal) -> ReportDetail:
    return await _detail(session, await service.get(session, actor, report_id))


@router.patch("/{report_id}", response_model=ReportDetail, summary="Edit the title or comment of a draft",
              description="A reviewed report goes back to draft; an approved or submitted one answers 409.")
async def patch_report(report_id: int, session: Session, actor: CurrentPrincipal, body: ReportPatch) -> ReportDetail:
    return await _done(session, await service.update(session, actor, report_id, body))


@router.post("/{report_id}/refresh", response_model=ReportDetail, summary="Gather the inputs again (draft)")
async def refresh_report(report_id: int, session: Session, actor: CurrentPrincipal) -> ReportDetail:
    return await _done(session, await service.refresh(session, actor, report_id))


@router.post("/{report_id}/review", response_model=ReportDetail, summary="Review a draft (not its preparer)")
async def review_report(report_id: int, session: Session, actor: CurrentPrincipal,
                        body: ActionIn | None = None) -> ReportDetail:
    comment = None if body is None else body.comment
    return await _done(session, await service.review(session, actor, report_id, comment))


@router.post("/{report_id}/reject", response_model=ReportDetail, summary="Send a report back to draft")
async def reject_report(report_id: int, session: Session, actor: CurrentPrincipal, body: RejectIn) -> ReportDetail:
    return await _done(session, await service.reject(session, actor, report_id, body.comment))


@router.post("/{report_id}/approve", response_model=ReportDetail, summary="Approve and lock a reviewed report",
             description="By an administrator who neither prepared nor reviewed it. Locks the inputs hash and the "
                         "documents (annual report, ru and en, PDF, XLSX, JSON) with their SHA-256 and a seal.")
async def approve_report(report_id: int, session: Session, actor: CurrentPrincipal,
                         body: ActionIn | None = None) -> ReportDetail:
    comment = None if body is None else body.comment
    return await _done(session, await service.approve(session, actor, report_id, comment))


@router.post("/{report_id}/submit", response_model=ReportDetail, summary="Submit an approved report",
             description="Refused with 409 if a document no longer matches its checksum, or if the inputs changed "
                         "since approval: then a restatement (a new draft version with the differences) is made "
                         "and named in the answer (`restatement_id`).")
async def submit_report(report_id: int, session: Session, actor: CurrentPrincipal,
                        body: ActionIn | None = None) -> ReportDetail:
    outcome = await service.submit(session, actor, report_id, None if body is None else body.comment)
    if outcome.restatement is not None:
        new = await _done(session, outcome.restatement)
        raise Problem(409, "Inputs changed since approval",
                      "the inputs of report {report_id} changed since it was approved: it was not submitted; "
                      "restatement version {version} (report {new_id}) was prepared with the differences, "
                      "to be reviewed and approved", type_="report-restated", restatement_id=new.id,
                      differences=new.differences,
                      values={"report_id": report_id, "version": new.version, "new_id": new.id})
    return await _done(session, outcome.report)


@router.post("/{report_id}/check", response_model=CheckOut, summary="Check whether the report's inputs changed",
             description="For an approved or submitted report whose inputs changed, makes its restatement (or "
                         "returns the existing one).")
async def check_report(report_id: int, session: Session, actor: CurrentPrincipal) -> CheckOut:
    outcome = await service.check(session, actor, report_id)
    restated = None if outcome.restatement is None else await _detail(session, outcome.restatement)
    out = CheckOut(report_id=outcome.report.id, changed=outcome.changed,
                   locked_inputs_sha256=outcome.report.inputs_sha256,
                   current_inputs_sha256=outcome.current_inputs_sha256, restatement=restated)
    await session.commit()
    return out


@router.get("/{report_id}/documents/{name}", summary="A locked document of an approved report",
            response_class=Response)
async def report_document(report_id: int, name: str, session: Session, actor: CurrentPrincipal) -> Response:
    report = await service.get(session, actor, report_id)
    stmt = select(ReportFile).where(ReportFile.report_id == report.id, ReportFile.name == name) \
        .options(undefer(ReportFile.content))
    doc = (await session.execute(stmt)).scalar_one_or_none()
    if doc is None:
        raise Problem(404, "Not found", "document {name} of report {report_id} does not exist", type_="not-found",
                      values={"name": repr(name), "report_id": report_id})
    if hashlib.sha256(doc.content).hexdigest() != doc.sha256:
        raise conflict("document {name} of report {report_id} no longer matches its approved SHA-256",
                       name=repr(name), report_id=report_id)
    return Response(doc.content, media_type=doc.media_type, headers={
        "Content-Disposition": f'attachment; filename="report-{report.id}-v{report.version}-{name}"',
        "X-Document-SHA256": doc.sha256, "X-Report-Seal": report.seal_sha256 or ""})
