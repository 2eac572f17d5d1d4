from __future__ import annotations

import subprocess

import pytest
import yaml

from ._support import DEPLOY, require_tool

PROM = DEPLOY / "prometheus"
pytestmark = pytest.mark.prometheus


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)


def test_example_config_and_rule_files_check() -> None:
    promtool = require_tool("promtool")
    result = run(promtool, "check", "config", str(PROM / "prometheus.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 rule files found" in result.stdout + result.stderr


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
