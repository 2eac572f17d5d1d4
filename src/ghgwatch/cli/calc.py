"""``ghgwatch calc``: emission inventory from a JSON file, no database needed."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from ghgwatch.cli._runtime import _, fail, ngettext, num

if TYPE_CHECKING:
    from ghgwatch.inventory.result import CalcResult


class CalcFormat(StrEnum):
    json = "json"
    table = "table"


def load_calc_input(path: Path) -> dict[str, Any]:
    """Read a calculation input JSON; exits 2 with a message if it is unreadable or not an object."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        fail(_("cannot read {path}: {reason}", path=path, reason=exc))
    if not isinstance(data, dict):
        fail(_("{path}: the input must be a JSON object", path=path))
    return data


def run_calc(path: Path) -> CalcResult:
    """Load and calculate; on input errors print every one of them and exit 2."""
    from ghgwatch.inventory import InventoryInputError, calculate

    data = load_calc_input(path)
    try:
        return calculate(data, base_dir=path.parent)
    except InventoryInputError as exc:
        problems = "".join(f"\n  - {item}" for item in exc.items)
        fail(ngettext("{n} problem in {path}:", "{n} problems in {path}:", len(exc.items), path=path) + problems)


def _fz296_note(result: CalcResult) -> str:
    """The 296-FZ verdict of ``inventory.fz296`` in the chosen language (its ``note`` is English only)."""
    fz = result.fz296
    in_force = any(row["in_force_for_year"] for row in fz.thresholds)
    if not in_force:
        return _("No 296-FZ reporting obligation existed for {year} (first reporting year 2022).", year=fz.year)
    values = {"total": num(fz.total_t_co2e, 0), "threshold": num(fz.threshold_t_co2e, 0), "article": fz.article,
              "year": fz.year}
    if fz.regulated and fz.report_deadline is not None:
        return _("Total {total} t CO2e >= {threshold} t CO2e ({article}): GHG report for {year} due by {due}.",
                 due=fz.report_deadline.isoformat(), **values)
    return _("Total {total} t CO2e < {threshold} t CO2e ({article}): no 296-FZ report required on the emission "
             "criterion.", **values)


def _print_table(result: CalcResult) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"{result.organization or _('Inventory')} {result.year} "
        f"({result.methodology.name}, GWP {result.gwp.name})"
    )
    for col in (_("id"), _("type")):
        table.add_column(col, justify="left")
    for col in (_("CO2, t"), _("CH4, t"), _("N2O, t"), _("CO2e, t")):
        table.add_column(col, justify="right")
    for a in result.activities:
        table.add_row(a.id, a.type, num(a.co2_t, 1), num(a.ch4_t, 1), num(a.n2o_t, 3), num(a.co2e_t, 1))
    t = result.totals()
    table.add_row(
        _("total"), "", num(t["co2_t"], 1), num(t["ch4_t"], 1), num(t["n2o_t"], 3), num(t["co2e_t"], 1),
        style="bold",
    )
    console = Console()
    console.print(table)
    console.print(_fz296_note(result), highlight=False)
    console.print(_("inputs sha256: {digest}", digest=result.inputs_sha256))


def calc(
    input_path: Path = typer.Option(..., "--input", "-i", help="Calculation input JSON."),
    fmt: CalcFormat = typer.Option(CalcFormat.json, "--format", "-f", help="json or table."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write JSON here instead of stdout."),
) -> None:
    """Calculate CO2, CH4, N2O and CO2e of the activities in a JSON file (IPCC 2006 / Order 371)."""
    result = run_calc(input_path)
    if fmt is CalcFormat.table:
        _print_table(result)
        if output is None:
            return
    text = json.dumps(result.to_dict(), ensure_ascii=False, indent=2)
    if output is not None:
        output.write_text(text + "\n", "utf-8")
    else:
        typer.echo(text)


def register(app: typer.Typer) -> None:
    app.command("calc")(calc)
