"""``ghgwatch report``: annual / detail GHG reports from a calc input, monthly methane-safety report."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from ghgwatch.cli._runtime import _, fail

report_app = typer.Typer(help="Build reports (PDF, XLSX, CSV, JSON) from files or stored inventory runs; sign off "
                                "inventory reports (prepare, review, approve, submit, check).",
                         no_args_is_help=True)


class Kind(StrEnum):
    annual = "annual"
    detail = "detail"


class Fmt(StrEnum):
    pdf = "pdf"
    xlsx = "xlsx"
    csv = "csv"
    json = "json"


class LangOpt(StrEnum):
    ru = "ru"
    en = "en"


def _stored_result(run_id: int, data_dir: Path | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """A stored run's result and its side-by-side comparisons."""
    from ghgwatch.cli._runtime import database, run, settings_for
    from ghgwatch.cli.admin import cli_actor
    from ghgwatch.inventory import runs

    async def go() -> tuple[dict[str, Any], dict[str, Any]]:
        async with database(settings_for(data_dir)) as db, db.transaction() as s:
            stored = await runs.get_run(s, cli_actor(), run_id)
            return stored.result, stored.comparison

    return run(go())


@report_app.command("build")
def build(
    input_path: Path | None = typer.Option(None, "--input", "-i", help="Calculation input JSON (as for `calc`)."),
    run_id: int | None = typer.Option(None, "--run", help="A stored inventory run (instead of --input)."),
    kind: Kind = typer.Option(Kind.annual, "--kind", help="annual or detail."),
    fmt: Fmt = typer.Option(Fmt.pdf, "--format", "-f"),
    lang: LangOpt = typer.Option(LangOpt.ru, "--lang"),
    output: Path = typer.Option(..., "--output", "-o"),
    data_dir: Path | None = typer.Option(None, "--data-dir", help="Data folder, for --run"),
) -> None:
    """Annual GHG report (296-FZ form structure) or inventory detail with provenance, from a calc input
    file or a stored inventory run."""
    from ghgwatch.cli.calc import run_calc
    from ghgwatch.reports import build_annual_report, build_detail_report, render

    if (input_path is None) == (run_id is None):
        fail(_("give exactly one of --input and --run"))
    result, comparison = ((run_calc(input_path).to_dict(), None) if input_path is not None
                          else _stored_result(int(run_id or 0), data_dir))
    builder = build_annual_report if kind is Kind.annual else build_detail_report
    doc = builder(result, lang.value, comparison=comparison)
    render(doc, fmt.value, output)
    typer.echo(f"{output} ({kind.value}, {fmt.value}, {lang.value}); "
               + _("inputs sha256 {digest}", digest=doc.inputs_sha256))


@report_app.command("methane-safety")
def methane_safety(
    input_path: Path = typer.Option(..., "--input", "-i", help="CSV with header timestamp,sensor,value."),
    threshold: float = typer.Option(1.0, "--threshold", help="CH4 limit, % vol (exceedance is > limit)."),
    month: str | None = typer.Option(None, "--month", help="YYYY-MM; all readings if omitted."),
    fmt: Fmt = typer.Option(Fmt.pdf, "--format", "-f"),
    lang: LangOpt = typer.Option(LangOpt.ru, "--lang"),
    output: Path = typer.Option(..., "--output", "-o"),
    tz: str = typer.Option("UTC", "--tz", help="IANA time zone of the month and the times, e.g. Asia/Novokuznetsk"),
) -> None:
    """Monthly methane-safety report: exceedances per sensor with start, end, duration and peak."""
    from ghgwatch.reports import build_methane_safety_report, find_exceedances, read_readings_csv, render
    from ghgwatch.reports.methane_safety import ReadingsFormatError, zone

    try:
        zone(tz)
    except ValueError as exc:
        fail(f"--tz: {exc}")
    if month is not None and not re.fullmatch(r"(19|20)[0-9]{2}-(0[1-9]|1[0-2])", month):
        fail(_("--month must be YYYY-MM, got {month}", month=repr(month)))
    try:
        readings, digest = read_readings_csv(input_path)
    except (OSError, ReadingsFormatError) as exc:
        fail(str(exc))
    exceedances = find_exceedances(readings, threshold, month, tz)
    doc = build_methane_safety_report(exceedances, threshold, digest, month, lang.value, tz=tz)
    render(doc, fmt.value, output)
    typer.echo(f"{output}: " + _("{n} exceedance(s)", n=len(exceedances)) + "; "
               + _("inputs sha256 {digest}", digest=digest))


def register(app: typer.Typer) -> None:
    from ghgwatch.cli import report_signoff

    report_signoff.register(report_app)
    app.add_typer(report_app, name="report")
