"""Settings: one class, prefix ``GHGWATCH_``, nested groups (``GHGWATCH_DB__URL``, ...).

Nothing here reads the environment or connects at import time: :func:`build_settings` is called by the
entry points and the result is passed down.
"""

from __future__ import annotations

import itertools
import secrets
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ghgwatch.lab.settings import LabSettings, LeakSettings


class Mode(StrEnum):
    EMBEDDED = "embedded"
    CLUSTER = "cluster"


class DbSettings(BaseModel):
    url: str = ""
    """SQLAlchemy async URL. Empty: SQLite in the data folder (embedded mode only)."""
    echo: bool = False
    pool_size: int = 10


class BusSettings(BaseModel):
    url: str = "embedded:"
    """``embedded:`` (a log under the data folder), ``embedded:/path`` or ``kafka://host:port``."""
    topic_prefix: str = ""


class MqttSettings(BaseModel):
    url: str = ""
    """``mqtt://user:pass@host:port`` (or ``mqtts://`` for MQTT over TLS) of a broker; empty: embedded broker in
    ``up``."""
    embedded_port: int = 18830
    ca_file: Path | None = None
    """PEM certificates the bridge trusts for ``mqtts://`` (a private CA or the broker's self-signed certificate);
    default: the system's CAs. The broker's name in the URL must match its certificate."""


class SecuritySettings(BaseModel):
    jwt_secret: SecretStr | None = None
    """HS256 key. Required in cluster mode; generated and kept in the data folder in embedded mode."""
    jwt_ttl_s: int = 3600
    signature_max_age_s: int = 300
    secrets_key: SecretStr | None = None
    """Key(s) that encrypt secrets at rest (comma-separated; the first encrypts). Required in cluster mode;
    generated and kept in the data folder in embedded mode. See ``security/crypto.py``."""
    allow_private_targets: bool = False
    """Let webhooks and command webhooks target loopback and private addresses (on-premise receivers, tests)."""
    audit_key: SecretStr | None = None
    """HMAC key anchoring the audit chain (``audit/anchor.py``). Cluster mode without it: derived from the JWT
    secret; embedded mode: generated and kept in the data folder."""
    user_cache_ttl_s: float = Field(default=5.0, ge=0.0)
    """How long a user's state (active, role, token version) is cached between checks of a request's token."""
    login_attempts_per_address: int = Field(default=30, ge=0)
    """Sign-in attempts per client address per ``login_window_s`` (0: no limit)."""
    login_failures_per_user: int = Field(default=10, ge=0)
    """Failed sign-ins per username per ``login_window_s`` before further attempts are refused (0: no limit)."""
    login_window_s: float = Field(default=300.0, gt=0)
    argon2_time_cost: int = Field(default=3, ge=1)
    """Passes of argon2id over its memory per password hash. The three ``argon2_*`` defaults are RFC 9106 §4's
    second recommended option (t = 3, m = 64 MiB, p = 4), about 0.3 CPU-s per hash here; raise them where the
    hardware allows, lower them only for tests (``security/passwords.py`` re-hashes old hashes at sign-in)."""
    argon2_memory_kib: int = Field(default=65536, ge=8)
    argon2_parallelism: int = Field(default=4, ge=1)
    ingest_requests_per_device_s: float = Field(default=50.0, ge=0)
    """HTTP ingest requests per second per device, sustained (0: no limit); bursts up to ``ingest_burst``."""
    ingest_burst: int = Field(default=200, ge=1)
    rate_limit_store: Literal["auto", "memory", "database"] = "auto"
    """Where sign-in and ingest limits are counted. ``database``: the table ``rate_limits``, one limit for every
    process using the database (API replicas); ``memory``: each process its own; ``auto``: ``database`` on
    PostgreSQL, ``memory`` on SQLite (one process; docs/benchmarks.md, "Shared rate limits", measured the cost)."""

    @model_validator(mode="after")
    def _argon2_memory_covers_its_lanes(self) -> SecuritySettings:
        if self.argon2_memory_kib < 8 * self.argon2_parallelism:  # argon2's own bound (RFC 9106 §3.1)
            raise ValueError(f"security.argon2_memory_kib ({self.argon2_memory_kib}) must be at least 8 × "
                             f"security.argon2_parallelism ({8 * self.argon2_parallelism})")
        return self


class ApiSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8000
    cors_origins: list[str] = Field(default_factory=list)
    tls_certfile: Path | None = None
    """PEM certificate (chain) file: with ``tls_keyfile``, the API serves HTTPS only."""
    tls_keyfile: Path | None = None


class NotifySettings(BaseModel):
    smtp_host: str = ""
    """Empty: e-mail notifications are off."""
    smtp_port: int = 25
    smtp_from: str = "ghgwatch@localhost"
    smtp_username: str = ""
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    webhook_timeout_s: float = 5.0
    webhook_max_attempts: int = 5
    """Attempts per notification (webhook and e-mail), the first included."""
    retry_backoff_s: float = 1.0
    """Delay before the second attempt; doubled before each further one."""
    smtp_timeout_s: float = 10.0
    dispatch: bool = True
    """Run the outbox dispatcher in this process (with the alert service); any number of processes may."""
    outbox_poll_s: float = 1.0
    """How often the dispatcher looks for rows written by other processes (its own wake it at once)."""
    outbox_lease_s: float = 10.0
    """Lease of a row being delivered, renewed while the attempt runs; after a crash the row is taken over when it
    ends."""


class AnalyticsSettings(BaseModel):
    schedule_interval_s: float = 900.0
    """How often the analytics role forecasts, reports gaps and checks drift."""
    forecast_horizon: int = 60
    poll_interval_s: float = 2.0
    """How often the job runner looks for jobs queued by other processes (same-process jobs start at once)."""
    refit_interval_s: float = 86400.0
    """How often every promoted forecast model is refitted as a new candidate version."""
    resolution: str = "1m"
    """Series that models are trained on and forecast: ``1m`` or ``1h`` rollups."""
    training_window_hours: float = 72.0
    interval: float = 0.9
    """Nominal coverage of the prediction intervals."""
    gap_window_hours: float = 24.0
    gap_factor: float = 3.0
    """A gap is a silence longer than this many expected sampling intervals of the sensor."""
    drift_window_hours: float = 24.0
    drift_error_window: int = 60
    drift_error_ratio: float = 1.5
    """Forecast errors are flagged when their rolling MAE exceeds this times the backtest MAE."""


class ObservabilitySettings(BaseModel):
    max_sensor_series: int = 500
    """Upper bound of per-sensor label sets exported to Prometheus."""
    log_level: str = "INFO"
    json_logs: bool | None = None
    """None: JSON lines in cluster mode, readable lines in embedded mode."""
    tracing: bool = False
    otlp_endpoint: str = ""
    """OTLP/HTTP traces endpoint (``http://collector:4318/v1/traces``); setting it turns tracing on."""
    trace_sample_ratio: float = Field(default=1.0, ge=0.0, le=1.0)
    """Share of traces started at ingest that are recorded (parent-based: the rest of a trace follows)."""
    metrics_token: SecretStr | None = None
    """Bearer token Prometheus sends to ``/metrics``. Set: ``/metrics`` needs it and shows per-sensor series;
    unset: ``/metrics`` is public without per-sensor, per-source and per-facility series
    (``observability/exposition.py``)."""


class RetentionSettings(BaseModel):
    """How long each table keeps its rows (days; ``None``: forever), enforced by the lifecycle job."""

    raw_days: float | None = 90.0
    """Raw readings. Whole days older than this are exported to the data lake (when configured) and then
    removed (PostgreSQL: their daily partition is dropped). Readings older than this are refused."""
    rollup_1m_days: float | None = 400.0
    rollup_1h_days: float | None = 3650.0
    rollup_1d_days: float | None = None
    deadletter_days: float | None = 90.0
    alert_history_days: float | None = 730.0
    """Resolved alerts (with their history and notification deliveries)."""
    interval_s: float = 3600.0
    """How often the lifecycle job runs (in the pipeline role)."""
    delete_batch: int = Field(default=5000, ge=100)
    """Rows per DELETE transaction on SQLite, so that the single writer is never held for long."""
    partitions_ahead_days: int = Field(default=7, ge=1)
    """PostgreSQL: daily partitions of ``readings`` created this many days ahead."""

    @model_validator(mode="after")
    def _levels_keep_their_sources(self) -> RetentionSettings:
        # A rollup bucket can be recomputed from the level below only while that level is complete, so every
        # level must be kept at least as long as the one below it (raw <= 1 min <= 1 h <= 1 day).
        chain = [("raw_days", self.raw_days), ("rollup_1m_days", self.rollup_1m_days),
                 ("rollup_1h_days", self.rollup_1h_days), ("rollup_1d_days", self.rollup_1d_days)]
        for (lower, low), (upper, high) in itertools.pairwise(chain):
            if low is None and high is not None:
                raise ValueError(f"retention.{upper} is set while retention.{lower} keeps everything")
            if low is not None and high is not None and high < low:
                raise ValueError(f"retention.{upper} ({high}) must be at least retention.{lower} ({low})")
        for name, value in chain:
            if value is not None and value < 1:
                raise ValueError(f"retention.{name} must be at least 1 day (or unset: keep forever)")
        return self


