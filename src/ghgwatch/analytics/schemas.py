"""API shapes of the analytics endpoints and the checks of job parameters."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from ghgwatch.analytics.forecast import MODEL_NAMES
from ghgwatch.analytics.gaps import GAP_METHODS
from ghgwatch.analytics.models import JobKind
from ghgwatch.analytics.series import RESOLUTIONS
from ghgwatch.kit.problems import Problem
from ghgwatch.security.tokens import MAX_ID

FORECAST_METHODS = ("auto", *MODEL_NAMES)
FILL_METHODS = ("auto", *GAP_METHODS, "nearest")
MAX_HORIZON = 10_000
MAX_FILL_POINTS = 50_000


class JobIn(BaseModel):
    """A job: ``kind`` and its parameters, either at the top level or under ``parameters``."""

    model_config = ConfigDict(extra="allow")

    kind: JobKind
    parameters: dict[str, Any] = Field(default_factory=dict)

    def all_parameters(self) -> dict[str, Any]:
        return {**self.parameters, **(self.model_extra or {})}


class JobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    parameters: dict[str, Any]
    state: str
    progress: float
    message: str
    result: dict[str, Any] | None
    organization_id: int | None
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class ModelOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    version: int
    kind: str
    status: str
    organization_id: int | None
    sensor_id: int | None
    input_sensor_ids: list[int]
    method: str
    resolution: str
    data_start: datetime
    data_end: datetime
    parameters: dict[str, Any]
    metrics: dict[str, Any]
    artifact_path: str | None
    trained_by: str
    created_at: datetime


class DriftOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    model_id: int
    at: datetime
    window_start: datetime
    window_end: datetime
    features: dict[str, Any]
    rolling_mae: float | None
    baseline_mae: float | None
    n_errors: int
    flagged: bool


class GapFillIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    sensor_id: int
    start: AwareDatetime = Field(alias="from")
    end: AwareDatetime = Field(alias="to")
    resolution: str = "1m"
    method: str = "auto"


def _invalid(field: str, message: str) -> Problem:
    return Problem(422, "Validation failed", f"{field}: {message}", type_="validation",
                   errors=[{"loc": ["body", field], "msg": message}])


def _positive_number(params: dict[str, Any], name: str, upper: float) -> None:
    if name not in params:
        return
    value = params[name]
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= upper:
        raise _invalid(name, f"must be a number in (0, {upper:g}]")


def check_parameters(kind: JobKind, params: dict[str, Any]) -> None:
    """Reject parameters a job could not use, before it is queued (422 naming the field)."""
    for name in ("sensor_id", "model_id", "mapping_id"):
        if name in params and (isinstance(params[name], bool) or not isinstance(params[name], int)):
            raise _invalid(name, "must be an integer")
        if name in params and not 0 < params[name] <= MAX_ID:
            raise _invalid(name, f"must be an id from 1 to {MAX_ID}")
    needs = {JobKind.FORECAST: ("sensor_id", "model_id"), JobKind.REFIT: ("sensor_id", "model_id"),
             JobKind.BACKTEST: ("sensor_id",), JobKind.DRIFT: ("model_id",),
             JobKind.MAPPING_FIT: ("mapping_id",), JobKind.MAPPING_FORECAST: ("mapping_id",)}.get(kind, ())
    if needs and not any(n in params for n in needs):
        raise _invalid(needs[0], f"a {kind.value} job needs {' or '.join(needs)}")
    if "horizon" in params and (not isinstance(params["horizon"], int) or not 1 <= params["horizon"] <= MAX_HORIZON):
        raise _invalid("horizon", f"must be an integer from 1 to {MAX_HORIZON}")
    if "method" in params and params["method"] not in FORECAST_METHODS:
        raise _invalid("method", f"must be one of {', '.join(FORECAST_METHODS)}")
    if "resolution" in params and params["resolution"] not in RESOLUTIONS:
        raise _invalid("resolution", f"must be one of {', '.join(RESOLUTIONS)}")
    if "interval" in params:
        value = params["interval"]
        if not isinstance(value, int | float) or not 0 < value < 1:
            raise _invalid("interval", "must be between 0 and 1")
    for name, upper in (("window_hours", 24 * 366), ("factor", 1e6), ("folds", 20)):
        _positive_number(params, name, upper)
    if "sensor_ids" in params and (not isinstance(params["sensor_ids"], list)
                                   or not all(isinstance(i, int) and not isinstance(i, bool) and 0 < i <= MAX_ID
                                              for i in params["sensor_ids"])):
        raise _invalid("sensor_ids", f"must be a list of ids from 1 to {MAX_ID}")
    if "name" in params and (not isinstance(params["name"], str) or not 0 < len(params["name"]) <= 200):
        raise _invalid("name", "must be a text of 1 to 200 characters")
