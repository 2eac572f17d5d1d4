"""The ``analytics`` role: a job runner (one job at a time) and a schedule that queues the routine jobs.

Jobs are rows of ``analytics_jobs``; any process may queue one (the API, the CLI, the schedule) and any
analytics process takes it with a conditional update. A job queued in the same process wakes the runner
at once (after its transaction commits); others are found by polling every ``poll_interval_s``.

Every ``schedule_interval_s`` (first run one interval after start) the schedule queues: a forecast and a
drift check for each promoted forecast model, a gap report of all sensors, and, every
``refit_interval_s``, a refit of each promoted model as a new candidate version. For each active forecast
mapping: its training (``mapping_fit``) while it has no promoted model and on refit, and with a promoted model its
forecast (``mapping_forecast``, which judges the early-warning rules) and drift check.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from ghgwatch.analytics import repository
from ghgwatch.analytics.flows import JobRun, run_job
from ghgwatch.analytics.models import JobKind, JobState
from ghgwatch.kit.aio import cancel_and_wait
from ghgwatch.kit.timeutil import utcnow
from ghgwatch.observability import metrics
from ghgwatch.observability.sensors import SensorSeries
from ghgwatch.settings import Settings
from ghgwatch.store import Database
from ghgwatch.web.context import AppContext

log = logging.getLogger(__name__)
SCHEDULE_ACTOR = "schedule"
EXTRA_KEY = "analytics"


class AnalyticsService:
    def __init__(self, db: Database, settings: Settings, gauges: SensorSeries | None = None,
                 extras: dict[str, Any] | None = None) -> None:
        self.db = db
        self.extras = extras
        self.settings = settings
        self.gauges = gauges
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._last_refit = time.monotonic()

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._runner(), name="analytics-runner"),
                       asyncio.create_task(self._scheduler(), name="analytics-schedule")]

    async def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        await cancel_and_wait(self._tasks)
        self._tasks = []

    def wake(self) -> None:
        self._wake.set()

    def wake_after_commit(self, session: AsyncSession) -> None:
        """Wake the runner once ``session``'s transaction has committed (the job is visible then)."""
        event.listen(session.sync_session, "after_commit", lambda _s: self.wake(), once=True)

    # -- jobs ------------------------------------------------------------------------------------
    async def run_next(self, job_id: int | None = None) -> int | None:
        """Claim and run the oldest queued job (or the one given); its id, or ``None`` when there was none."""
        if job_id is None:
            async with self.db.reads() as s:
                if not await repository.any_queued(s):
                    return None
        async with self.db.transaction() as s:
            job = await (repository.claim_next(s) if job_id is None else repository.claim(s, job_id))
            if job is None:
                return None
            job_id, kind, params, org = job.id, job.kind, dict(job.parameters), job.organization_id
            actor = job.created_by
        run = JobRun(self.db, self.settings.analytics, job_id, actor, self.gauges, self.extras)
        started = time.perf_counter()
        try:
            result = await run_job(run, kind, params, org)
        except asyncio.CancelledError:
            await asyncio.shield(self._finish(job_id, JobState.FAILED, "interrupted: the analytics role stopped"))
            raise
        except (ValueError, KeyError, TypeError, ArithmeticError) as exc:
            # Bad parameters or unusable data: the job fails with the reason; the runner goes on.
            await self._finish(job_id, JobState.FAILED, f"{type(exc).__name__}: {exc}")
        except Exception as exc:  # a bug must fail its job, not leave it "running" for ever
            log.exception("analytics job %s (%s) failed", job_id, kind)
            await self._finish(job_id, JobState.FAILED, f"internal error: {type(exc).__name__}: {exc}")
        else:
            await self._finish(job_id, JobState.DONE, "done", result)
        finally:
            metrics.observe_analytics_job(kind, time.perf_counter() - started)
        return job_id

    async def _finish(self, job_id: int, state: JobState, message: str, result: dict[str, Any] | None = None) -> None:
        fields: dict[str, Any] = {"state": state.value, "message": message[:500], "finished_at": utcnow()}
        if state is JobState.DONE:
            fields |= {"progress": 1.0, "result": result}
        async with self.db.transaction() as s:
            await repository.set_job(s, job_id, **fields)

    async def run_pending(self) -> int:
        """Run queued jobs until none is left; the number run."""
        n = 0
        while await self.run_next() is not None:
            n += 1
        return n

    async def _runner(self) -> None:
        poll = self.settings.analytics.poll_interval_s
        while not self._stop.is_set():
            self._wake.clear()
            try:
                ran = await self.run_next()
            except Exception:  # a database outage must not end the role; log it and poll again
                log.exception("analytics runner failed to take or record a job")
                ran = None
            if ran is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=poll)

    # -- schedule --------------------------------------------------------------------------------
    async def schedule_once(self, *, refit: bool | None = None) -> list[int]:
        """Queue the routine jobs (see the module docstring); skipped while earlier ones are still queued."""
        if refit is None:
            refit = time.monotonic() - self._last_refit >= self.settings.analytics.refit_interval_s
        ids: list[int] = []
        async with self.db.transaction() as s:
            if await repository.has_queued(s, SCHEDULE_ACTOR):
                return ids
            for model in await repository.promoted_forecast_models(s):
                kinds = [JobKind.FORECAST, JobKind.DRIFT] + ([JobKind.REFIT] if refit else [])
                for kind in kinds:
                    job = await repository.enqueue(s, kind.value, {"model_id": model.id},
                                                   created_by=SCHEDULE_ACTOR, organization_id=model.organization_id)
                    ids.append(job.id)
            ids += await _schedule_mappings(s, refit)
            job = await repository.enqueue(s, JobKind.GAP_REPORT.value, {}, created_by=SCHEDULE_ACTOR)
            ids.append(job.id)
            self.wake_after_commit(s)
        if refit:
            self._last_refit = time.monotonic()
        return ids

    async def _scheduler(self) -> None:
        interval = self.settings.analytics.schedule_interval_s
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=interval)
            if self._stop.is_set():
                return
            try:
                await self.schedule_once()
            except Exception:  # keep the schedule alive across database outages
                log.exception("analytics schedule failed to queue jobs")


