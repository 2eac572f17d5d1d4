from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from ._support import COMPOSE_TOKEN_FILE, DEPLOY, REPO, require_tool

PROM = DEPLOY / "prometheus"
pytestmark = pytest.mark.prometheus


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)


def test_example_config_and_rule_files_check(tmp_path: Path) -> None:
    """promtool checks the shipped file as it is, but for the path of the token file (the compose secret's mount
    point does not exist outside the container)."""
    promtool = require_tool("promtool")
    shutil.copytree(PROM, tmp_path / "prometheus")
    config = tmp_path / "prometheus" / "prometheus.yml"
    text = config.read_text(encoding="utf-8")
    assert text.count(COMPOSE_TOKEN_FILE) == 1
    (tmp_path / "metrics_token").write_text("token")
    config.write_text(text.replace(COMPOSE_TOKEN_FILE, str(tmp_path / "metrics_token")), encoding="utf-8")
    result = run(promtool, "check", "config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 rule files found" in result.stdout + result.stderr
    missing = run(promtool, "check", "config", str(PROM / "prometheus.yml"))  # the token file is really read
    assert missing.returncode != 0 and COMPOSE_TOKEN_FILE in missing.stdout + missing.stderr


def test_prometheus_sends_the_metrics_token_in_compose_and_kubernetes() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
    assert compose["services"]["prometheus"]["secrets"] == ["metrics_token"]  # mounted at /run/secrets/<name>
    assert COMPOSE_TOKEN_FILE == "/run/secrets/metrics_token"
    assert compose["secrets"]["metrics_token"] == {"environment": "GHGWATCH_METRICS_TOKEN"}
    env = compose["x-ghgwatch-env"]
    assert env["GHGWATCH_OBSERVABILITY__METRICS_TOKEN"] == "${GHGWATCH_METRICS_TOKEN:?set GHGWATCH_METRICS_TOKEN}"
    monitor = yaml.safe_load((DEPLOY / "k8s" / "base" / "servicemonitor.yaml").read_text(encoding="utf-8"))
    secret = yaml.safe_load((DEPLOY / "k8s" / "base" / "secret.yaml").read_text(encoding="utf-8"))
    credentials = monitor["spec"]["endpoints"][0]["authorization"]["credentials"]
    assert monitor["spec"]["endpoints"][0]["authorization"]["type"] == "Bearer"
    assert credentials["name"] == secret["metadata"]["name"]
    assert credentials["key"] == "GHGWATCH_OBSERVABILITY__METRICS_TOKEN" in secret["stringData"]


@pytest.mark.parametrize("test_file", sorted((PROM / "tests").glob("*.yml")), ids=lambda p: p.name)
def test_promtool_unit_tests_pass(test_file: object) -> None:
    promtool = require_tool("promtool")
    result = run(promtool, "test", "rules", str(test_file))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_has_a_unit_test_that_fires_it() -> None:
    alerts = {
        rule["alert"]
        for group in yaml.safe_load((PROM / "rules" / "alerts.yml").read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }
    fired: set[str] = set()
    for path in (PROM / "tests").glob("*.yml"):
        for case in yaml.safe_load(path.read_text())["tests"]:
            fired |= {t["alertname"] for t in case.get("alert_rule_test", []) if t.get("exp_alerts")}
    assert alerts, "no alert rules found"
    assert alerts <= fired, f"alerts never tested firing: {sorted(alerts - fired)}"


def test_alerts_have_severity_and_summary() -> None:
    for group in yaml.safe_load((PROM / "rules" / "alerts.yml").read_text())["groups"]:
        for rule in group["rules"]:
            assert rule["labels"]["severity"] in {"info", "warning", "critical"}, rule["alert"]
            assert rule["annotations"]["summary"], rule["alert"]
