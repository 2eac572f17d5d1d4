"""Audit: the hash-chained audit log, read-only, with the chain's verification result."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select

from ghgwatch.audit.models import AuditEntry
from ghgwatch.audit.scoped import verify_for
from ghgwatch.kit.problems import forbidden
from ghgwatch.security.models import Role
from ghgwatch.ui._render import View, render, signed_in
from ghgwatch.web.deps import Session

router = APIRouter()
AUDIT_ROLES = frozenset({Role.ADMIN, Role.AUDITOR})
PAGE = 50


@router.get("/audit")
async def audit(view: Annotated[View, Depends(signed_in)], session: Session, entity: str = "",
                page: Annotated[int, Query(ge=1)] = 1) -> HTMLResponse:
    """Entries of the viewer's organisation (a platform admin: all); the chain is verified as a whole."""
    assert view.actor is not None
    if view.actor.role not in AUDIT_ROLES:
        raise forbidden("only administrators and auditors read the audit log")
    stmt = select(AuditEntry)
    if (scope := view.actor.org_filter()) is not None:
        stmt = stmt.where(AuditEntry.organization_id == scope)
    if entity:
        stmt = stmt.where(AuditEntry.entity == entity)
    total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
    rows = (await session.execute(stmt.order_by(AuditEntry.id.desc()).limit(PAGE).offset((page - 1) * PAGE))
            ).scalars().all()
    # An organisation's user sees no sequence numbers (they count the platform's entries): audit/scoped.py.
    verification = await verify_for(session, scope)
    return render(view, "audit.html", view.t.gettext("Audit"), rows=rows, total=total, page=page,
                  pages=-(-total // PAGE), entity=entity, verification=verification, show_seq=scope is None)
