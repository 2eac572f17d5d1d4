"""``ghgwatch calc``: emission inventory from a JSON file, no database needed."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

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
        typer.echo(f"error: cannot read {path}: {exc}", err=True)
        raise typer.Exit(2) from None
    if not isinstance(data, dict):
        typer.echo(f"error: {path}: the input must be a JSON object", err=True)
        raise typer.Exit(2)
    return data


def run_calc(path: Path) -> CalcResult:
    """Load and calculate; on input errors print every one of them and exit 2."""
    from ghgwatch.inventory import InventoryInputError, calculate

    data = load_calc_input(path)
    try:
        return calculate(data, base_dir=path.parent)
    except InventoryInputError as exc:
        typer.echo(f"error: {len(exc.items)} problem(s) in {path}:", err=True)
        for item in exc.items:
            typer.echo(f"  - {item}", err=True)
        raise typer.Exit(2) from None


def _print_table(result: CalcResult) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"{result.organization or 'Inventory'} {result.year} "
        f"({result.methodology.name}, GWP {result.gwp.name})"
    )
    for col in ("id", "type", "CO2, t", "CH4, t", "N2O, t", "CO2e, t"):
        table.add_column(col, justify="left" if col in ("id", "type") else "right")
    for a in result.activities:
        table.add_row(
            a.id, a.type, f"{a.co2_t:,.1f}", f"{a.ch4_t:,.1f}", f"{a.n2o_t:,.3f}", f"{a.co2e_t:,.1f}"
        )
    t = result.totals()
    table.add_row(
        "total",
        "",
        f"{t['co2_t']:,.1f}",
        f"{t['ch4_t']:,.1f}",
        f"{t['n2o_t']:,.3f}",
        f"{t['co2e_t']:,.1f}",
        style="bold",
    )
    console = Console()
    console.print(table)
    console.print(result.fz296.note)
    console.print(f"inputs sha256: {result.inputs_sha256}")


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
