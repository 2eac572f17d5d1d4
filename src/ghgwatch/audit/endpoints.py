"""``GET /api/v1/audit``: the audit log for auditors and administrators, scoped to their organisation."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select

from ghgwatch.audit.models import AuditEntry
from ghgwatch.audit.scoped import verify_for
from ghgwatch.kit.timeutil import ensure_utc
from ghgwatch.security.models import Role
from ghgwatch.web.deps import CurrentPrincipal, Session

router = APIRouter(tags=["audit"])
AUDIT_ROLES = frozenset({Role.ADMIN, Role.AUDITOR})


class AuditEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int | None
    """Sequence number in the platform-wide chain: platform administrators only (for an organisation's user it
    would tell how many entries the platform has)."""
    ts: datetime
    actor: str
    action: str
    entity: str
    entity_id: str | None
    organization_id: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    hash: str


class AuditPage(BaseModel):
    items: list[AuditEntryOut]
    total: int
    limit: int
    offset: int


class AuditVerification(BaseModel):
    intact: bool
    """Whether the whole platform-wide chain checks out (the chain links every organisation's entries)."""
    scope: Literal["platform", "organization"]
    """What ``checked`` counts: every entry (platform administrators) or the caller's organisation's only."""
    checked: int
    """Entries verified before the first problem (all of them when intact): an organisation's user is told only
    how many of its own organisation's entries were verified, never the platform's count."""
    problem_seq: int | None = None
    """Sequence number of the first bad entry: platform administrators only."""
    problem: str | None = None
    anchored: bool
    """Whether MACs under the audit key (held outside the database) were checked too."""


Text = Annotated[str | None, Query(max_length=120)]


@router.get("/audit", response_model=AuditPage, summary="Audit log entries, newest first (auditors, admins)",
            description="Entries of your organisation (a platform administrator: all). Filters: `from`/`to` "
                        "(timestamps; without a zone UTC), `actor`, `entity`, `entity_id`, `action`.")
async def list_audit(
    session: Session,
    actor: CurrentPrincipal,
    from_: Annotated[datetime | None, Query(alias="from")] = None,
    to: datetime | None = None,
    actor_name: Annotated[str | None, Query(alias="actor", max_length=120)] = None,
    entity: Text = None,
    entity_id: Text = None,
    action: Text = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> AuditPage:
    actor.require_role(AUDIT_ROLES)
    stmt = select(AuditEntry)
    if (scope := actor.org_filter()) is not None:
        stmt = stmt.where(AuditEntry.organization_id == scope)
    if from_ is not None:
        stmt = stmt.where(AuditEntry.ts >= ensure_utc(from_))
    if to is not None:
        stmt = stmt.where(AuditEntry.ts < ensure_utc(to))
    for column, value in ((AuditEntry.actor, actor_name), (AuditEntry.entity, entity),
                          (AuditEntry.entity_id, entity_id), (AuditEntry.action, action)):
        if value is not None:
            stmt = stmt.where(column == value)
    total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
    rows = (await session.execute(stmt.order_by(AuditEntry.id.desc()).limit(limit).offset(offset))).scalars().all()
    items = [AuditEntryOut.model_validate(r) for r in rows]
    if scope is not None:
        items = [i.model_copy(update={"id": None}) for i in items]
    return AuditPage(items=items, total=total, limit=limit, offset=offset)


@router.get("/audit/verify", response_model=AuditVerification,
            summary="Verify the whole audit chain and its anchoring (auditors, admins)",
            description="Walks the platform-wide chain. An organisation's auditor or administrator is told whether it "
                        "is intact and how many of its own organisation's entries were verified (`scope` "
                        "`organization`), never a sequence number: not the platform's entry count, nor where the "
                        "chain broke.")
async def verify_audit(session: Session, actor: CurrentPrincipal) -> AuditVerification:
    from ghgwatch.audit import anchor

    actor.require_role(AUDIT_ROLES)
    result = await verify_for(session, actor.org_filter())
    return AuditVerification(intact=result.intact, scope=result.scope, checked=result.checked,
                             problem_seq=result.problem_seq, problem=result.problem,
                             anchored=anchor.current_key() is not None)
