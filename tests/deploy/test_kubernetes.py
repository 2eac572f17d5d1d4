"""Kustomize base and production overlay, validated strictly against the Kubernetes 1.30 schema.

Core kinds go through kubernetes-validate (strict: unknown fields fail). The Prometheus Operator CRDs
(ServiceMonitor, PrometheusRule) are not in that schema set; they are checked against the small
schemas in ``tests/deploy/schemas`` and the PrometheusRule's groups with ``promtool check rules``.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from ._support import DEPLOY, load_yaml_documents, require_tool

K8S = DEPLOY / "k8s"
BASE = K8S / "base"
SCHEMAS = Path(__file__).parent / "schemas"
K8S_VERSION = "1.30.0"
ROLES = ("api", "pipeline", "mqtt", "analytics", "ui")
CRD_SCHEMAS = {"ServiceMonitor": "servicemonitor.json", "PrometheusRule": "prometheusrule.json"}


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_manifests", K8S / "build_manifests.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def base_objects() -> list[dict[str, Any]]:
    (kustomization,) = load_yaml_documents(BASE / "kustomization.yaml")
    return [obj for name in kustomization["resources"] for obj in load_yaml_documents(BASE / name)]


def by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def validate(obj: dict[str, Any]) -> None:
    if obj["kind"] in CRD_SCHEMAS:
        schema = json.loads((SCHEMAS / CRD_SCHEMAS[obj["kind"]]).read_text())
        jsonschema.validate(obj, schema)
    else:
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


@pytest.fixture(scope="module")
def overlay() -> list[dict[str, Any]]:
    kubectl = require_tool("kubectl")  # kustomize is built into kubectl
    result = subprocess.run(
        [kubectl, "kustomize", str(K8S / "overlays" / "production")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def test_committed_manifests_match_the_generator() -> None:
    rendered = _generator().render_all()
    for name, text in rendered.items():
        assert (BASE / name).read_text(encoding="utf-8") == text, (
            f"deploy/k8s/base/{name} is stale: run python deploy/k8s/build_manifests.py"
        )
    assert {p.name for p in BASE.glob("*.yaml")} == set(rendered)


def test_every_base_object_validates_strictly() -> None:
    objects = base_objects()
    assert len(objects) >= 20
    for obj in objects:
        validate(obj)


def test_every_overlay_object_validates_strictly(overlay: list[dict[str, Any]]) -> None:
    for obj in overlay:
        validate(obj)
        if obj["kind"] != "Namespace":
            assert obj["metadata"]["namespace"] == "ghgwatch", obj["metadata"]["name"]


def test_strict_validation_can_fail() -> None:
    deployment = copy.deepcopy(by_kind(base_objects(), "Deployment")["ghgwatch-api"])
    deployment["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(deployment)
    monitor = copy.deepcopy(by_kind(base_objects(), "ServiceMonitor")["ghgwatch"])
    monitor["spec"]["endpoints"][0]["interval"] = "often"
    with pytest.raises(jsonschema.ValidationError):
        validate(monitor)


@pytest.mark.parametrize("role", ROLES)
def test_one_deployment_per_role_with_probes_resources_and_no_root(role: str) -> None:
    deployment = by_kind(base_objects(), "Deployment")[f"ghgwatch-{role}"]
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["args"] == ["serve", "--role", role]
    # Liveness does not depend on the database (a database outage must not restart every pod); readiness does.
    for probe, path in (("livenessProbe", "/livez"), ("readinessProbe", "/healthz"), ("startupProbe", "/healthz")):
        assert container[probe]["httpGet"]["path"] == path
        assert container[probe]["httpGet"]["port"] == "http"
    assert {"cpu", "memory"} <= set(container["resources"]["requests"])
    assert {"cpu", "memory"} <= set(container["resources"]["limits"])
    assert container["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    refs = {next(iter(ref.values()))["name"] for ref in container["envFrom"]}
    assert refs == {"ghgwatch-config", "ghgwatch-secrets"}
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod_labels(deployment).items()


def pod_labels(deployment: dict[str, Any]) -> dict[str, str]:
    labels: dict[str, str] = deployment["spec"]["template"]["metadata"]["labels"]
    return labels


def test_migration_job() -> None:
    job = by_kind(base_objects(), "Job")["ghgwatch-migrate"]
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["db", "upgrade"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "OnFailure"


def test_hpa_only_for_stateless_roles_and_targets_exist() -> None:
    objects = base_objects()
    deployments = by_kind(objects, "Deployment")
    hpas = by_kind(objects, "HorizontalPodAutoscaler")
    targets = {h["spec"]["scaleTargetRef"]["name"] for h in hpas.values()}
    assert targets == {"ghgwatch-api", "ghgwatch-ui"}
    assert targets <= set(deployments)
    for h in hpas.values():
        assert h["spec"]["minReplicas"] <= h["spec"]["maxReplicas"]


def test_services_pdbs_and_monitor_select_real_pods() -> None:
    objects = base_objects()
    pods = [pod_labels(d) for d in by_kind(objects, "Deployment").values()]

    def selects(selector: dict[str, str]) -> int:
        return sum(selector.items() <= labels.items() for labels in pods)

    for svc in by_kind(objects, "Service").values():
        assert selects(svc["spec"]["selector"]) == 1, svc["metadata"]["name"]
        assert svc["spec"]["ports"][0]["name"] == "http"
    for budget in by_kind(objects, "PodDisruptionBudget").values():
        assert selects(budget["spec"]["selector"]["matchLabels"]) == 1
    monitor = by_kind(objects, "ServiceMonitor")["ghgwatch"]
    services = by_kind(objects, "Service").values()
    matched = [
        s for s in services if monitor["spec"]["selector"]["matchLabels"].items() <= s["metadata"]["labels"].items()
    ]
    assert len(matched) == len(ROLES)
    assert monitor["spec"]["endpoints"][0]["port"] == "http"
    assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"
    for policy in by_kind(objects, "NetworkPolicy").values():
        assert selects(policy["spec"]["podSelector"]["matchLabels"]) >= 1


@pytest.mark.prometheus
def test_prometheus_rule_groups_pass_promtool(tmp_path: Path) -> None:
    promtool = require_tool("promtool")
    rule = by_kind(base_objects(), "PrometheusRule")["ghgwatch"]
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    result = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_overlay(overlay: list[dict[str, Any]]) -> None:
    assert not by_kind(overlay, "Secret"), "production must not ship the placeholder Secret"
    deployments = by_kind(overlay, "Deployment")
    assert set(deployments) == {f"ghgwatch-{r}" for r in ROLES}
    assert deployments["ghgwatch-pipeline"]["spec"]["replicas"] == 6
    images = {c["image"] for d in deployments.values() for c in d["spec"]["template"]["spec"]["containers"]}
    assert images == {"registry.example.org/ghgwatch:0.1.0"}
    assert (
        by_kind(overlay, "Namespace")["ghgwatch"]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"]
        == "restricted"
    )
