"""Generate the Grafana dashboards in ``deploy/grafana/dashboards/`` from the panel lists below.

Run ``python deploy/grafana/build_dashboards.py`` after editing; the tests fail when the committed JSON
differs from what this script produces. Layout is computed (no hand-placed gridPos), every panel and
target uses the provisioned datasource uid, and queries use only metrics from
``ghgwatch.observability.metrics`` and the recording rules in ``deploy/prometheus/rules``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DATASOURCE_UID = "ghgwatch-prometheus"
DATASOURCE = {"type": "prometheus", "uid": DATASOURCE_UID}
OUT = Path(__file__).resolve().parent / "dashboards"
GRID_WIDTH = 24


@dataclass(frozen=True)
class Target:
    expr: str
    legend: str = ""


@dataclass(frozen=True)
class Panel:
    title: str
    targets: tuple[Target, ...]
    kind: str = "timeseries"
    unit: str = "short"
    width: int = 12
    height: int = 8
    description: str = ""
    thresholds: tuple[float, ...] = ()


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    panels: tuple[Panel, ...]
    tags: tuple[str, ...] = ("ghgwatch",)
    variables: tuple[dict[str, Any], ...] = field(default_factory=tuple)


def q(expr: str, legend: str = "") -> Target:
    return Target(expr, legend)


def query_variable(name: str, label: str, query: str) -> dict[str, Any]:
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DATASOURCE,
        "query": {"query": query, "refId": f"var-{name}"},
        "definition": query,
        "refresh": 2,
        "includeAll": True,
        "multi": True,
        "allValue": ".*",
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "sort": 1,
    }


RATE = "$__rate_interval"

PLATFORM = Dashboard(
    uid="ghgwatch-platform",
    title="ghgwatch / Platform health",
    panels=(
        Panel("Targets up", (q('sum(up{job=~"ghgwatch.*"})'),), kind="stat", width=6, height=4),
        Panel(
            "Readings accepted / s",
            (q(f"sum(rate(ghgwatch_ingest_readings_accepted_total[{RATE}]))"),),
            kind="stat",
            unit="reqps",
            width=6,
            height=4,
        ),
        Panel(
            "Rejected share (5 m)",
            (q("ghgwatch:ingest_rejected:ratio5m"),),
            kind="stat",
            unit="percentunit",
            width=6,
            height=4,
            thresholds=(0.01, 0.05),
        ),
        Panel(
            "Accept-to-stored p99 (5 m)",
            (q("ghgwatch:accept_to_stored:p99_5m"),),
            kind="stat",
            unit="s",
            width=6,
            height=4,
            thresholds=(1.0, 2.0),
        ),
        Panel(
            "Readings accepted by transport",
            (
                q(
                    f"sum by (transport) (rate(ghgwatch_ingest_readings_accepted_total[{RATE}]))",
                    "{{transport}}",
                ),
            ),
            unit="reqps",
        ),
        Panel(
            "Readings rejected by reason",
            (q(f"sum by (reason) (rate(ghgwatch_ingest_readings_rejected_total[{RATE}]))", "{{reason}}"),),
            unit="reqps",
        ),
        Panel(
            "Ingest request p95 by transport",
            (
                q(
                    "histogram_quantile(0.95, sum by (le, transport) "
                    f"(rate(ghgwatch_ingest_request_duration_seconds_bucket[{RATE}])))",
                    "{{transport}}",
                ),
            ),
            unit="s",
        ),
        Panel(
            "Accept-to-stored latency",
            (
                q(
                    "histogram_quantile(0.5, sum by (le) "
                    f"(rate(ghgwatch_pipeline_accept_to_stored_seconds_bucket[{RATE}])))",
                    "p50",
                ),
                q(
                    "histogram_quantile(0.99, sum by (le) "
                    f"(rate(ghgwatch_pipeline_accept_to_stored_seconds_bucket[{RATE}])))",
                    "p99",
                ),
            ),
            unit="s",
            thresholds=(2.0,),
        ),
        Panel(
            "Bus consumer lag",
            (q("max by (group, topic) (ghgwatch_bus_consumer_lag)", "{{group}} / {{topic}}"),),
        ),
        Panel(
            "Bus publish p99 by topic",
            (
                q(
                    "histogram_quantile(0.99, sum by (le, topic) "
                    f"(rate(ghgwatch_bus_publish_duration_seconds_bucket[{RATE}])))",
                    "{{topic}}",
                ),
            ),
            unit="s",
        ),
        Panel(
            "Pipeline batch size (mean) and batches / s",
            (
                q(
                    f"sum(rate(ghgwatch_pipeline_batch_size_sum[{RATE}])) "
                    f"/ clamp_min(sum(rate(ghgwatch_pipeline_batch_size_count[{RATE}])), 1e-9)",
                    "readings per batch",
                ),
                q(f"sum(rate(ghgwatch_pipeline_batch_duration_seconds_count[{RATE}]))", "batches / s"),
            ),
        ),
        Panel(
            "Pipeline batch duration p95",
            (
                q(
                    "histogram_quantile(0.95, sum by (le) "
                    f"(rate(ghgwatch_pipeline_batch_duration_seconds_bucket[{RATE}])))",
                    "p95",
                ),
            ),
            unit="s",
        ),
        Panel(
            "Store write p99 by table",
            (
                q(
                    "histogram_quantile(0.99, sum by (le, table) "
                    f"(rate(ghgwatch_store_write_duration_seconds_bucket[{RATE}])))",
                    "{{table}}",
                ),
            ),
            unit="s",
        ),
        Panel(
            "Store query p99 by query",
            (
                q(
                    "histogram_quantile(0.99, sum by (le, query) "
                    f"(rate(ghgwatch_store_query_duration_seconds_bucket[{RATE}])))",
                    "{{query}}",
                ),
            ),
            unit="s",
        ),
        Panel(
            "Notifications by channel and outcome",
            (
                q(
                    f"sum by (channel, outcome) (rate(ghgwatch_notifications_total[{RATE}]))",
                    "{{channel}} {{outcome}}",
                ),
            ),
            unit="reqps",
        ),
        Panel(
            "Per-sensor series exported",
            (
                q("sum(ghgwatch_sensor_series)", "exported"),
                q("max(ghgwatch_sensor_series_limit)", "limit"),
                q(f"sum(increase(ghgwatch_sensor_series_dropped_total[{RATE}]))", "dropped updates"),
            ),
        ),
        Panel(
            "Resident memory by instance",
            (q('process_resident_memory_bytes{job=~"ghgwatch.*"}', "{{instance}}"),),
            unit="bytes",
        ),
        Panel(
            "Versions and roles",
            (q("ghgwatch_build_info", "{{role}} {{version}} ({{mode}})"),),
            kind="table",
        ),
    ),
)

FACILITY = 'facility=~"$facility"'
EMISSIONS = Dashboard(
    uid="ghgwatch-emissions",
    title="ghgwatch / Emissions and gas",
    tags=("ghgwatch", "emissions"),
    variables=(query_variable("facility", "Facility", "label_values(ghgwatch_sensor_value, facility)"),),
    panels=(
        Panel(
            "Max methane by facility",
            (q(f'max by (facility) (ghgwatch_sensor_value{{kind="methane", {FACILITY}}})', "{{facility}}"),),
            kind="stat",
            unit="percent",
            width=12,
            height=4,
            thresholds=(1.0, 2.0),
        ),
        Panel(
            "Alerts opened (24 h)",
            (q("sum by (severity) (increase(ghgwatch_alerts_opened_total[24h]))", "{{severity}}"),),
            kind="stat",
            width=12,
            height=4,
        ),
        Panel(
            "Methane concentration by sensor (% vol)",
            (q(f'ghgwatch_sensor_value{{kind="methane", {FACILITY}}}', "{{facility}} {{sensor}}"),),
            unit="percent",
            thresholds=(1.0, 2.0),
            description="1 % and 2 % are the limits of the mine safety rules (METHODOLOGY.md 2.3).",
        ),
        Panel(
            "CO2 concentration by sensor",
            (q(f'ghgwatch_sensor_value{{kind="co2", {FACILITY}}}', "{{facility}} {{sensor}}"),),
            unit="percent",
        ),
        Panel(
            "Methane emission rate by source (kg/h)",
            (
                q(
                    f'sum by (facility, source) (ghgwatch_emission_rate_kg_per_hour{{gas="methane", {FACILITY}}})',
                    "{{facility}} {{source}}",
                ),
            ),
            unit="kg/h",
        ),
        Panel(
            "CO2 emission rate by source (kg/h)",
            (
                q(
                    f'sum by (facility, source) (ghgwatch_emission_rate_kg_per_hour{{gas="co2", {FACILITY}}})',
                    "{{facility}} {{source}}",
                ),
            ),
            unit="kg/h",
        ),
        Panel(
            "Emission rate by facility and gas (t/h)",
            (
                q(
                    f"sum by (facility, gas) (ghgwatch_emission_rate_kg_per_hour{{{FACILITY}}}) / 1000",
                    "{{facility}} {{gas}}",
                ),
            ),
            unit="t/h",
        ),
        Panel(
            "Alerts opened by severity and condition (per hour)",
            (
                q(
                    "sum by (severity, condition) (increase(ghgwatch_alerts_opened_total[1h]))",
                    "{{severity}} {{condition}}",
                ),
            ),
        ),
    ),
)

SENSOR = 'sensor=~"$sensor"'
ANALYTICS = Dashboard(
    uid="ghgwatch-analytics",
    title="ghgwatch / Analytics and forecasts",
    tags=("ghgwatch", "analytics"),
    variables=(query_variable("sensor", "Sensor", "label_values(ghgwatch_sensor_forecast, sensor)"),),
    panels=(
        Panel(
            "Forecast vs actual",
            (
                q(f"ghgwatch_sensor_value{{{SENSOR}}}", "actual {{sensor}}"),
                q(f"ghgwatch_sensor_forecast{{{SENSOR}}}", "forecast {{sensor}}"),
            ),
            width=24,
            height=9,
        ),
        Panel(
            "Forecast error (actual - forecast)",
            (
                q(
                    f"ghgwatch_sensor_value{{{SENSOR}}} - on (sensor, kind, facility) "
                    f"ghgwatch_sensor_forecast{{{SENSOR}}}",
                    "{{sensor}}",
                ),
            ),
        ),
        Panel(
            "Forecast absolute error by model and target",
            (q("ghgwatch_forecast_abs_error", "{{model}} / {{target}}"),),
        ),
        Panel(
            "Analytics job duration p95 by task",
            (
                q(
                    "histogram_quantile(0.95, sum by (le, task) "
                    f"(rate(ghgwatch_analytics_job_duration_seconds_bucket[{RATE}])))",
                    "{{task}}",
                ),
            ),
            unit="s",
        ),
        Panel(
            "Analytics job runs per minute by task",
            (
                q(
                    f"sum by (task) (rate(ghgwatch_analytics_job_duration_seconds_count[{RATE}])) * 60",
                    "{{task}}",
                ),
            ),
        ),
        Panel(
            "Model inference p99 by model",
            (
                q(
                    "histogram_quantile(0.99, sum by (le, model) "
                    f"(rate(ghgwatch_model_inference_seconds_bucket[{RATE}])))",
                    "{{model}}",
                ),
            ),
            unit="s",
        ),
    ),
)

DASHBOARDS = (PLATFORM, EMISSIONS, ANALYTICS)


def _field_config(panel: Panel) -> dict[str, Any]:
    steps: list[dict[str, Any]] = [{"color": "green", "value": None}]
    steps += [
        {"color": color, "value": value}
        for color, value in zip(("orange", "red", "dark-red"), panel.thresholds, strict=False)
    ]
    defaults: dict[str, Any] = {"unit": panel.unit, "thresholds": {"mode": "absolute", "steps": steps}}
    if panel.kind == "timeseries" and panel.thresholds:
        defaults["custom"] = {"thresholdsStyle": {"mode": "line"}}
    return {"defaults": defaults, "overrides": []}


def _layout(panels: tuple[Panel, ...]) -> list[dict[str, int]]:
    """Left to right, wrapping at the grid width; a row is as tall as its tallest panel."""
    positions: list[dict[str, int]] = []
    x = y = row_height = 0
    for panel in panels:
        if x + panel.width > GRID_WIDTH:
            x, y, row_height = 0, y + row_height, 0
        positions.append({"x": x, "y": y, "w": panel.width, "h": panel.height})
        x += panel.width
        row_height = max(row_height, panel.height)
    return positions


def render(dashboard: Dashboard) -> dict[str, Any]:
    panels = []
    for panel_id, (panel, pos) in enumerate(zip(dashboard.panels, _layout(dashboard.panels), strict=True), 1):
        panels.append(
            {
                "id": panel_id,
                "type": panel.kind,
                "title": panel.title,
                "description": panel.description,
                "datasource": DATASOURCE,
                "gridPos": pos,
                "fieldConfig": _field_config(panel),
                "options": {},
                "targets": [
                    {
                        "refId": chr(ord("A") + i),
                        "datasource": DATASOURCE,
                        "expr": target.expr,
                        "legendFormat": target.legend,
                        "instant": panel.kind == "table",
                        "range": panel.kind != "table",
                    }
                    for i, target in enumerate(panel.targets)
                ],
            }
        )
    return {
        "uid": dashboard.uid,
        "title": dashboard.title,
        "tags": list(dashboard.tags),
        "timezone": "browser",
        "editable": True,
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "annotations": {"list": []},
        "templating": {"list": list(dashboard.variables)},
        "panels": panels,
    }


def render_all() -> dict[str, str]:
    """File name -> JSON text of every dashboard."""
    return {
        f"{d.uid.removeprefix('ghgwatch-')}.json": json.dumps(render(d), indent=2, ensure_ascii=False) + "\n"
        for d in DASHBOARDS
    }


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, text in render_all().items():
        (OUT / name).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
