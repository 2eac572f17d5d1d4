"""What a caller may learn about the audit chain.

The chain is platform-wide: every organisation's entries are linked in one sequence, and an entry's sequence
number is the number of entries the platform had when it was written. So an organisation's auditor is told
whether the whole chain is intact and how many of its own organisation's entries were verified, never a
sequence number (neither the platform's count nor where another organisation's entry failed). Platform
administrators see everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ghgwatch.audit.models import AuditEntry
from ghgwatch.audit.service import verify

BROKEN_ELSEWHERE = ("the audit chain is broken, not at an entry of your organisation; a platform administrator can "
                    "see where (`ghgwatch audit verify`)")


@dataclass(frozen=True)
class ScopedVerification:
    intact: bool
    scope: Literal["platform", "organization"]
    checked: int
    """Entries verified before the first problem: all of them, or the caller's organisation's only."""
    problem_seq: int | None
    """Sequence number of the first bad entry (platform administrators only)."""
    problem: str | None


async def verify_for(session: AsyncSession, organization_id: int | None) -> ScopedVerification:
    """Verify the whole chain; tell ``organization_id`` (``None``: a platform administrator) what it may know."""
    checked, problem = await verify(session)
    if organization_id is None:
        return ScopedVerification(problem is None, "platform", checked, None if problem is None else problem.seq,
                                  None if problem is None else problem.reason)
    # Entry ids are the chain's sequence numbers: the organisation's own entries up to the last good one.
    own = (await session.execute(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.organization_id == organization_id, AuditEntry.id <= checked))).scalar_one()
    reason = None
    if problem is not None:
        at = await session.get(AuditEntry, problem.seq)
        reason = (f"the audit chain is broken at your organisation's entry of {at.ts.isoformat()}"
                  if at is not None and at.organization_id == organization_id else BROKEN_ELSEWHERE)
    return ScopedVerification(problem is None, "organization", own, None, reason)
