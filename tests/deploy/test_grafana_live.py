"""Every dashboard query, run against a real Prometheus that scrapes a running ghgwatch."""

from __future__ import annotations

import contextlib
import json
import time
from typing import Any

import pytest

from ._promql import metric_names, substitute
from ._support import DEPLOY, PrometheusServer, wait_until

pytestmark = pytest.mark.prometheus


def all_queries() -> list[tuple[str, str]]:
    """(where, expr) for every panel target and every query variable of every dashboard."""
    queries: list[tuple[str, str]] = []
    for path in sorted((DEPLOY / "grafana" / "dashboards").glob("*.json")):
        dashboard: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        queries.extend(
            (f"{path.name}: {panel['title']} [{target['refId']}]", target["expr"])
            for panel in dashboard["panels"]
            for target in panel["targets"]
        )
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


def test_the_target_exports_every_metric_the_dashboards_use(prometheus: PrometheusServer) -> None:
    needed = set()
    for _, expr in all_queries():
        metric = _label_values_metric(expr)
        needed |= {metric} if metric else metric_names(substitute(expr))
    # Recorded series appear after the first rule evaluation, a second or two after the first scrape.
    with contextlib.suppress(TimeoutError):
        wait_until(lambda: needed <= prometheus.metric_names(), timeout=60, what="all dashboard metrics")
    missing = needed - prometheus.metric_names()
    assert not missing, f"dashboards query metrics that Prometheus has not scraped or recorded: {missing}"


def test_every_dashboard_query_is_valid(prometheus: PrometheusServer) -> None:
    names = prometheus.metric_names()
    failures = []
    now = str(time.time())
    for where, expr in all_queries():
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
