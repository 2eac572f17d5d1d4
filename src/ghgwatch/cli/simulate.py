"""``ghgwatch simulate``: send realistic coal-mine telemetry to a running ghgwatch over HTTP or MQTT."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ghgwatch.cli._runtime import _, fail, num

if TYPE_CHECKING:
    from ghgwatch.simulator import SimulationStats


class Transport(StrEnum):
    HTTP = "http"
    MQTT = "mqtt"


def _summary(stats: SimulationStats) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=_("Simulation"), show_header=False)
    labels = {"generated": _("generated"), "backfilled": _("backfilled"), "skipped": _("skipped"), "sent": _("sent"),
              "accepted": _("accepted"), "rejected": _("rejected"), "failed": _("failed"), "retries": _("retries"),
              "dropped": _("dropped"), "requests": _("requests")}
    for name, label in labels.items():
        table.add_row(label, num(getattr(stats, name)))
    console = Console()
    console.print(table)
    for message in stats.errors[:10]:
        console.print(f"[yellow]•[/yellow] {message}", highlight=False, markup=False)


async def _run_until_signal(run: Callable[[asyncio.Event], Awaitable[SimulationStats]]) -> SimulationStats:
    """Ctrl-C or SIGTERM stops the run gracefully: what is buffered is still sent, then the summary prints."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        return await run(stop)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def simulate(
    credentials: Annotated[Path, typer.Option(help="demo-credentials.json written by `ghgwatch up --demo`")],
    rate: Annotated[float, typer.Option(help="readings per second, all sensors together")] = 50.0,
    duration: Annotated[float | None, typer.Option(help="seconds of live data (default: until Ctrl-C)")] = None,
    transport: Annotated[Transport, typer.Option(help="how to send")] = Transport.HTTP,
    mqtt_url: Annotated[str | None, typer.Option(help="broker, e.g. mqtt://user:pass@127.0.0.1:1883")] = None,
    sign: Annotated[bool, typer.Option(help="sign requests with the device HMAC secret")] = False,
    seed: Annotated[int, typer.Option(help="random seed of the site model")] = 1,
    backfill_hours: Annotated[float, typer.Option(help="first send this many hours of history, fast")] = 0.0,
    events: Annotated[bool, typer.Option("--events/--no-events", help="scripted build-up, stuck, silent")] = True,
    dropout: Annotated[float, typer.Option(help="probability that a reading is lost")] = 0.01,
    batch_size: Annotated[int, typer.Option(help="readings per request (at most 10,000)")] = 1000,
) -> None:
    """Send realistic coal-mine telemetry (patterns, noise, dropouts, scripted events) to ghgwatch."""
    from ghgwatch.simulator import describe, load_credentials, run_simulation, sensors_from

    try:
        creds = load_credentials(credentials)
    except (OSError, ValueError) as exc:
        fail(str(exc))
    if rate <= 0 or (duration is not None and duration < 0) or backfill_hours < 0 or not 0 <= dropout < 1:
        fail(_("--rate must be > 0, --duration and --backfill-hours >= 0, --dropout in [0, 1)"))
    if events:
        from ghgwatch.simulator import default_events

        sensors = sensors_from(creds["sensors"])
        for item in describe(default_events(sensors), sensors):
            typer.echo(_("event {kind} at +{start} s for {duration} s: {name} (sensor {sensor})", kind=item["kind"],
                         start=num(item["start_s"]), duration=num(item["duration_s"]), name=item["sensor_name"],
                         sensor=item["sensor"]))
    def run(stop: asyncio.Event) -> Awaitable[SimulationStats]:
        return run_simulation(
            creds, rate=rate, duration_s=duration, transport=transport.value, mqtt_url=mqtt_url, sign=sign,
            seed=seed, events=None if events else (), stop=stop, backfill_hours=backfill_hours, dropout=dropout,
            batch_size=batch_size)

    try:
        stats = asyncio.run(_run_until_signal(run))
    except ValueError as exc:
        fail(str(exc))
    _summary(stats)
    if stats.sent == 0 and stats.generated > 0:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate)
