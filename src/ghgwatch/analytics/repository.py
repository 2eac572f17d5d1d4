"""Queries of the analytics tables. Nothing here commits: callers own the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ghgwatch.analytics.models import (
    AnalyticsJob,
    DriftReport,
    Forecast,
    JobState,
    ModelKind,
    ModelStatus,
    RegisteredModel,
)
from ghgwatch.kit.timeutil import utcnow


async def next_version(session: AsyncSession, name: str) -> int:
    found = (await session.execute(select(func.max(RegisteredModel.version)).where(RegisteredModel.name == name)))
    return int(found.scalar_one() or 0) + 1


async def name_taken_elsewhere(session: AsyncSession, name: str, organization_id: int | None) -> bool:
    """Whether another organisation (or none, for an organisation's name) already has models of ``name``.

    A model name belongs to the organisation that registered it first: versions count up per name, so a
    version of another organisation under the same name would mix their histories (and promotion, which
    retires the promoted version of the name, must never reach across organisations).
    """
    owner = RegisteredModel.organization_id
    other = owner.is_not(None) if organization_id is None else or_(owner.is_(None), owner != organization_id)
    stmt = select(RegisteredModel.id).where(RegisteredModel.name == name, other).limit(1)
    return (await session.execute(stmt)).first() is not None


async def add_model(session: AsyncSession, **fields: Any) -> RegisteredModel:
    """Register a new version of ``fields["name"]`` as a candidate, audited under ``trained_by`` (the job's
    actor). The audit entry names the model and its training data, not the artifact."""
    from ghgwatch import audit

    model = RegisteredModel(version=await next_version(session, fields["name"]), **fields)
    session.add(model)
    await session.flush()
    await audit.record(session, actor=model.trained_by, action="register", entity="model", entity_id=model.id,
                       organization_id=model.organization_id, after={
                           "name": model.name, "version": model.version, "kind": model.kind,
                           "method": model.method, "resolution": model.resolution, "sensor_id": model.sensor_id,
                           "input_sensor_ids": model.input_sensor_ids, "data_start": model.data_start,
                           "data_end": model.data_end, "status": model.status,
                           "job_id": (model.parameters or {}).get("job_id")})
    return model


async def get_model(session: AsyncSession, model_id: int, *, with_artifact: bool = False) -> RegisteredModel | None:
    stmt = select(RegisteredModel).where(RegisteredModel.id == model_id)
    if with_artifact:
        from sqlalchemy.orm import undefer

        stmt = stmt.options(undefer(RegisteredModel.artifact))
    return (await session.execute(stmt)).scalar_one_or_none()


async def list_models(
    session: AsyncSession,
    *,
    organization_id: int | None = None,
    sensor_id: int | None = None,
    name: str | None = None,
    status: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> Sequence[RegisteredModel]:
    stmt = select(RegisteredModel).order_by(RegisteredModel.name, RegisteredModel.version.desc())
    if organization_id is not None:
        stmt = stmt.where(RegisteredModel.organization_id == organization_id)
    if sensor_id is not None:
        stmt = stmt.where(RegisteredModel.sensor_id == sensor_id)
    if name is not None:
        stmt = stmt.where(RegisteredModel.name == name)
    if status is not None:
        stmt = stmt.where(RegisteredModel.status == status)
    return (await session.execute(stmt.limit(limit).offset(offset))).scalars().all()


async def promoted_forecast_models(session: AsyncSession) -> Sequence[RegisteredModel]:
    stmt = select(RegisteredModel).where(
        RegisteredModel.status == ModelStatus.PROMOTED.value, RegisteredModel.kind == ModelKind.FORECAST.value
    )
    return (await session.execute(stmt.order_by(RegisteredModel.id))).scalars().all()


async def promoted_for_sensor(session: AsyncSession, sensor_id: int) -> RegisteredModel | None:
    stmt = select(RegisteredModel).where(
        RegisteredModel.sensor_id == sensor_id,
        RegisteredModel.status == ModelStatus.PROMOTED.value,
        RegisteredModel.kind == ModelKind.FORECAST.value,
    )
    return (await session.execute(stmt.order_by(RegisteredModel.id.desc()).limit(1))).scalar_one_or_none()


async def promote(session: AsyncSession, model: RegisteredModel) -> list[RegisteredModel]:
    """Promote ``model`` and retire the promoted versions of the same name; returns those retired."""
    others = (
        await session.execute(
            select(RegisteredModel)
            .where(
                RegisteredModel.name == model.name,
                # only this organisation's versions (hole 1 of issue 12: a same-named model of another
                # organisation must never be retired by this promotion)
                RegisteredModel.organization_id.is_(None) if model.organization_id is None
                else RegisteredModel.organization_id == model.organization_id,
                RegisteredModel.status == ModelStatus.PROMOTED.value,
                RegisteredModel.id != model.id,
            )
            .with_for_update()
        )
    ).scalars().all()
    for other in others:
        other.status = ModelStatus.RETIRED.value
    model.status = ModelStatus.PROMOTED.value
    await session.flush()
    return list(others)


async def latest_forecast(session: AsyncSession, sensor_id: int) -> Forecast | None:
    stmt = select(Forecast).where(Forecast.sensor_id == sensor_id)
    stmt = stmt.order_by(Forecast.issued_at.desc(), Forecast.id.desc())
    return (await session.execute(stmt.limit(1))).scalar_one_or_none()


async def list_forecasts(
    session: AsyncSession,
    *,
    organization_id: int | None = None,
    sensor_id: int | None = None,
    model_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[Sequence[Forecast], int]:
    """Stored forecasts, newest issued first, and how many match (``organization_id``: the caller's scope)."""
    conditions = []
    if organization_id is not None:
        conditions.append(Forecast.organization_id == organization_id)
    if sensor_id is not None:
        conditions.append(Forecast.sensor_id == sensor_id)
    if model_id is not None:
        conditions.append(Forecast.model_id == model_id)
    if since is not None:
        conditions.append(Forecast.issued_at >= since)
    if until is not None:
        conditions.append(Forecast.issued_at < until)
    total = (await session.execute(select(func.count()).select_from(Forecast).where(*conditions))).scalar_one()
    stmt = select(Forecast).where(*conditions).order_by(Forecast.issued_at.desc(), Forecast.id.desc())
    rows = (await session.execute(stmt.limit(limit).offset(offset))).scalars().all()
    return rows, int(total)


async def forecasts_since(session: AsyncSession, model_id: int, since: datetime) -> Sequence[Forecast]:
    stmt = select(Forecast).where(Forecast.model_id == model_id, Forecast.issued_at >= since)
    return (await session.execute(stmt.order_by(Forecast.issued_at))).scalars().all()


async def drift_reports(session: AsyncSession, model_id: int, limit: int = 100) -> Sequence[DriftReport]:
    stmt = select(DriftReport).where(DriftReport.model_id == model_id)
    stmt = stmt.order_by(DriftReport.at.desc(), DriftReport.id.desc()).limit(limit)
    return (await session.execute(stmt)).scalars().all()


async def enqueue(
    session: AsyncSession,
    kind: str,
    parameters: dict[str, Any],
    *,
    created_by: str,
    organization_id: int | None = None,
) -> AnalyticsJob:
    job = AnalyticsJob(kind=kind, parameters=parameters, created_by=created_by, organization_id=organization_id,
                       state=JobState.QUEUED.value, progress=0.0, message="")
    session.add(job)
    await session.flush()
    return job


async def get_job(session: AsyncSession, job_id: int) -> AnalyticsJob | None:
    return (await session.execute(select(AnalyticsJob).where(AnalyticsJob.id == job_id))).scalar_one_or_none()


async def list_jobs(
    session: AsyncSession, *, organization_id: int | None = None, state: str | None = None, limit: int = 100
) -> Sequence[AnalyticsJob]:
    stmt = select(AnalyticsJob).order_by(AnalyticsJob.id.desc())
    if organization_id is not None:
        stmt = stmt.where(AnalyticsJob.organization_id == organization_id)
    if state is not None:
        stmt = stmt.where(AnalyticsJob.state == state)
    return (await session.execute(stmt.limit(limit))).scalars().all()


async def has_queued(session: AsyncSession, created_by: str) -> bool:
    stmt = select(AnalyticsJob.id).where(AnalyticsJob.state == JobState.QUEUED.value,
                                         AnalyticsJob.created_by == created_by)
    return (await session.execute(stmt.limit(1))).first() is not None


async def claim(session: AsyncSession, job_id: int) -> AnalyticsJob | None:
    """Mark a queued job running: a conditional update, so two runners never both take it."""
    taken = await session.execute(
        update(AnalyticsJob)
        .where(AnalyticsJob.id == job_id, AnalyticsJob.state == JobState.QUEUED.value)
        .values(state=JobState.RUNNING.value, started_at=utcnow(), progress=0.0)
    )
    if getattr(taken, "rowcount", 0) != 1:
        return None
    return await get_job(session, job_id)


async def any_queued(session: AsyncSession) -> bool:
    """Whether a job waits (a read: the runner asks it every few seconds, and on SQLite only a read-only session
    leaves the one write lock free, ``Database.reads``)."""
    return (await session.execute(
        select(AnalyticsJob.id).where(AnalyticsJob.state == JobState.QUEUED.value).limit(1))).first() is not None


async def claim_next(session: AsyncSession) -> AnalyticsJob | None:
    """Take the oldest queued job (see :func:`claim`)."""
    queued = (
        await session.execute(
            select(AnalyticsJob.id).where(AnalyticsJob.state == JobState.QUEUED.value).order_by(AnalyticsJob.id)
            .limit(5)
        )
    ).scalars().all()
    for job_id in queued:
        if (job := await claim(session, job_id)) is not None:
            return job
    return None


async def set_job(session: AsyncSession, job_id: int, **fields: Any) -> None:
    await session.execute(update(AnalyticsJob).where(AnalyticsJob.id == job_id).values(**fields))
