"""``ghgwatch uav``: leak quantification from a UAV flight file, and simulated flights, without a database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from ghgwatch.cli._runtime import _, err_console, fail, sig

uav_app = typer.Typer(help="UAV flights: leak quantification (docs/uav.md).", no_args_is_help=True)


@uav_app.command("quantify")
def quantify_command(
    input: Annotated[Path, typer.Option("--input", "-i", help="Flight as CSV or XLSX (header in docs/uav.md)")],
    method: Annotated[str, typer.Option(help="mass-balance or plume")] = "mass-balance",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the JSON here (default: stdout)")] = None,
    stability: Annotated[str | None, typer.Option(help="Pasquill class A-F for the plume method "
                                                        "(default: estimated from the wind)")] = None,
    release_height: Annotated[float, typer.Option(help="Height of the leak above ground, m (plume)")] = 0.0,
    source_lat: Annotated[float | None, typer.Option(help="Known source latitude (checks the curtain is "
                                                          "downwind)")] = None,
    source_lon: Annotated[float | None, typer.Option(help="Known source longitude")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap")] = 0,
) -> None:
    """Quantify a CH4 leak rate with a 95 % interval; exit 3 with the reason when it cannot."""
    from ghgwatch.uav import CannotQuantify, FlightFileError, Method, quantify, read_flight

    try:
        chosen = Method(method)
    except ValueError:
        fail(_("--method: {value} is not one of {choices}", value=repr(method), choices="mass-balance, plume"))
    if stability is not None and stability.upper() not in ("A", "B", "C", "D", "E", "F"):
        fail(_("--stability: {value} is not one of {choices}", value=repr(stability), choices="A, B, C, D, E, F"))
    if (source_lat is None) != (source_lon is None):
        fail(_("--source-lat and --source-lon go together"))
    try:
        flight = read_flight(input)
    except FlightFileError as exc:
        for row, message in exc.errors:
            where = f"{input}: " + (_("row {row}", row=row) + ": " if row else "")
            err_console.print(escape(where + message), highlight=False)
        raise typer.Exit(2) from None
    source = (source_lat, source_lon) if source_lat is not None and source_lon is not None else None
    try:
        result = quantify(flight, chosen, source=source, stability=stability, release_height_m=release_height,
                          seed=seed)
    except CannotQuantify as exc:
        fail(_("cannot quantify this flight ({code}): {reason}", code=exc.code.value, reason=exc.message), code=3)
    text = json.dumps(result.as_dict(), ensure_ascii=False, indent=2)
    if output is None:
        typer.echo(text)
        return
    try:
        output.write_text(text + "\n", encoding="utf-8")
    except OSError as exc:
        fail(_("{path}: cannot write ({reason})", path=output, reason=exc.strerror))
    typer.echo(_("{rate} kg/h (95 % interval {lower}-{upper}) -> {path}", rate=sig(result.rate_kg_h),
                 lower=sig(result.lower_kg_h), upper=sig(result.upper_kg_h), path=output))


@uav_app.command("simulate")
def simulate_command(
    output: Annotated[Path, typer.Option("--output", "-o", help="CSV file to write")],
    rate: Annotated[float, typer.Option(help="True CH4 release rate, kg/h")] = 10.0,
    wind: Annotated[float, typer.Option(help="Mean wind speed, m/s")] = 4.0,
    distance: Annotated[float, typer.Option(help="Curtain distance downwind of the source, m")] = 60.0,
    seed: Annotated[int, typer.Option(help="Random seed")] = 0,
) -> None:
    """Write a simulated curtain flight through a puff plume (the validation simulator, docs/uav.md)."""
    from ghgwatch.uav import flight_to_csv
    from ghgwatch.uav.simulator import Scenario, simulate

    if rate <= 0 or wind <= 0 or distance <= 0:
        fail(_("--rate, --wind and --distance must be > 0"))
    flight = simulate(Scenario(rate_kg_h=rate, wind_speed_ms=wind, distance_m=distance), seed=seed)
    try:
        output.write_text(flight_to_csv(flight), encoding="utf-8")
    except OSError as exc:
        fail(_("{path}: cannot write ({reason})", path=output, reason=exc.strerror))
    typer.echo(_("{n} samples -> {path}", n=len(flight), path=output))


def register(app: typer.Typer) -> None:
    app.add_typer(uav_app, name="uav")
