"""Generate the kustomize base in ``deploy/k8s/base/`` (one Deployment per role, and the rest).

Run ``python deploy/k8s/build_manifests.py`` after editing; the tests fail when the committed YAML
differs from this script's output. The role table below is the single place where replicas,
resources, autoscaling and exposure of each role are decided. The PrometheusRule is built from
``deploy/prometheus/rules/*.yml`` so that Kubernetes and docker-compose use the same rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
BASE = HERE / "base"
RULES = HERE.parent / "prometheus" / "rules"
NAME = "ghgwatch"
IMAGE = "ghgwatch:0.1.0"
PORT = 8000
UID = 10001


@dataclass(frozen=True)
class Role:
    name: str
    replicas: int
    cpu: tuple[str, str]  # request, limit
    memory: tuple[str, str]
    hpa_max: int = 0  # 0: no HorizontalPodAutoscaler (stateful or singleton role)
    public: bool = False  # reachable from outside the namespace (ingress controller)


ROLES = (
    Role("api", 2, ("250m", "1"), ("256Mi", "512Mi"), hpa_max=10, public=True),
    # Pipeline replicas form one consumer group: more replicas than partitions of readings.raw.v1 idle.
    Role("pipeline", 2, ("500m", "2"), ("512Mi", "1Gi")),
    # One MQTT bridge: plain subscriptions deliver every message to every replica.
    Role("mqtt", 1, ("100m", "500m"), ("128Mi", "256Mi")),
    # Analytics runs scheduled jobs (rollups catch-up, forecasts): one replica.
    Role("analytics", 1, ("500m", "2"), ("1Gi", "2Gi")),
    Role("ui", 2, ("100m", "500m"), ("128Mi", "256Mi"), hpa_max=6, public=True),
)


def labels(component: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": NAME, "app.kubernetes.io/component": component}


def meta(name: str, component: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "labels": {**labels(component), "app.kubernetes.io/part-of": NAME}, **extra}


def container_security() -> dict[str, Any]:
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "runAsUser": UID,
        "runAsGroup": UID,
        "capabilities": {"drop": ["ALL"]},
    }


def pod_spec(component: str, args: list[str], cpu: tuple[str, str], memory: tuple[str, str]) -> dict[str, Any]:
    # Readiness (and start-up) ask /healthz, which checks the database; liveness asks /livez, which does not,
    # so that a database outage takes pods out of service instead of restarting them all.
    probe = {"httpGet": {"path": "/healthz", "port": "http"}, "timeoutSeconds": 3}
    live = {"httpGet": {"path": "/livez", "port": "http"}, "timeoutSeconds": 3}
    container: dict[str, Any] = {
        "name": NAME,
        "image": IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "args": args,
        "envFrom": [{"configMapRef": {"name": f"{NAME}-config"}}, {"secretRef": {"name": f"{NAME}-secrets"}}],
        "resources": {
            "requests": {"cpu": cpu[0], "memory": memory[0]},
            "limits": {"cpu": cpu[1], "memory": memory[1]},
        },
        "securityContext": container_security(),
        "volumeMounts": [
            {"name": "data", "mountPath": "/var/lib/ghgwatch"},
            {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108 (an emptyDir in the pod)
        ],
    }
    if component != "migrate":
        container["ports"] = [{"name": "http", "containerPort": PORT, "protocol": "TCP"}]
        container["startupProbe"] = {**probe, "periodSeconds": 2, "failureThreshold": 30}
        container["livenessProbe"] = {**live, "periodSeconds": 10, "failureThreshold": 3}
        container["readinessProbe"] = {**probe, "periodSeconds": 5, "failureThreshold": 2}
    return {
        "serviceAccountName": NAME,
        "automountServiceAccountToken": False,
        "securityContext": {"runAsNonRoot": True, "fsGroup": UID, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [container],
        "volumes": [{"name": "data", "emptyDir": {}}, {"name": "tmp", "emptyDir": {"medium": "Memory"}}],
    }


def deployment(role: Role) -> dict[str, Any]:
    spec = pod_spec(role.name, ["serve", "--role", role.name], role.cpu, role.memory)
    spec["terminationGracePeriodSeconds"] = 30
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta(f"{NAME}-{role.name}", role.name),
        "spec": {
            "replicas": role.replicas,
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": labels(role.name)},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {"metadata": {"labels": labels(role.name)}, "spec": spec},
        },
    }


def service(role: Role) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta(f"{NAME}-{role.name}", role.name),
        "spec": {
            "selector": labels(role.name),
            "ports": [{"name": "http", "port": PORT, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def hpa(role: Role) -> dict[str, Any]:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": meta(f"{NAME}-{role.name}", role.name),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": f"{NAME}-{role.name}"},
            "minReplicas": role.replicas,
            "maxReplicas": role.hpa_max,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}},
                }
            ],
        },
    }


def pdb(role: Role) -> dict[str, Any]:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": meta(f"{NAME}-{role.name}", role.name),
        # maxUnavailable, not minAvailable: a one-replica role must still let a node drain.
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": labels(role.name)}},
    }


def migrate_job() -> dict[str, Any]:
    spec = pod_spec("migrate", ["db", "upgrade"], ("100m", "500m"), ("128Mi", "256Mi"))
    spec["restartPolicy"] = "OnFailure"
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": meta(
            f"{NAME}-migrate",
            "migrate",
            annotations={
                # Argo CD / Flux-style hooks: run before the roles are synced.
                "argocd.argoproj.io/hook": "PreSync",
                "argocd.argoproj.io/hook-delete-policy": "BeforeHookCreation",
            },
        ),
        "spec": {
            "backoffLimit": 3,
            "activeDeadlineSeconds": 900,
            "ttlSecondsAfterFinished": 86400,
            "template": {"metadata": {"labels": labels("migrate")}, "spec": spec},
        },
    }


def network_policies() -> list[dict[str, Any]]:
    pods = {"matchLabels": {"app.kubernetes.io/name": NAME}}
    http = [{"protocol": "TCP", "port": PORT}]
    policies: list[dict[str, Any]] = [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": meta(f"{NAME}-default-deny-ingress", "network"),
            "spec": {"podSelector": pods, "policyTypes": ["Ingress"], "ingress": []},
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": meta(f"{NAME}-allow-metrics", "network"),
            "spec": {
                "podSelector": pods,
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}],
                        "ports": http,
                    }
                ],
            },
        },
    ]
    policies.extend(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": meta(f"{NAME}-allow-{role.name}", role.name),
            "spec": {
                "podSelector": {"matchLabels": labels(role.name)},
                "policyTypes": ["Ingress"],
                "ingress": [{"ports": http}],
            },
        }
        for role in ROLES
        if role.public
    )
    return policies


def service_monitor() -> dict[str, Any]:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": meta(NAME, "monitoring"),
        "spec": {
            "selector": {"matchLabels": {"app.kubernetes.io/name": NAME}},
            # /metrics shows per-sensor series only with this token (docs/security.md); the Secret is the pods' own.
            "endpoints": [{"port": "http", "path": "/metrics", "interval": "15s", "scrapeTimeout": "10s",
                           "authorization": {"type": "Bearer", "credentials": {
                               "name": f"{NAME}-secrets", "key": "GHGWATCH_OBSERVABILITY__METRICS_TOKEN"}}}],
        },
    }


def prometheus_rule() -> dict[str, Any]:
    groups: list[Any] = []
    for path in sorted(RULES.glob("*.yml")):
        groups.extend(yaml.safe_load(path.read_text(encoding="utf-8"))["groups"])
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": meta(NAME, "monitoring"),
        "spec": {"groups": groups},
    }


def config_map() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta(f"{NAME}-config", "config"),
        "data": {
            "GHGWATCH_MODE": "cluster",
            "GHGWATCH_DATA_DIR": "/var/lib/ghgwatch",
            "GHGWATCH_API__HOST": "0.0.0.0",  # noqa: S104 (inside the pod; NetworkPolicy restricts)
            "GHGWATCH_API__PORT": str(PORT),
            "GHGWATCH_BUS__URL": "kafka://kafka.kafka.svc:9092",
        },
    }


def secret() -> dict[str, Any]:
    # Placeholders for a first try; the production overlay deletes this object and expects the
    # Secret to be created out of band (kubectl create secret, External Secrets, Sealed Secrets).
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": meta(f"{NAME}-secrets", "config"),
        "type": "Opaque",
        "stringData": {
            "GHGWATCH_DB__URL": "postgresql+asyncpg://ghgwatch:CHANGE-ME@postgres.db.svc:5432/ghgwatch",
            "GHGWATCH_MQTT__URL": "mqtt://ghgwatch-bridge:CHANGE-ME@mosquitto.mqtt.svc:1883",
            # Placeholders: ghgwatch refuses to start in cluster mode while any secret still holds CHANGE-ME.
            "GHGWATCH_SECURITY__JWT_SECRET": "CHANGE-ME",
            "GHGWATCH_SECURITY__SECRETS_KEY": "CHANGE-ME",
            "GHGWATCH_OBSERVABILITY__METRICS_TOKEN": "CHANGE-ME",
            "GHGWATCH_SECURITY__AUDIT_KEY": "CHANGE-ME",
        },
    }


def service_account() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": meta(NAME, "identity"),
        "automountServiceAccountToken": False,
    }


def files() -> dict[str, list[dict[str, Any]]]:
    return {
        "serviceaccount.yaml": [service_account()],
        "configmap.yaml": [config_map()],
        "secret.yaml": [secret()],
        "migrate-job.yaml": [migrate_job()],
        "deployments.yaml": [deployment(r) for r in ROLES],
        "services.yaml": [service(r) for r in ROLES],
        "hpa.yaml": [hpa(r) for r in ROLES if r.hpa_max],
        "pdb.yaml": [pdb(r) for r in ROLES],
        "networkpolicy.yaml": network_policies(),
        "servicemonitor.yaml": [service_monitor()],
        "prometheusrule.yaml": [prometheus_rule()],
    }


HEADER = "# Generated by deploy/k8s/build_manifests.py: edit the script, not this file.\n"


def render_all() -> dict[str, str]:
    out = {
        name: HEADER + yaml.safe_dump_all(docs, sort_keys=False, explicit_start=True, width=120)
        for name, docs in files().items()
    }
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": list(files()),
    }
    out["kustomization.yaml"] = HEADER + yaml.safe_dump(kustomization, sort_keys=False)
    return out


def main() -> None:
    BASE.mkdir(parents=True, exist_ok=True)
    for name, text in render_all().items():
        (BASE / name).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
