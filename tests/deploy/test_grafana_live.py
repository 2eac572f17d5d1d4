"""Every dashboard query, run against a real Prometheus that scrapes a running ghgwatch.

The target is ``ghgwatch up --demo`` (every role, demo telemetry). A dashboard listed in
:data:`SYNTHETIC_DASHBOARDS` is checked against the synthetic endpoint instead, for the reason given
there; :func:`test_synthetic_dashboards_really_need_the_synthetic_target` fails as soon as the app
exports everything such a dashboard needs, so the exception cannot outlive its reason.
"""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path
from typing import Any

import pytest

from ._promql import metric_names, substitute
from ._support import DEPLOY, PrometheusServer, wait_until

pytestmark = pytest.mark.prometheus

DASHBOARDS = sorted((DEPLOY / "grafana" / "dashboards").glob("*.json"))

SYNTHETIC_DASHBOARDS: dict[str, str] = {}
"""None at present: the demo forecasts the longwall methane (``analytics/demo.py``), so the analytics dashboard's
forecast-vs-actual series come from the app too."""


def dashboard_queries(path: Path) -> list[tuple[str, str]]:
    """(where, expr) for every panel target and every query variable of one dashboard."""
    dashboard: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    queries = [
        (f"{path.name}: {panel['title']} [{target['refId']}]", target["expr"])
        for panel in dashboard["panels"]
        for target in panel["targets"]
    ]
    queries.extend(
        (f"{path.name}: variable {variable['name']}", variable["definition"])
        for variable in dashboard["templating"]["list"]
        if variable["type"] == "query"
    )
    return queries


def _label_values_metric(expr: str) -> str | None:
    if expr.startswith("label_values("):
        return expr.removeprefix("label_values(").split(",")[0].strip()
    return None


def needed_metrics(path: Path) -> set[str]:
    needed: set[str] = set()
    for _, expr in dashboard_queries(path):
        metric = _label_values_metric(expr)
        needed |= {metric} if metric else metric_names(substitute(expr))
    return needed


def prometheus_for(request: pytest.FixtureRequest, path: Path) -> PrometheusServer:
    name = "synthetic_prometheus" if path.name in SYNTHETIC_DASHBOARDS else "prometheus"
    server: PrometheusServer = request.getfixturevalue(name)
    return server


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_the_target_exports_every_metric_the_dashboard_uses(request: pytest.FixtureRequest, path: Path) -> None:
    prometheus = prometheus_for(request, path)
    needed = needed_metrics(path)
    # Recorded series appear after the first rule evaluation, a second or two after the first scrape.
    with contextlib.suppress(TimeoutError):
        wait_until(lambda: needed <= prometheus.metric_names(), timeout=60, what="all dashboard metrics")
    missing = needed - prometheus.metric_names()
    assert not missing, f"{path.name} queries metrics that Prometheus has not scraped or recorded: {missing}"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_every_dashboard_query_is_valid(request: pytest.FixtureRequest, path: Path) -> None:
    prometheus = prometheus_for(request, path)
    names = prometheus.metric_names()
    failures = []
    now = str(time.time())
    for where, expr in dashboard_queries(path):
        metric = _label_values_metric(expr)
        if metric is not None:
            body = prometheus.api("label/" + expr.split(",")[1].strip(" )") + "/values", **{"match[]": metric})
            if body["status"] != "success" or not body["data"]:
                failures.append(f"{where}: no values for {expr}")
            continue
        query = substitute(expr)
        body = prometheus.api("query", query=query, time=now)
        if body.get("status") != "success":
            failures.append(f"{where}: {body.get('errorType')}: {body.get('error')} in {query}")
        unknown = metric_names(query) - names
        if unknown:
            failures.append(f"{where}: unknown metrics {sorted(unknown)}")
    assert not failures, "\n".join(failures)


def test_synthetic_dashboards_really_need_the_synthetic_target(prometheus: PrometheusServer) -> None:
    for name, reason in SYNTHETIC_DASHBOARDS.items():
        missing = needed_metrics(DEPLOY / "grafana" / "dashboards" / name) - prometheus.metric_names()
        assert missing, f"the app now exports every metric of {name}: check it against the app ({reason})"


def test_a_broken_query_is_reported(prometheus: PrometheusServer) -> None:
    """The check above can fail: Prometheus refuses bad PromQL, and unknown names are caught."""
    assert prometheus.api("query", query="sum(rate(ghgwatch_ingest_readings_accepted_total[1m])")["status"] == "error"
    assert "ghgwatch_no_such_metric" not in prometheus.metric_names()


def test_methane_gauge_and_example_alert_rules_are_live(prometheus: PrometheusServer) -> None:
    body = prometheus.api("query", query='ghgwatch_sensor_value{kind="methane"}')
    assert body["status"] == "success"
    assert {r["metric"]["sensor"] for r in body["data"]["result"]}
    groups = prometheus.api("rules")["data"]["groups"]
    assert {g["name"] for g in groups} >= {
        "ghgwatch-recording",
        "ghgwatch-platform",
        "ghgwatch-methane-example",
    }
    assert all(r["health"] == "ok" for g in groups for r in g["rules"] if r.get("lastEvaluation")), groups


def test_the_demo_feeds_the_pipeline_and_the_emission_gauges(prometheus: PrometheusServer) -> None:
    """Scraped from the app, not synthesised: readings accepted, batches stored, measured CH4 rates > 0."""
    accepted = prometheus.api("query", query='sum(ghgwatch_ingest_readings_accepted_total{transport="http"})')
    assert float(accepted["data"]["result"][0]["value"][1]) > 0
    batches = prometheus.api("query", query="ghgwatch_pipeline_batch_size_count")
    assert float(batches["data"]["result"][0]["value"][1]) > 0
    rates = prometheus.api("query", query='ghgwatch_emission_rate_kg_per_hour{gas="methane"}')["data"]["result"]
    assert rates, "no measured methane emission rate"
    assert all(float(r["value"][1]) > 0 for r in rates)
    assert {"facility", "source"} <= set(rates[0]["metric"])