async def _schedule_mappings(s: AsyncSession, refit: bool) -> list[int]:
    """Active forecast mappings: train one that has no promoted model (none yet, or every version worse than the
    naive forecast: its window grows with the stored data) and each on refit; forecast with and check the drift of
    a promoted model."""
    from ghgwatch.analytics import mapping

    ids: list[int] = []
    for row in await mapping.listing(s, organization_id=None, active=True):
        promoted = await mapping.promoted_model(s, row)
        jobs: list[tuple[JobKind, dict[str, Any]]] = []
        if refit or promoted is None:
            jobs.append((JobKind.MAPPING_FIT, {"mapping_id": row.id}))
        if promoted is not None:
            jobs += [(JobKind.MAPPING_FORECAST, {"mapping_id": row.id}), (JobKind.DRIFT, {"model_id": promoted.id})]
        for kind, params in jobs:
            job = await repository.enqueue(s, kind.value, params, created_by=SCHEDULE_ACTOR,
                                           organization_id=row.organization_id)
            ids.append(job.id)
    return ids


async def start_analytics(ctx: AppContext) -> None:
    gauges = ctx.extras.get("sensor_series")
    if gauges is None:
        gauges = ctx.extras["sensor_series"] = SensorSeries(ctx.settings.observability.max_sensor_series)
    service = AnalyticsService(ctx.db, ctx.settings, gauges, ctx.extras)
    ctx.extras[EXTRA_KEY] = service
    service.start()


async def stop_analytics(ctx: AppContext) -> None:
    service = ctx.extras.pop(EXTRA_KEY, None)
    if service is not None:
        await service.stop()