class LakeSettings(BaseModel):
    """Cold storage of closed days as Parquet (``<url>/readings/organization_id=<id>/date=<day>/``)."""

    url: str = ""
    """Empty: off. A folder (``/var/lib/ghgwatch/lake`` or ``file:///...``) or ``s3://bucket/prefix``."""
    s3_endpoint_url: str = ""
    """An S3-compatible endpoint (MinIO, Ceph, ...); empty: AWS."""
    s3_key: str = ""
    s3_secret: SecretStr | None = None
    s3_region: str = "us-east-1"
    close_after_hours: float = 2.0
    """A day is exported once it ended this long ago (late readings of the day have arrived)."""


class AdmissionSettings(BaseModel):
    """Ingest slows senders down (503 + Retry-After) when storage falls behind."""

    max_backlog: int = Field(default=500_000, ge=1)
    """Readings accepted but not yet stored (pipeline lag) above which new batches are refused (embedded bus; counted
    from its records with the mean readings per record of recent requests, ``ingest/admission.py``). Keep it above
    ``retry_after_s`` times the storage rate, or storage idles while refused senders wait: 200,000 with a 2-s retry lost
    12-21 % of the saturated rate on a host storing 280,000 readings/s, 500,000 with a 1-s retry none
    (docs/benchmarks.md, 2026-12-01 fifth session). It bounds the accept-to-stored latency to a few times this over
    the storage rate (saturated at 287,000 readings/s: p99 2.8-3.0 s, against 4.6-4.9 s when records were counted)."""
    retry_after_s: int = Field(default=1, ge=1)
    """Seconds a refused sender is told to wait (``Retry-After``; whole seconds by HTTP's grammar). Short: a refused
    request may carry a methane alarm."""


class PipelineSettings(BaseModel):
    store_process: bool = False
    """Decode, validate and store in a child process of the pipeline (its consumer, offsets and hooks stay).
    ``ghgwatch up`` turns it on unless set: the API and storage then use two cores instead of sharing one
    interpreter (docs/benchmarks.md, issue 16)."""


class CoapSettings(BaseModel):
    host: str = ""
    """Address of the CoAP ingest (UDP); empty: the API host."""
    port: int = 5683
    """UDP port (the CoAP default). In embedded mode a taken port falls back to a free one (logged)."""


