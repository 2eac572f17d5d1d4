"""Tables of the analytics role: model registry, stored forecasts, jobs and drift reports.

Kinds, statuses and states are short strings checked by the schemas and the service (no database enum,
so adding one needs no migration, as in the registry).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ghgwatch.kit.timeutil import utcnow
from ghgwatch.store.base import Base, JSONType, TimestampMixin


class ModelKind(StrEnum):
    FORECAST = "forecast"
    MULTIVARIATE = "multivariate"
    DETECTOR = "detector"


class ModelStatus(StrEnum):
    CANDIDATE = "candidate"
    PROMOTED = "promoted"
    RETIRED = "retired"


class JobKind(StrEnum):
    FORECAST = "forecast"
    GAP_REPORT = "gap_report"
    REFIT = "refit"
    BACKTEST = "backtest"
    DRIFT = "drift"
    MAPPING_FIT = "mapping_fit"
    """Train the multivariate model of a forecast mapping (``mapping_id``) from stored data."""
    MAPPING_FORECAST = "mapping_forecast"
    """Forecast with the promoted model of a mapping and judge the early-warning rules."""


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class RegisteredModel(Base):
    """One trained version of a named model; versions count up per name."""

    __tablename__ = "models"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[int]
    kind: Mapped[str] = mapped_column(String(20))
    organization_id: Mapped[int | None] = mapped_column(default=None, index=True)
    sensor_id: Mapped[int | None] = mapped_column(default=None, index=True)
    """The target sensor."""
    input_sensor_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    """Further input sensors (multivariate models); empty for a univariate forecast."""
    method: Mapped[str] = mapped_column(String(40))
    """The estimator: ``linear``, ``gbdt``, ``naive``, ... ."""
    resolution: Mapped[str] = mapped_column(String(8))
    """Series the model was trained on: ``1m`` or ``1h`` rollups."""
    data_start: Mapped[datetime]
    data_end: Mapped[datetime]
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Backtest MAE, sMAPE, MASE and interval coverage of the chosen method (and of the others)."""
    artifact: Mapped[bytes | None] = mapped_column(LargeBinary, default=None, deferred=True)
    """The fitted estimator as joblib bytes (a pickle: written and read only by the platform)."""
    artifact_path: Mapped[str | None] = mapped_column(String(500), default=None)
    trained_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(20), default=ModelStatus.CANDIDATE.value, index=True)


class Forecast(Base):
    """A forecast issued by a model: ``points`` is a list of ``{ts, forecast, lower, upper}``."""

    __tablename__ = "forecasts"
    __table_args__ = (Index("ix_forecasts_sensor_issued", "sensor_id", "issued_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), index=True)
    sensor_id: Mapped[int]
    organization_id: Mapped[int | None] = mapped_column(default=None)
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    origin: Mapped[datetime]
    """Timestamp of the last value the forecast was made from."""
    interval: Mapped[float]
    points: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)


class AnalyticsJob(Base):
    __tablename__ = "analytics_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[str] = mapped_column(String(20), default=JobState.QUEUED.value, index=True)
    progress: Mapped[float] = mapped_column(default=0.0)
    message: Mapped[str] = mapped_column(String(500), default="")
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=None)
    organization_id: Mapped[int | None] = mapped_column(default=None, index=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)


class DriftReport(Base):
    """Inputs (PSI, KS per feature) and forecast errors of a deployed model against its training window."""

    __tablename__ = "drift_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    features: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Per feature: ``psi``, ``ks``, ``ks_p``, ``drift``."""
    rolling_mae: Mapped[float | None] = mapped_column(default=None)
    baseline_mae: Mapped[float | None] = mapped_column(default=None)
    n_errors: Mapped[int] = mapped_column(default=0)
    flagged: Mapped[bool] = mapped_column(default=False)


class ForecastMapping(TimestampMixin, Base):
    """Which stored sensors of a facility feed a multivariate forecast of which target sensor (issue 14 item 5:
    the longwall methane forecast): ``inputs`` is a list of ``{"sensor_id", "role"}``.

    Its models are registered under :attr:`model_name` (versions count up there); trained and used by the jobs
    ``mapping_fit`` and ``mapping_forecast`` (``ghgwatch.analytics.mapping_jobs``).
    """

    __tablename__ = "forecast_mappings"
    __table_args__ = (UniqueConstraint("facility_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    target_sensor_id: Mapped[int] = mapped_column(index=True)
    inputs: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    horizon_min: Mapped[int] = mapped_column(default=60)
    lags: Mapped[int] = mapped_column(default=5)
    method: Mapped[str] = mapped_column(String(20), default="linear")
    interval: Mapped[float] = mapped_column(default=0.9)
    window_hours: Mapped[float] = mapped_column(default=72.0)
    active: Mapped[bool] = mapped_column(default=True)
    """Trained and forecast by the schedule while true."""
    created_by: Mapped[str] = mapped_column(String(100))

    @property
    def model_name(self) -> str:
        return f"forecast-mapping-{self.id}"

    @property
    def input_sensor_ids(self) -> list[int]:
        return [int(i["sensor_id"]) for i in self.inputs]
