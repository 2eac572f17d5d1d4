"""``ghgwatch report prepare|list|review|reject|approve|submit|check``: the report sign-off on the database.

Each step acts as a named platform user (``--user``): the rules compare people (the preparer may not review or
approve), so the command line cannot sign off as an anonymous administrator. See docs/inventory.md.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import typer

from ghgwatch.cli._runtime import DataDir, _, database, fail, run, settings_for, validation_message

User = typer.Option(..., "--user", help="The platform user who acts (their role and organisation apply)")


async def _principal(session: Any, username: str) -> Any:
    from sqlalchemy import select

    from ghgwatch.security.models import User as UserRow
    from ghgwatch.security.principal import Principal

    user = (await session.execute(select(UserRow).where(UserRow.username == username))).scalar_one_or_none()
    if user is None or not user.active:
        fail(_("--user: no active user {name}", name=repr(username)))
    return Principal(user_id=user.id, username=user.username, role=user.role, organization_id=user.organization_id)


def _summary(r: Any) -> dict[str, Any]:
    return {k: getattr(r, k) for k in ("id", "organization_id", "year", "version", "previous_id", "state",
                                       "inputs_sha256", "total_co2e_t", "prepared_by", "reviewed_by",
                                       "approved_by", "seal_sha256", "submitted_by")}


def _act(username: str, data_dir: Path | None,
         step: Callable[[Any, Any], Awaitable[dict[str, Any]]]) -> None:
    async def go() -> dict[str, Any]:
        async with database(settings_for(data_dir)) as db, db.transaction() as s:
            return await step(s, await _principal(s, username))

    typer.echo(json.dumps(run(go()), default=str, ensure_ascii=False))


def prepare(organization: int = typer.Option(..., "--organization"), year: int = typer.Option(..., "--year"),
            methodology: str = typer.Option("ipcc2006", "--methodology"), gwp: str | None = typer.Option(None, "--gwp"),
            factor_set: list[str] = typer.Option([], "--factor-set", help="Built-in name or name@version"),
            include_measured: bool = typer.Option(False, "--include-measured/--no-measured"),
            title: str | None = typer.Option(None, "--title"), user: str = User,
            data_dir: Path | None = DataDir) -> None:
    """Prepare a draft report of a closed year from the stored inputs."""
    from pydantic import ValidationError

    from ghgwatch.reports.signoff import service
    from ghgwatch.reports.signoff.schemas import ReportIn

    try:
        body = ReportIn(organization_id=organization, year=year, methodology=methodology,
                        gwp=gwp, factor_sets=factor_set, include_measured=include_measured, title=title)
    except ValidationError as exc:
        fail(validation_message(exc))

    async def step(s: Any, actor: Any) -> dict[str, Any]:
        return _summary(await service.create(s, actor, body))

    _act(user, data_dir, step)


def list_reports(organization: int | None = typer.Option(None, "--organization"),
                 year: int | None = typer.Option(None, "--year"), user: str = User,
                 data_dir: Path | None = DataDir) -> None:
    """Reports visible to the user, newest first."""
    from ghgwatch.reports.signoff import service

    async def step(s: Any, actor: Any) -> dict[str, Any]:
        found = await service.list_reports(s, actor, organization, year)
        later = await service.successors(s, [r.id for r in found])
        return {"reports": [{**_summary(r), "superseded_by": later.get(r.id)} for r in found]}

    _act(user, data_dir, step)


def review(report: int = typer.Argument(...), comment: str | None = typer.Option(None, "--comment"),
           user: str = User, data_dir: Path | None = DataDir) -> None:
    """Review a draft (not its preparer)."""
    from ghgwatch.reports.signoff import service

    async def step(s: Any, actor: Any) -> dict[str, Any]:
        return _summary(await service.review(s, actor, report, comment))

    _act(user, data_dir, step)


def reject(report: int = typer.Argument(...), comment: str = typer.Option(..., "--comment"),
           user: str = User, data_dir: Path | None = DataDir) -> None:
    """Send a draft or reviewed report back to draft with the reason."""
    from ghgwatch.reports.signoff import service

    async def step(s: Any, actor: Any) -> dict[str, Any]:
        return _summary(await service.reject(s, actor, report, comment))

    _act(user, data_dir, step)


def approve(report: int = typer.Argument(...), comment: str | None = typer.Option(None, "--comment"),
            user: str = User, data_dir: Path | None = DataDir) -> None:
    """Approve and lock a reviewed report (an administrator who neither prepared nor reviewed it)."""
    from ghgwatch.reports.signoff import service

    async def step(s: Any, actor: Any) -> dict[str, Any]:
        r = await service.approve(s, actor, report, comment)
        return {**_summary(r), "documents": {f.name: f.sha256 for f in await service.files(s, r.id)}}

    _act(user, data_dir, step)


def submit(report: int = typer.Argument(...), user: str = User, data_dir: Path | None = DataDir) -> None:
    """Submit an approved report; if its inputs changed, a restatement is prepared instead (exit 1)."""
    from ghgwatch.reports.signoff import service

    async def step(s: Any, actor: Any) -> dict[str, Any]:
        outcome = await service.submit(s, actor, report, None)
        if outcome.restatement is not None:
            return {"submitted": False, "restatement": _summary(outcome.restatement),
                    "differences": outcome.restatement.differences}
        return {"submitted": True, **_summary(outcome.report)}

    async def go() -> dict[str, Any]:
        async with database(settings_for(data_dir)) as db, db.transaction() as s:
            return await step(s, await _principal(s, user))

    out = run(go())
    typer.echo(json.dumps(out, default=str, ensure_ascii=False))
    if not out["submitted"]:
        fail(_("the inputs of report {report} changed since approval: not submitted; restatement {id} (version "
               "{version}) prepared", report=report, id=out["restatement"]["id"],
               version=out["restatement"]["version"]), code=1)


def check(report: int = typer.Argument(...), user: str = User, data_dir: Path | None = DataDir) -> None:
    """Whether the report's inputs changed; a locked report with changed inputs gets its restatement."""
    from ghgwatch.reports.signoff import service

    async def step(s: Any, actor: Any) -> dict[str, Any]:
        c = await service.check(s, actor, report)
        return {"report_id": c.report.id, "changed": c.changed, "locked_inputs_sha256": c.report.inputs_sha256,
                "current_inputs_sha256": c.current_inputs_sha256,
                "restatement": None if c.restatement is None else {**_summary(c.restatement),
                                                                   "differences": c.restatement.differences}}

    _act(user, data_dir, step)


def register(report_app: typer.Typer) -> None:
    report_app.command("prepare")(prepare)
    report_app.command("list")(list_reports)
    for name, command in (("review", review), ("reject", reject), ("approve", approve), ("submit", submit),
                          ("check", check)):
        report_app.command(name)(command)
