"""Promoting a model version (API and CLI): one promoted version per name, the previous one retired, audited."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from ghgwatch.analytics import repository
from ghgwatch.analytics.models import ModelStatus, RegisteredModel
from ghgwatch.audit import service as audit


async def promote(session: AsyncSession, model: RegisteredModel, actor: str) -> list[RegisteredModel]:
    """Promote ``model`` in the caller's transaction; returns the versions retired (none if already promoted)."""
    if model.status == ModelStatus.PROMOTED.value:
        return []
    before = model.status
    retired = await repository.promote(session, model)
    for old in retired:
        await audit.record(session, actor=actor, action="retire", entity="model", entity_id=old.id,
                           organization_id=old.organization_id, before={"status": ModelStatus.PROMOTED.value},
                           after={"status": old.status, "name": old.name, "version": old.version})
    await audit.record(session, actor=actor, action="promote", entity="model", entity_id=model.id,
                       organization_id=model.organization_id, before={"status": before},
                       after={"status": model.status, "name": model.name, "version": model.version,
                              "retired": [m.id for m in retired]})
    return retired
