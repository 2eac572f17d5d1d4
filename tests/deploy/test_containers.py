"""Dockerfile (hadolint) and docker-compose.yml (Compose spec schema and our own rules)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from ._support import REPO, load_yaml_documents

ROLES = ("api", "pipeline", "mqtt", "analytics", "ui")
VENV_BIN = Path(sys.executable).parent


def venv_tool(name: str) -> str:
    path = VENV_BIN / name
    found = str(path) if path.exists() else shutil.which(name)
    assert found, f"{name} is a dev dependency and must be installed"
    return found


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False, cwd=REPO)


def compose() -> dict[str, Any]:
    (doc,) = load_yaml_documents(REPO / "docker-compose.yml")
    assert isinstance(doc, dict)
    return doc


def test_hadolint_passes() -> None:
    result = run(venv_tool("hadolint"), "--no-color", "Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_can_fail(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN pip install requests\n")
    assert run(venv_tool("hadolint"), "--no-color", str(bad)).returncode != 0


def test_dockerfile_contract() -> None:
    text = (REPO / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", text, re.M)) >= 2, "multi-stage"
    users = re.findall(r"^USER (\S+)", text, re.M)
    assert users, "no USER"
    assert not users[-1].startswith(("root", "0")), "final user must not be root"
    assert re.search(r"^HEALTHCHECK .*", text, re.M)
    assert "/healthz" in text
    assert 'ENTRYPOINT ["ghgwatch"]' in text
    assert 'CMD ["serve", "--role", "all"]' in text


def test_dockerignore_keeps_the_context_small() -> None:
    lines = (REPO / ".dockerignore").read_text().split()
    assert lines[lines.index("*") :][:1] == ["*"]
    assert {"!src/", "!pyproject.toml"} <= set(lines)


def test_compose_matches_the_compose_spec() -> None:
    result = run(venv_tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", "docker-compose.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_schema_check_can_fail(tmp_path: Path) -> None:
    doc = compose()
    doc["services"]["api"]["depends_on"]["migrate"]["condition"] = "when_it_feels_like_it"
    bad = tmp_path / "compose.yml"
    bad.write_text(yaml.safe_dump(doc))
    result = run(venv_tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(bad))
    assert result.returncode != 0


def test_compose_has_the_infrastructure_and_kafka_runs_kraft() -> None:
    services = compose()["services"]
    assert {"kafka", "postgres", "mosquitto", "prometheus", "grafana", "migrate"} <= set(services)
    kafka = services["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    assert kafka["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert not any("ZOOKEEPER" in key for key in kafka["environment"])
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", kafka["environment"]["CLUSTER_ID"])


@pytest.mark.parametrize("role", ROLES)
def test_one_service_per_role_after_migrations(role: str) -> None:
    service = compose()["services"][role]
    assert service["command"] == ["serve", "--role", role]
    assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    env = service["environment"]
    assert env["GHGWATCH_MODE"] == "cluster"
    assert env["GHGWATCH_DB__URL"].startswith("postgresql+asyncpg://")
    assert env["GHGWATCH_BUS__URL"] == "kafka://kafka:9092"
    assert env["GHGWATCH_MQTT__URL"].startswith("mqtt://")
    assert env["GHGWATCH_SECURITY__JWT_SECRET"]
    assert "/healthz" in " ".join(service["healthcheck"]["test"])


def test_migration_job_runs_db_upgrade_once() -> None:
    migrate = compose()["services"]["migrate"]
    assert migrate["command"] == ["db", "upgrade"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_no_secret_has_a_default_value() -> None:
    text = (REPO / "docker-compose.yml").read_text()
    for name in ("POSTGRES_PASSWORD", "MQTT_PASSWORD", "GHGWATCH_JWT_SECRET", "GRAFANA_ADMIN_PASSWORD",
                 "GHGWATCH_METRICS_TOKEN"):
        uses = re.findall(r"\$\{" + name + r"([^}]*)\}", text)
        assert uses, name
        assert all(u.startswith(":?") for u in uses), f"{name} must be required, not defaulted: {uses}"


def test_prometheus_and_grafana_mount_the_files_in_deploy() -> None:
    services = compose()["services"]
    assert "./deploy/prometheus:/etc/prometheus:ro" in services["prometheus"]["volumes"]
    assert "./deploy/grafana/provisioning:/etc/grafana/provisioning:ro" in services["grafana"]["volumes"]
    for volume in services["prometheus"]["volumes"] + services["grafana"]["volumes"]:
        source = volume.split(":")[0]
        if source.startswith("./"):
            assert (REPO / source).exists(), source