class EdgeSettings(BaseModel):
    """The edge gateway (``ghgwatch edge``); see docs/edge.md."""

    upstream: str = ""
    """Base URL of the central platform, e.g. ``https://ghgwatch.example.org``."""
    token: SecretStr | None = None
    """Device token of the edge's own gateway device (``ghgwatch device create --gateway``)."""
    hmac_secret: SecretStr | None = None
    """HMAC secret of that device: every request to the central platform is signed with it."""
    forward: Literal["all", "summary"] = "all"
    """``all``: every raw reading; ``summary``: per-minute summaries plus alarm events."""
    batch_max: int = 5000
    """Readings (or summaries, events) per request to the central platform."""
    request_timeout_s: float = 10.0
    retry_max_s: float = 10.0
    """Longest wait between attempts while the link is down (the wait doubles from 0.2 s)."""
    config_refresh_s: float = 60.0
    """How often sensors, limits and device credentials are fetched again (kept on disk for offline starts)."""
    summary_grace_s: float = 10.0
    """A minute is summarised once no reading of it has arrived for this long and the minute is over."""
    view_token: SecretStr | None = None
    """Bearer token for the edge's own alarm API; empty: generated into the edge data folder."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GHGWATCH_", env_nested_delimiter="__", extra="ignore")

    mode: Mode = Mode.EMBEDDED
    data_dir: Path = Path("./ghgwatch-data")
    demo: bool = False
    """Set by ``ghgwatch up --demo``: seed the demo site and stream simulated readings."""
    db: DbSettings = Field(default_factory=DbSettings)
    bus: BusSettings = Field(default_factory=BusSettings)
    mqtt: MqttSettings = Field(default_factory=MqttSettings)
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    notify: NotifySettings = Field(default_factory=NotifySettings)
    analytics: AnalyticsSettings = Field(default_factory=AnalyticsSettings)
    observability: ObservabilitySettings = Field(default_factory=ObservabilitySettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    lake: LakeSettings = Field(default_factory=LakeSettings)
    admission: AdmissionSettings = Field(default_factory=AdmissionSettings)
    pipeline: PipelineSettings = Field(default_factory=PipelineSettings)
    coap: CoapSettings = Field(default_factory=CoapSettings)
    edge: EdgeSettings = Field(default_factory=EdgeSettings)
    lab: LabSettings = Field(default_factory=LabSettings)
    leaks: LeakSettings = Field(default_factory=LeakSettings)

    @property
    def database_url(self) -> str:
        if self.db.url:
            return self.db.url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'ghgwatch.db').resolve()}"


class ConfigurationError(RuntimeError):
    """The settings cannot be used as given (a missing secret outside embedded mode, ...)."""


def build_settings(**overrides: object) -> Settings:
    """Read the environment (and overrides) into a :class:`Settings`, checked for the chosen mode."""
    settings = Settings(**overrides)  # type: ignore[arg-type]
    if settings.mode is Mode.CLUSTER:
        if settings.security.jwt_secret is None:
            raise ConfigurationError("GHGWATCH_SECURITY__JWT_SECRET must be set in cluster mode")
        if not settings.db.url:
            raise ConfigurationError("GHGWATCH_DB__URL must be set in cluster mode")
        _refuse_placeholders(settings)
    if (settings.api.tls_certfile is None) != (settings.api.tls_keyfile is None):
        raise ConfigurationError("GHGWATCH_API__TLS_CERTFILE and GHGWATCH_API__TLS_KEYFILE go together")
    return settings


PLACEHOLDER = "CHANGE-ME"
"""The placeholder shipped in ``deploy/`` secrets: a deployment that still carries it must not start."""


def _refuse_placeholders(settings: Settings) -> None:
    named: dict[str, SecretStr | str | None] = {
        "GHGWATCH_SECURITY__JWT_SECRET": settings.security.jwt_secret,
        "GHGWATCH_SECURITY__SECRETS_KEY": settings.security.secrets_key,
        "GHGWATCH_SECURITY__AUDIT_KEY": settings.security.audit_key,
        "GHGWATCH_DB__URL": settings.db.url,
        "GHGWATCH_MQTT__URL": settings.mqtt.url,
        "GHGWATCH_NOTIFY__SMTP_PASSWORD": settings.notify.smtp_password,
        "GHGWATCH_LAKE__S3_SECRET": settings.lake.s3_secret,
        "GHGWATCH_OBSERVABILITY__METRICS_TOKEN": settings.observability.metrics_token,
    }
    for name, value in named.items():
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if text and PLACEHOLDER.lower() in text.lower():
            raise ConfigurationError(f"{name} still holds the placeholder '{PLACEHOLDER}': set a real secret")


def jwt_secret(settings: Settings) -> str:
    """The JWT key: the configured one, or in embedded mode a random key kept in the data folder."""
    if settings.security.jwt_secret is not None:
        return settings.security.jwt_secret.get_secret_value()
    if settings.mode is not Mode.EMBEDDED:
        raise ConfigurationError("no JWT secret configured")
    path = settings.data_dir / "jwt.secret"
    if path.exists():
        return path.read_text().strip()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key
