"""``ghgwatch report``: annual / detail GHG reports from a calc input, monthly methane-safety report."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path

import typer

report_app = typer.Typer(help="Build reports (PDF, XLSX, CSV, JSON) from files.", no_args_is_help=True)


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


@report_app.command("build")
def build(
    input_path: Path = typer.Option(..., "--input", "-i", help="Calculation input JSON (as for `calc`)."),
    kind: Kind = typer.Option(Kind.annual, "--kind", help="annual or detail."),
    fmt: Fmt = typer.Option(Fmt.pdf, "--format", "-f"),
    lang: LangOpt = typer.Option(LangOpt.ru, "--lang"),
    output: Path = typer.Option(..., "--output", "-o"),
) -> None:
    """Annual GHG report (296-FZ form structure) or inventory detail with provenance."""
    from ghgwatch.cli.calc import run_calc
    from ghgwatch.reports import build_annual_report, build_detail_report, render

    result = run_calc(input_path).to_dict()
    builder = build_annual_report if kind is Kind.annual else build_detail_report
    doc = builder(result, lang.value)
    render(doc, fmt.value, output)
    typer.echo(f"{output} ({kind.value}, {fmt.value}, {lang.value}); inputs sha256 {doc.inputs_sha256}")


@report_app.command("methane-safety")
def methane_safety(
    input_path: Path = typer.Option(..., "--input", "-i", help="CSV with header timestamp,sensor,value."),
    threshold: float = typer.Option(1.0, "--threshold", help="CH4 limit, % vol (exceedance is > limit)."),
    month: str | None = typer.Option(None, "--month", help="YYYY-MM; all readings if omitted."),
    fmt: Fmt = typer.Option(Fmt.pdf, "--format", "-f"),
    lang: LangOpt = typer.Option(LangOpt.ru, "--lang"),
    output: Path = typer.Option(..., "--output", "-o"),
) -> None:
    """Monthly methane-safety report: exceedances per sensor with start, end, duration and peak."""
    from ghgwatch.reports import build_methane_safety_report, find_exceedances, read_readings_csv, render
    from ghgwatch.reports.methane_safety import ReadingsFormatError

    if month is not None and not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        typer.echo(f"error: --month must be YYYY-MM, got {month!r}", err=True)
        raise typer.Exit(2)
    try:
        readings, digest = read_readings_csv(input_path)
    except (OSError, ReadingsFormatError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    exceedances = find_exceedances(readings, threshold, month)
    doc = build_methane_safety_report(exceedances, threshold, digest, month, lang.value)
    render(doc, fmt.value, output)
    typer.echo(f"{output}: {len(exceedances)} exceedance(s); inputs sha256 {digest}")


def register(app: typer.Typer) -> None:
    app.add_typer(report_app, name="report")
