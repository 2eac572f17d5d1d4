"""``ghgwatch edge``: run an edge gateway at a site (docs/edge.md)."""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from ghgwatch.cli._runtime import _, console, fail, settings_for


class Forward(StrEnum):
    ALL = "all"
    SUMMARY = "summary"


def run_edge(host: str, port: int, data_dir: Path | None, edge: dict[str, Any] | None = None,
             **groups: dict[str, Any]) -> None:
    import uvicorn

    from ghgwatch.cli.server import Role, _observe
    from ghgwatch.edge.gateway.api import build_edge_app
    from ghgwatch.settings import ConfigurationError

    if data_dir is None and "GHGWATCH_DATA_DIR" not in os.environ:
        data_dir = Path("ghgwatch-edge")
    settings = settings_for(data_dir, api={"host": host, "port": port},
                            edge={k: v for k, v in (edge or {}).items() if v is not None}, **groups)
    if not settings.edge.upstream or settings.edge.token is None or settings.edge.hmac_secret is None:
        fail(str(ConfigurationError(_("an edge gateway needs --upstream, --token and --hmac-secret (or "
                                      "GHGWATCH_EDGE__UPSTREAM, GHGWATCH_EDGE__TOKEN, GHGWATCH_EDGE__HMAC_SECRET)"))))
    _observe(settings, Role.EDGE)
    app = build_edge_app(settings)
    console.print(_("ghgwatch edge gateway on {url}, forwarding {mode} to {upstream}",
                    url=f"[bold]http://{host}:{port}[/bold]", mode=settings.edge.forward,
                    upstream=settings.edge.upstream))
    console.print(_("data folder: {path}", path=settings.data_dir.resolve()))
    if settings.edge.view_token is None:
        console.print(_("view token of its API: {path}", path=(settings.data_dir / "view.token").resolve()))
    uvicorn.run(app, host=host, port=port, log_level="warning", lifespan="on", log_config=None, access_log=False)


def register(app: typer.Typer) -> None:
    @app.command()
    def edge(
        upstream: str | None = typer.Option(None, "--upstream", help="Base URL of the central platform"),
        token: str | None = typer.Option(None, "--token", help="Token of the gateway device "
                                         "(ghgwatch device create --gateway); prefer GHGWATCH_EDGE__TOKEN"),
        hmac_secret: str | None = typer.Option(None, "--hmac-secret", help="HMAC secret of the gateway device; "
                                               "prefer GHGWATCH_EDGE__HMAC_SECRET"),
        forward: Forward | None = typer.Option(None, "--forward", help="all: every reading; summary: per-minute "
                                               "summaries plus alarm events (default: all)"),
        host: str = typer.Option("127.0.0.1", help="Address devices reach the gateway on"),
        port: int = typer.Option(8100, help="HTTP port (readings, status, alarms)"),
        mqtt_port: int | None = typer.Option(None, help="Port of the embedded MQTT broker (default 18830)"),
        coap_port: int | None = typer.Option(None, help="UDP port of CoAP (default 5683)"),
        data_dir: Path | None = typer.Option(None, "--data-dir", help="Data folder (default: $GHGWATCH_DATA_DIR "
                                             "or ./ghgwatch-edge)"),
    ) -> None:
        """Run an edge gateway: local ingest and alarms at a site, store and forward to the platform."""
        groups: dict[str, dict[str, Any]] = {}
        if mqtt_port is not None:
            groups["mqtt"] = {"embedded_port": mqtt_port}
        if coap_port is not None:
            groups["coap"] = {"port": coap_port}
        run_edge(host, port, data_dir, {"upstream": upstream, "token": token, "hmac_secret": hmac_secret,
                                        "forward": forward.value if forward else None}, **groups)
