"""``ghgwatch up``, ``ghgwatch serve`` and ``ghgwatch db``."""

from __future__ import annotations

import gc
import json
import logging
import os
from enum import StrEnum
from pathlib import Path

import typer

from ghgwatch.cli._runtime import DataDir, _, console, fail, migrate, run, settings_for
from ghgwatch.settings import ConfigurationError, Mode, Settings

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


class Role(StrEnum):
    ALL = "all"
    API = "api"
    PIPELINE = "pipeline"
    MQTT = "mqtt"
    ANALYTICS = "analytics"
    UI = "ui"
    COAP = "coap"
    EDGE = "edge"


@db_app.command("upgrade")
def db_upgrade(data_dir: Path | None = DataDir, revision: str = typer.Option("heads")) -> None:
    """Apply the migrations shipped with ghgwatch to the configured database."""
    from ghgwatch.store.migrate import current, upgrade

    settings = settings_for(data_dir)
    upgrade(settings.database_url, revision)
    console.print(_("database at revision {revision}", revision=f"[bold]{current(settings.database_url)}[/bold]"))


def _serve(role: Role, host: str, port: int, data_dir: Path | None, demo: bool) -> None:
    import uvicorn

    if role is Role.EDGE:  # not a role of the platform: a gateway at a site (settings GHGWATCH_EDGE__*)
        from ghgwatch.cli.edge import run_edge

        run_edge(host, port, data_dir)
        return

    from ghgwatch.roles import build_role_app
    from ghgwatch.web.tls import scheme, uvicorn_tls

    overrides: dict[str, object] = {"api": {"host": host, "port": port}}
    if role is Role.ALL and "GHGWATCH_PIPELINE__STORE_PROCESS" not in os.environ:
        # One process for everything would leave storage and the API one interpreter between them.
        overrides["pipeline"] = {"store_process": True}
    settings = settings_for(data_dir, **overrides)
    try:
        tls = uvicorn_tls(settings)
    except ConfigurationError as exc:
        fail(str(exc))
    _observe(settings, role)
    if settings.mode is Mode.EMBEDDED:
        run(migrate(settings))
    app = build_role_app(settings, role.value, demo=demo)
    url = f"{scheme(settings)}://{host}:{port}"
    console.print(_("ghgwatch {role} on {url}  (API docs {url}/docs, health {url}/healthz)",
                    role=role.value, url=f"[bold]{url}[/bold]"))
    if role in (Role.ALL, Role.UI):
        console.print(_("web UI: {url}", url=f"[bold]{url}/[/bold]"))
    console.print(_("data folder: {path}", path=settings.data_dir.resolve()))
    if demo:
        console.print(_("demo credentials: {path}", path=(settings.data_dir / "demo-credentials.json").resolve()))
    # Our handler on the root logger formats uvicorn's records too (log_config=None keeps uvicorn from
    # installing its own); its access log is replaced by the one of RequestIdMiddleware, which has the ids.
    # Collect young objects less often: per-request garbage is short-lived, and PERFORMANCE.md (c) measured
    # the default thresholds as the cause of p99 spikes and a 10-60 % throughput loss on the ingest path.
    gc.set_threshold(100_000, 50, 100)
    uvicorn.run(app, host=host, port=port, log_level="warning", loop="auto", http="auto", lifespan="on",
                log_config=None, access_log=False, **tls)


def _observe(settings: Settings, role: Role) -> None:
    """Logging and (optional) tracing for this process, from ``settings.observability``."""
    from ghgwatch.observability.logging import configure_logging
    from ghgwatch.observability.tracing import setup_tracing

    obs = settings.observability
    configure_logging(mode=settings.mode.value, level=obs.log_level.upper(), json_lines=obs.json_logs)
    if setup_tracing(enabled=obs.tracing, service_name=f"ghgwatch-{role.value}", otlp_endpoint=obs.otlp_endpoint,
                     sample_ratio=obs.trace_sample_ratio):
        logging.getLogger(__name__).info("OpenTelemetry tracing on%s",
                                         f", exported to {obs.otlp_endpoint}" if obs.otlp_endpoint else "")
    elif obs.tracing or obs.otlp_endpoint:
        logging.getLogger(__name__).warning("tracing requested but opentelemetry is not installed; tracing off")


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")

    @app.command()
    def up(
        host: str = typer.Option("127.0.0.1", help="Address to listen on"),
        port: int = typer.Option(8000, help="Port to listen on"),
        data_dir: Path | None = DataDir,
        demo: bool = typer.Option(False, "--demo", help="Load a demo Kuzbass mine and stream simulated data"),
    ) -> None:
        """Run every role in one process (embedded mode: SQLite and the embedded bus by default)."""
        _serve(Role.ALL, host, port, data_dir, demo)

    @app.command()
    def serve(
        role: Role = typer.Option(Role.ALL, help="Which part of ghgwatch to run"),
        host: str = typer.Option("0.0.0.0", help="Address to listen on"),  # noqa: S104 (containers)
        port: int = typer.Option(8000),
        data_dir: Path | None = DataDir,
    ) -> None:
        """Run one role (cluster mode: one process per role)."""
        _serve(role, host, port, data_dir, demo=False)

    @app.command()
    def version() -> None:
        """Print the version."""
        from ghgwatch import __version__

        typer.echo(json.dumps({"version": __version__}))
