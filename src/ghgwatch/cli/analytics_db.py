"""``ghgwatch analytics jobs|models|promote``: the analytics role's jobs and model registry in the database.

``analytics jobs run`` queues a job and, unless ``--queue-only``, runs it in this process with a progress
bar (the bar follows the job row, so it shows what the API shows). Promotions are audited as ``cli:<user>``.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from ghgwatch.cli._runtime import DataDir, _, console, database, fail, run, settings_for, sig

analytics_app = typer.Typer(help="Analytics jobs and the model registry (in the database).", no_args_is_help=True)
jobs_app = typer.Typer(help="Analytics jobs: list, show, run.", no_args_is_help=True)


def _actor() -> str:
    import getpass

    return f"cli:{getpass.getuser()}"


@jobs_app.command("list")
def jobs_list(
    state: Annotated[str | None, typer.Option(help="queued, running, done or failed")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table")] = False,
    data_dir: Path | None = DataDir,
) -> None:
    """The latest jobs, newest first."""
    from ghgwatch.analytics import repository
    from ghgwatch.analytics.schemas import JobOut

    async def go() -> list[Any]:
        async with database(settings_for(data_dir)) as db, db.sessions() as s:
            return list(await repository.list_jobs(s, state=state, limit=limit))

    found = run(go())
    if as_json:
        for job in found:
            typer.echo(JobOut.model_validate(job).model_dump_json())
        return
    table = Table(_("id"), _("kind"), _("state"), _("progress"), _("message"), _("created by"), _("created"))
    for job in found:
        table.add_row(str(job.id), job.kind, job.state, f"{job.progress:.0%}", job.message[:60], job.created_by,
                      f"{job.created_at:%Y-%m-%d %H:%M:%S}")
    console.print(table)


@jobs_app.command("show")
def jobs_show(job_id: int, data_dir: Path | None = DataDir) -> None:
    """One job as JSON (parameters, state, progress, result)."""
    from ghgwatch.analytics import repository
    from ghgwatch.analytics.schemas import JobOut

    async def go() -> Any:
        async with database(settings_for(data_dir)) as db, db.sessions() as s:
            return await repository.get_job(s, job_id)

    job = run(go())
    if job is None:
        fail(_("job {id} does not exist", id=job_id))
    typer.echo(JobOut.model_validate(job).model_dump_json(indent=2))


@jobs_app.command("run")
def jobs_run(
    kind: Annotated[str, typer.Argument(help="forecast, refit, backtest, gap_report or drift")],
    params: Annotated[list[str] | None, typer.Argument(help="Parameters as name=value (value JSON or text), "
                                                           "e.g. sensor_id=3 horizon=60 method=auto")] = None,
    queue_only: Annotated[bool, typer.Option("--queue-only", help="Queue for the analytics role; do not run")] = False,
    data_dir: Path | None = DataDir,
) -> None:
    """Queue a job and run it here with a progress bar; prints the finished job as JSON."""
    from ghgwatch.analytics import repository
    from ghgwatch.analytics.models import JobKind
    from ghgwatch.analytics.schemas import JobOut, check_parameters
    from ghgwatch.analytics.service import AnalyticsService
    from ghgwatch.kit.problems import Problem

    try:
        job_kind = JobKind(kind)
    except ValueError:
        fail(_("unknown job kind {kind}; expected one of {choices}", kind=repr(kind),
               choices=", ".join(k.value for k in JobKind)))
    parameters = _parse(params or [])
    try:
        check_parameters(job_kind, parameters)
    except Problem as exc:
        fail(exc.detail)
    settings = settings_for(data_dir)

    async def go() -> Any:
        async with database(settings) as db:
            async with db.transaction() as s:
                job_id = (await repository.enqueue(s, job_kind.value, parameters, created_by=_actor())).id
            if not queue_only:
                await _run_with_bar(AnalyticsService(db, settings), job_id)
            async with db.sessions() as s:
                return await repository.get_job(s, job_id)

    job = run(go())
    typer.echo(JobOut.model_validate(job).model_dump_json(indent=2))
    if job.state == "failed":
        raise typer.Exit(1)


async def _run_with_bar(service: Any, job_id: int) -> None:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from ghgwatch.analytics import repository

    with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), transient=True,
                  console=console) as bar:
        task = bar.add_task(_("job {id}", id=job_id), total=1.0)
        work = asyncio.ensure_future(service.run_next(job_id))
        while not work.done():
            await asyncio.wait({work}, timeout=0.3)
            async with service.db.sessions() as s:
                job = await repository.get_job(s, job_id)
            if job is not None:
                bar.update(task, completed=job.progress,
                           description=_("job {id}", id=job_id) + f": {job.message or job.state}")
        if work.result() is None:
            fail(_("job {id} was taken by another runner; see 'ghgwatch analytics jobs show {id}'", id=job_id))


def _parse(items: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            fail(_("parameter {item} is not name=value", item=repr(item)))
        try:
            out[name] = json.loads(value)
        except json.JSONDecodeError:
            out[name] = value
    return out


@analytics_app.command("models")
def models(
    sensor: Annotated[int | None, typer.Option(help="Target sensor id")] = None,
    name: Annotated[str | None, typer.Option()] = None,
    status: Annotated[str | None, typer.Option(help="candidate, promoted or retired")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table")] = False,
    data_dir: Path | None = DataDir,
) -> None:
    """Registered models: every version with its method, data window and backtest scores."""
    from ghgwatch.analytics import repository
    from ghgwatch.analytics.schemas import ModelOut

    async def go() -> list[Any]:
        async with database(settings_for(data_dir)) as db, db.sessions() as s:
            return list(await repository.list_models(s, sensor_id=sensor, name=name, status=status, limit=1000))

    found = run(go())
    if as_json:
        for m in found:
            typer.echo(ModelOut.model_validate(m).model_dump_json())
        return
    table = Table(_("id"), _("name"), _("version"), _("status"), _("method"), _("sensor"), _("data window"), "MAE",
                  "MASE", _("coverage"), _("trained by"))
    for m in found:
        scores = [m.metrics.get(k) for k in ("mae", "mase", "coverage")]
        table.add_row(str(m.id), m.name, str(m.version), m.status, m.method, str(m.sensor_id),
                      f"{m.data_start:%Y-%m-%d %H:%M} – {m.data_end:%Y-%m-%d %H:%M}",
                      *("" if v is None else sig(v, 3) for v in scores), m.trained_by)
    console.print(table)


@analytics_app.command("promote")
def promote(model_id: int, data_dir: Path | None = DataDir) -> None:
    """Promote a model version; the promoted version of the same name is retired (audited)."""
    from ghgwatch.analytics import promotion, repository

    async def go() -> dict[str, Any]:
        async with database(settings_for(data_dir)) as db, db.transaction() as s:
            model = await repository.get_model(s, model_id)
            if model is None:
                fail(_("model {id} does not exist", id=model_id))
            retired = await promotion.promote(s, model, _actor())
            return {"id": model.id, "name": model.name, "version": model.version, "status": model.status,
                    "retired": [m.id for m in retired]}

    typer.echo(json.dumps(run(go())))


def register(app: typer.Typer) -> None:
    analytics_app.add_typer(jobs_app, name="jobs")
    app.add_typer(analytics_app, name="analytics")
