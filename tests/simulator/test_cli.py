from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from typer.testing import CliRunner

from ghgwatch.cli.simulate import register
from tests.simulator.conftest import Ingest


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """Test harness: a group, so the command is called by name as in ``ghgwatch simulate``."""

    register(app)
    return app


def _write(tmp_path: Path, credentials: dict[str, Any]) -> Path:
    path = tmp_path / "demo-credentials.json"
    path.write_text(json.dumps(credentials))
    return path


def test_simulate_sends_and_prints_a_summary(tmp_path: Path, credentials: dict[str, Any], ingest_server: str) -> None:
    credentials["api"] = ingest_server
    result = CliRunner().invoke(_app(), [
        "simulate", "--credentials", str(_write(tmp_path, credentials)), "--rate", "100", "--duration", "0.3",
        "--sign", "--no-events", "--dropout", "0", "--batch-size", "20"])
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[1].strip(): line.split("│")[2].strip()
            for line in result.output.splitlines() if line.count("│") == 3}
    assert rows["generated"] == rows["sent"] == rows["accepted"] == "30"
    assert rows["retries"] == "1" and rows["dropped"] == "0"  # the server answers 503 once
    assert "event " not in result.output
    assert sum(len(json.loads(body)["readings"]) for _, body in Ingest.calls[1:]) == 30


def test_simulate_lists_the_scripted_events(tmp_path: Path, credentials: dict[str, Any], ingest_server: str) -> None:
    credentials["api"] = ingest_server
    result = CliRunner().invoke(_app(), ["simulate", "--credentials", str(_write(tmp_path, credentials)),
                                         "--duration", "0"])
    assert result.exit_code == 0, result.output
    assert "event methane_buildup at +60 s for 180 s: CH4 longwall outgoing air" in result.output
    assert "event stuck at +90 s" in result.output and "event silent at +120 s" in result.output


def test_simulate_refuses_bad_input(tmp_path: Path, credentials: dict[str, Any]) -> None:
    runner = CliRunner()
    missing = runner.invoke(_app(), ["simulate", "--credentials", str(tmp_path / "nope.json")])
    assert missing.exit_code == 2 and "error" in missing.output
    path = _write(tmp_path, credentials)
    assert runner.invoke(_app(), ["simulate", "--credentials", str(path), "--rate", "0"]).exit_code == 2
    no_broker = runner.invoke(_app(), ["simulate", "--credentials", str(path), "--transport", "mqtt",
                                       "--duration", "0.1"])
    assert no_broker.exit_code == 2 and "broker URL" in no_broker.output
