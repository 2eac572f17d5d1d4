"""Every Prometheus metric of ghgwatch, defined once, plus the helpers the rest of the code calls.

Registry: the **default** ``prometheus_client.REGISTRY``. One process serves one role (or ``all``), so
one registry per process is enough, and the default one also carries the process and platform
collectors (``process_*``, ``python_*``). :func:`metrics_app` exposes it.

Label cardinality is bounded by design:

* labels that a sender can influence (``transport``, ``reason``, ``severity``, ``condition``, ``channel``,
  ``outcome``, sensor ``kind``) are mapped onto the fixed enums below; an unknown value becomes ``other``;
* labels chosen by the code (``table``, ``query``, ``topic``, ``group``, ``task``, ``model``, ``target``)
  must be constants in the calling code, never user input;
* per-sensor and per-source series go through :class:`~ghgwatch.observability.sensors.SensorSeries`,
  which admits at most a configured number of label sets.

Counters with enum labels are created at zero by :func:`init_metrics` so that ``rate()`` works from the
first scrape and every dashboard query finds its metric. Names are stable: they are listed in
``docs/operations.md`` and used by ``deploy/prometheus`` and ``deploy/grafana``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from importlib import metadata

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, make_asgi_app
from starlette.types import ASGIApp

# --------------------------------------------------------------------------------------------- enums


class Transport(StrEnum):
    HTTP = "http"
    MQTT = "mqtt"
    COAP = "coap"
    FILE = "file"
    OTHER = "other"


class RejectReason(StrEnum):
    """Why a reading was refused at ingest or sent to the dead-letter topic by the pipeline."""

    SCHEMA = "schema"
    AUTH = "auth"
    SIGNATURE = "signature"
    REPLAY = "replay"
    UNKNOWN_SENSOR = "unknown_sensor"
    OUT_OF_RANGE = "out_of_range"
    FUTURE_TIMESTAMP = "future_timestamp"
    UNIT = "unit"
    DUPLICATE = "duplicate"
    RATE_LIMITED = "rate_limited"
    TOO_LARGE = "too_large"
    EXPIRED = "expired"
    """Older than the raw retention."""
    STORAGE = "storage"
    """Made storage fail every time (a poison record), set aside after bounded retries."""
    MALFORMED = "malformed"
    OTHER = "other"


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"
    OTHER = "other"


class AlertCondition(StrEnum):
    THRESHOLD = "threshold"
    RATE_OF_CHANGE = "rate_of_change"
    SILENT = "silent"
    STUCK = "stuck"
    OUT_OF_RANGE = "out_of_range"
    ANOMALY = "anomaly"
    FORECAST_LIMIT = "forecast_limit"
    OTHER = "other"


class Channel(StrEnum):
    SSE = "sse"
    WEBHOOK = "webhook"
    EMAIL = "email"
    OTHER = "other"


class Outcome(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    DROPPED = "dropped"
    OTHER = "other"


def _enum_value(enum: type[StrEnum], value: str) -> str:
    try:
        return enum(value).value
    except ValueError:
        return enum("other").value


# ------------------------------------------------------------------------------------------ buckets

#: Request and database latencies: 1 ms .. 10 s.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: Accept-to-stored latency of a reading: 1 ms .. 10 s (the issue's range), denser near the target.
ACCEPT_TO_STORED_BUCKETS = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0,
)  # fmt: skip
BATCH_SIZE_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)
#: Analytics jobs run from under a second (a detector pass) to many minutes (a model fit).
JOB_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
INFERENCE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

# ------------------------------------------------------------------------------------------ metrics

BUILD_INFO = Gauge(
    "ghgwatch_build_info", "Always 1; labels tell the version, role and mode.", ["version", "role", "mode"]
)
START_TIME = Gauge("ghgwatch_start_time_seconds", "Unix time at which this process initialised metrics.")

INGEST_ACCEPTED = Counter("ghgwatch_ingest_readings_accepted", "Readings acknowledged to a sender.", ["transport"])
INGEST_REJECTED = Counter(
    "ghgwatch_ingest_readings_rejected",
    "Readings refused at ingest or dead-lettered by the pipeline, by reason.",
    ["transport", "reason"],
)
INGEST_REQUEST_DURATION = Histogram(
    "ghgwatch_ingest_request_duration_seconds",
    "Time to handle one ingest request or message (accept or refuse).",
    ["transport"],
    buckets=LATENCY_BUCKETS,
)

BUS_CONSUMER_LAG = Gauge(
    "ghgwatch_bus_consumer_lag", "Messages not yet committed by a consumer group.", ["group", "topic"]
)
BUS_PUBLISH_DURATION = Histogram(
    "ghgwatch_bus_publish_duration_seconds",
    "Time until a publish is durable (acknowledged by the bus).",
    ["topic"],
    buckets=LATENCY_BUCKETS,
)

PIPELINE_BATCH_SIZE = Histogram(
    "ghgwatch_pipeline_batch_size", "Readings per pipeline batch.", buckets=BATCH_SIZE_BUCKETS
)
PIPELINE_BATCH_DURATION = Histogram(
    "ghgwatch_pipeline_batch_duration_seconds",
    "Time to validate, store and commit one pipeline batch.",
    buckets=LATENCY_BUCKETS,
)
PIPELINE_ACCEPT_TO_STORED = Histogram(
    "ghgwatch_pipeline_accept_to_stored_seconds",
    "Per reading: time from acknowledgement at ingest to commit in the store.",
    buckets=ACCEPT_TO_STORED_BUCKETS,
)

STORE_WRITE_DURATION = Histogram(
    "ghgwatch_store_write_duration_seconds", "Database write time.", ["table"], buckets=LATENCY_BUCKETS
)
STORE_QUERY_DURATION = Histogram(
    "ghgwatch_store_query_duration_seconds", "Database query time.", ["query"], buckets=LATENCY_BUCKETS
)

ALERTS_OPENED = Counter("ghgwatch_alerts_opened", "Alerts opened.", ["severity", "condition"])
NOTIFICATIONS = Counter("ghgwatch_notifications", "Alert notification deliveries by outcome.", ["channel", "outcome"])
ALERT_EVENTS_UNSAVED = Gauge("ghgwatch_alert_events_unsaved",
                             "Alert events the engine raised that the database has not taken yet (kept and retried).")
ALERT_EVENTS_DROPPED = Counter("ghgwatch_alert_events_dropped",
                               "Alert events given up after the database refused them for POISON_ROUNDS rounds.")

# ``task``, not ``job``: a ``job`` label would clash with Prometheus's own target label.
ANALYTICS_JOB_DURATION = Histogram(
    "ghgwatch_analytics_job_duration_seconds", "Analytics job run time.", ["task"], buckets=JOB_BUCKETS
)
MODEL_INFERENCE = Histogram(
    "ghgwatch_model_inference_seconds",
    "Time of one model inference call (a forecast or a detector score).",
    ["model"],
    buckets=INFERENCE_BUCKETS,
)
FORECAST_ABS_ERROR = Gauge(
    "ghgwatch_forecast_abs_error",
    "Absolute error of the latest forecast checked against the actual value, in the target's unit.",
    ["model", "target"],
)

SENSOR_VALUE = Gauge(
    "ghgwatch_sensor_value",
    "Latest value of a gas sensor, in the sensor kind's canonical unit (methane: % vol).",
    ["sensor", "kind", "facility"],
)
SENSOR_FORECAST = Gauge(
    "ghgwatch_sensor_forecast",
    "Latest one-step-ahead forecast for a gas sensor (same unit as ghgwatch_sensor_value).",
    ["sensor", "kind", "facility"],
)
EMISSION_RATE = Gauge(
    "ghgwatch_emission_rate_kg_per_hour",
    "Latest measured emission rate of a source, by gas.",
    ["gas", "facility", "source"],
)
PIPELINE_STORE_RETRIES = Counter("ghgwatch_pipeline_store_retries", "Failed attempts to store a pipeline batch.")
INGEST_ADMISSION_REFUSED = Counter(
    "ghgwatch_ingest_admission_refused", "Requests refused (503 + Retry-After) because storage is behind or the bus "
    "cannot take them.", ["transport", "cause"])
INGEST_BACKLOG = Gauge("ghgwatch_ingest_backlog_records", "Bus records accepted but not yet stored, as ingest sees it.")
INGEST_BACKLOG_READINGS = Gauge(
    "ghgwatch_ingest_backlog_readings", "Readings accepted but not yet stored, estimated from the bus records (the "
    "admission limit is in these).")
RETENTION_DELETED = Counter("ghgwatch_retention_rows_deleted", "Rows removed by retention.", ["table"])
RETENTION_PARTITIONS_DROPPED = Counter(
    "ghgwatch_retention_partitions_dropped", "Daily partitions of readings dropped by retention (PostgreSQL).")
RETENTION_LAST_RUN = Gauge("ghgwatch_retention_last_run_timestamp_seconds", "When the lifecycle job last finished.")
RETENTION_RUN_DURATION = Histogram(
    "ghgwatch_retention_run_duration_seconds", "Duration of a lifecycle job run (export, retention, partitions).",
    buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 1800, 7200))
LAKE_EXPORTED_ROWS = Counter("ghgwatch_lake_exported_rows", "Raw readings written to the data lake.")
LAKE_EXPORTED_FILES = Counter("ghgwatch_lake_exported_files", "Parquet files written to the data lake.")
LAKE_EXPORT_FAILURES = Counter("ghgwatch_lake_export_failures", "Day exports to the data lake that failed.")
LAKE_COMPACTED_MONTHS = Counter("ghgwatch_lake_compacted_months",
                                "Closed months whose daily Parquet files were merged into one monthly file.")
LAKE_COMPACTION_FAILURES = Counter("ghgwatch_lake_compaction_failures", "Month compactions that failed.")
LAKE_QUERY_DURATION = Histogram(
    "ghgwatch_lake_query_duration_seconds", "Duration of history queries answered from the data lake (DuckDB).",
    buckets=(0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
SENSOR_SERIES = Gauge("ghgwatch_sensor_series", "Per-sensor and per-source label sets exported.")
SENSOR_SERIES_LIMIT = Gauge(
    "ghgwatch_sensor_series_limit", "Configured maximum of per-sensor and per-source label sets."
)
SENSOR_SERIES_DROPPED = Counter(
    "ghgwatch_sensor_series_dropped",
    "Updates not exported because the per-sensor series limit was reached or the kind is not a gas.",
)

# Code-chosen label values created at startup so dashboards and rules find their series at once.
# Other modules extend the sets with :func:`prime`.
DEFAULT_TABLES = ("readings", "rollup_1m", "rollup_1h", "rollup_1d", "alerts", "audit_log")
DEFAULT_QUERIES = ("readings_range", "rollup_range", "latest_values", "inventory")
DEFAULT_TOPICS = ("readings.raw.v1", "readings.deadletter.v1", "alerts.v1")
DEFAULT_CONSUMERS = (("pipeline", "readings.raw.v1"), ("notifier", "alerts.v1"))
DEFAULT_TASKS = ("rollup", "detect", "forecast", "inventory", "gap_fill", "report")
DEFAULT_MODELS = ("ewma", "isolation_forest", "linear", "gbt")
DEFAULT_FORECAST_TARGETS = ("methane_concentration", "emissions")


# ------------------------------------------------------------------------------------------- set-up


def metrics_app() -> ASGIApp:
    """ASGI app serving the default registry in the Prometheus text format; mount it at ``/metrics``."""
    app: ASGIApp = make_asgi_app(registry=REGISTRY)
    return app


def _version() -> str:
    try:
        return metadata.version("ghgwatch")
    except metadata.PackageNotFoundError:
        return "unknown"


def init_metrics(*, role: str, mode: str, max_sensor_series: int | None = None) -> None:
    """Call once at process start: build info, start time and zero-valued enum counters.

    ``max_sensor_series`` only publishes the configured limit as ``ghgwatch_sensor_series_limit``;
    the limit itself is enforced by the :class:`~ghgwatch.observability.sensors.SensorSeries` you build.
    """
    BUILD_INFO.labels(version=_version(), role=role, mode=mode).set(1)
    START_TIME.set(time.time())
    if max_sensor_series is not None:
        SENSOR_SERIES_LIMIT.set(max_sensor_series)
    for transport in Transport:
        INGEST_ACCEPTED.labels(transport=transport.value)
        INGEST_REQUEST_DURATION.labels(transport=transport.value)
        for reason in RejectReason:
            INGEST_REJECTED.labels(transport=transport.value, reason=reason.value)
    for severity in Severity:
        for condition in AlertCondition:
            ALERTS_OPENED.labels(severity=severity.value, condition=condition.value)
    for channel in Channel:
        for outcome in Outcome:
            NOTIFICATIONS.labels(channel=channel.value, outcome=outcome.value)
    prime(
        tables=DEFAULT_TABLES,
        queries=DEFAULT_QUERIES,
        topics=DEFAULT_TOPICS,
        consumers=DEFAULT_CONSUMERS,
        tasks=DEFAULT_TASKS,
        models=DEFAULT_MODELS,
    )


def prime(
    *,
    tables: Iterable[str] = (),
    queries: Iterable[str] = (),
    topics: Iterable[str] = (),
    consumers: Iterable[tuple[str, str]] = (),
    tasks: Iterable[str] = (),
    models: Iterable[str] = (),
) -> None:
    """Create the series of code-chosen label values (zero observations) before first use."""
    for table in tables:
        STORE_WRITE_DURATION.labels(table=table)
    for query in queries:
        STORE_QUERY_DURATION.labels(query=query)
    for topic in topics:
        BUS_PUBLISH_DURATION.labels(topic=topic)
    for group, topic in consumers:
        BUS_CONSUMER_LAG.labels(group=group, topic=topic).set(0)
    for task in tasks:
        ANALYTICS_JOB_DURATION.labels(task=task)
    for model in models:
        MODEL_INFERENCE.labels(model=model)


# ------------------------------------------------------------------------------------------ helpers


def observe_accepted(transport: str, n: int = 1) -> None:
    INGEST_ACCEPTED.labels(transport=_enum_value(Transport, transport)).inc(n)


def observe_rejected(reason: str, transport: str, n: int = 1) -> None:
    INGEST_REJECTED.labels(transport=_enum_value(Transport, transport), reason=_enum_value(RejectReason, reason)).inc(n)


def observe_ingest_request(transport: str, seconds: float) -> None:
    INGEST_REQUEST_DURATION.labels(transport=_enum_value(Transport, transport)).observe(seconds)


def set_consumer_lag(group: str, topic: str, lag: int) -> None:
    BUS_CONSUMER_LAG.labels(group=group, topic=topic).set(max(lag, 0))


def observe_publish(topic: str, seconds: float) -> None:
    BUS_PUBLISH_DURATION.labels(topic=topic).observe(seconds)


def observe_batch(size: int, seconds: float) -> None:
    PIPELINE_BATCH_SIZE.observe(size)
    PIPELINE_BATCH_DURATION.observe(seconds)


def observe_accept_to_stored(latencies: Iterable[float]) -> None:
    """One observation per stored reading (seconds from its acknowledgement to the store commit)."""
    for seconds in latencies:
        PIPELINE_ACCEPT_TO_STORED.observe(max(seconds, 0.0))


def observe_admission_refused(transport: str, cause: str) -> None:
    """``cause``: ``backlog`` (storage behind) or ``bus`` (the bus could not make the readings durable)."""
    INGEST_ADMISSION_REFUSED.labels(transport=_enum_value(Transport, transport),
                                    cause=cause if cause in ("backlog", "bus") else "other").inc()


def observe_store_write(table: str, seconds: float) -> None:
    STORE_WRITE_DURATION.labels(table=table).observe(seconds)


def observe_store_query(query: str, seconds: float) -> None:
    STORE_QUERY_DURATION.labels(query=query).observe(seconds)


def alert_opened(severity: str, condition: str) -> None:
    ALERTS_OPENED.labels(
        severity=_enum_value(Severity, severity), condition=_enum_value(AlertCondition, condition)
    ).inc()


def set_alert_events_unsaved(count: int) -> None:
    ALERT_EVENTS_UNSAVED.set(count)


def alert_events_dropped(count: int) -> None:
    ALERT_EVENTS_DROPPED.inc(count)


def observe_notification(channel: str, outcome: str) -> None:
    NOTIFICATIONS.labels(channel=_enum_value(Channel, channel), outcome=_enum_value(Outcome, outcome)).inc()


def observe_analytics_job(task: str, seconds: float) -> None:
    ANALYTICS_JOB_DURATION.labels(task=task).observe(seconds)


def observe_inference(model: str, seconds: float) -> None:
    MODEL_INFERENCE.labels(model=model).observe(seconds)


def set_forecast_abs_error(model: str, target: str, abs_error: float) -> None:
    FORECAST_ABS_ERROR.labels(model=model, target=target).set(abs(abs_error))


@contextmanager
def timed(observe: Callable[[str, float], None], label: str) -> Iterator[None]:
    """``with timed(observe_store_write, "readings"): ...`` observes the block's wall time.

    The time is observed whether the block succeeds or raises.
    """
    start = time.perf_counter()
    try:
        yield
    finally:
        observe(label, time.perf_counter() - start)


# ------------------------------------------------------------------------------- rate limits, sign-in


class RateLimit(StrEnum):
    LOGIN_ADDRESS = "login_address"
    LOGIN_USER = "login_user"
    INGEST_DEVICE = "ingest_device"


class LoginOutcome(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    LIMITED = "limited"


RATE_LIMITED = Counter("ghgwatch_rate_limited", "Requests refused (429 + Retry-After) by a rate limit.", ["limit"])
LOGINS = Counter("ghgwatch_logins", "Sign-in attempts by outcome.", ["outcome"])
for _limit in RateLimit:
    RATE_LIMITED.labels(limit=_limit.value)
for _outcome in LoginOutcome:
    LOGINS.labels(outcome=_outcome.value)


def observe_rate_limited(limit: RateLimit) -> None:
    RATE_LIMITED.labels(limit=limit.value).inc()


def observe_login(outcome: LoginOutcome) -> None:
    LOGINS.labels(outcome=outcome.value).inc()
