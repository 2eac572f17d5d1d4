"""Forecast mappings (issue 14 item 5): which stored sensors of a facility are a multivariate model's inputs and
which is its target. API shapes, the checks of a mapping against the registry, and its queries.

The roles name what the mine platform's longwall model used (air in the longwall's outgoing air, temperatures,
the mixture flow and CH4 at the gas-suction unit, the pressure differential, the drainage methane flow, ...);
they are labels for people and the evaluation table, the model itself uses every input alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ghgwatch.analytics.models import Forecast, ForecastMapping, ModelStatus, RegisteredModel
from ghgwatch.kit.problems import Problem
from ghgwatch.registry.models import Facility, Sensor
from ghgwatch.security.principal import WRITERS, Principal

Role = Literal["air_flow", "air_velocity", "temperature", "suction_mixture_flow", "suction_methane",
               "pressure_differential", "drainage_methane_flow", "barometric_pressure", "methane", "other"]
ROLES: tuple[str, ...] = get_args(Role)
MAX_INPUTS = 30


class MappingInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sensor_id: int = Field(gt=0)
    role: Role = "other"


class MappingIn(BaseModel):
    """A mapping: the facility, the target sensor, the input sensors and the model's settings."""

    model_config = ConfigDict(extra="forbid")

    facility_id: int = Field(gt=0)
    name: str = Field(min_length=1, max_length=200)
    target_sensor_id: int = Field(gt=0)
    inputs: list[MappingInput] = Field(default_factory=list, max_length=MAX_INPUTS)
    horizon_min: int = Field(default=60, ge=10, le=240)
    """Minutes ahead (one step per minute of the 1-minute rollups)."""
    lags: int = Field(default=5, ge=0, le=30)
    method: Literal["linear", "gbdt", "auto"] = "linear"
    """``linear`` by default: the measured 60 direct GBDT models take minutes to fit (docs/analytics.md)."""
    interval: float = Field(default=0.9, gt=0.5, lt=1.0)
    window_hours: float = Field(default=72.0, ge=2.0, le=24 * 31)
    """Hours of data before the fit: three days scored 0.049 % MAE 60 min ahead on the demo mine, one day 0.097
    (docs/analytics.md, ``benchmarks/longwall.py``)."""
    active: bool = True


class MappingOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    organization_id: int
    facility_id: int
    name: str
    target_sensor_id: int
    inputs: list[dict[str, Any]]
    horizon_min: int
    lags: int
    method: str
    interval: float
    window_hours: float
    active: bool
    model_name: str
    created_by: str
    created_at: datetime
    updated_at: datetime


def _invalid(loc: list[str | int], message: str) -> Problem:
    return Problem(422, "Validation failed", f"{'.'.join(str(p) for p in loc[1:])}: {message}", type_="validation",
                   errors=[{"loc": loc, "msg": message}])


async def writable_facility(session: AsyncSession, actor: Principal, facility_id: int) -> Facility:
    actor.require_role(WRITERS)
    facility = await session.get(Facility, facility_id)
    if facility is None:
        raise _invalid(["body", "facility_id"], f"facility {facility_id} does not exist")
    actor.require_org(facility.organization_id)
    return facility


async def check_sensors(session: AsyncSession, facility: Facility, body: MappingIn) -> None:
    """Every sensor named must be a sensor of the facility (an unknown sensor and another organisation's get the
    same answer, naming the field); no sensor twice, the target not among the inputs."""
    ids = [body.target_sensor_id, *(i.sensor_id for i in body.inputs)]
    found = {s.id: s for s in (await session.execute(select(Sensor).where(Sensor.id.in_(ids)))).scalars()}
    named: list[tuple[list[str | int], int]] = [(["body", "target_sensor_id"], body.target_sensor_id)]
    named += [(["body", "inputs", k, "sensor_id"], i.sensor_id) for k, i in enumerate(body.inputs)]
    seen: set[int] = set()
    for loc, sensor_id in named:
        sensor = found.get(sensor_id)
        if sensor is None or sensor.facility_id != facility.id:
            raise _invalid(loc, f"sensor {sensor_id} is not a sensor of facility {facility.id}")
        if sensor_id in seen:
            raise _invalid(loc, f"sensor {sensor_id} is named twice (the target is not an input)")
        seen.add(sensor_id)


async def name_taken(session: AsyncSession, facility_id: int, name: str) -> bool:
    stmt = select(ForecastMapping.id).where(ForecastMapping.facility_id == facility_id, ForecastMapping.name == name)
    return (await session.execute(stmt)).first() is not None


async def create(session: AsyncSession, actor: Principal, body: MappingIn) -> ForecastMapping:
    """Check and add a mapping (the caller commits); 403/422/409 as :class:`Problem`."""
    facility = await writable_facility(session, actor, body.facility_id)
    await check_sensors(session, facility, body)
    if await name_taken(session, facility.id, body.name):
        raise Problem(409, "Conflict", "facility {id} already has a forecast mapping named {name}",
                      values={"id": facility.id, "name": repr(body.name)}, type_="conflict",
                      errors=[{"loc": ["body", "name"], "msg": "already used in this facility"}])
    row = ForecastMapping(organization_id=facility.organization_id, created_by=actor.username,
                          **body.model_dump(exclude={"inputs"}),
                          inputs=[i.model_dump() for i in body.inputs])
    session.add(row)
    await session.flush()
    return row


async def get(session: AsyncSession, mapping_id: int) -> ForecastMapping | None:
    return await session.get(ForecastMapping, mapping_id)


async def listing(session: AsyncSession, *, organization_id: int | None, facility_id: int | None = None,
                  active: bool | None = None) -> Sequence[ForecastMapping]:
    stmt = select(ForecastMapping).order_by(ForecastMapping.id)
    if organization_id is not None:
        stmt = stmt.where(ForecastMapping.organization_id == organization_id)
    if facility_id is not None:
        stmt = stmt.where(ForecastMapping.facility_id == facility_id)
    if active is not None:
        stmt = stmt.where(ForecastMapping.active.is_(active))
    return (await session.execute(stmt)).scalars().all()


async def is_mapped_target(session: AsyncSession, sensor_id: int) -> bool:
    """Whether the sensor is the target of an active mapping (its early warning then follows the mapping's
    forecasts only, not the univariate ones: two forecasts of one sensor would open and resolve in turn)."""
    stmt = select(ForecastMapping.id).where(ForecastMapping.target_sensor_id == sensor_id,
                                            ForecastMapping.active.is_(True))
    return (await session.execute(stmt.limit(1))).first() is not None


async def promoted_model(session: AsyncSession, mapping: ForecastMapping) -> RegisteredModel | None:
    stmt = select(RegisteredModel).where(RegisteredModel.name == mapping.model_name,
                                         RegisteredModel.organization_id == mapping.organization_id,
                                         RegisteredModel.status == ModelStatus.PROMOTED.value)
    return (await session.execute(stmt.order_by(RegisteredModel.id.desc()).limit(1))).scalar_one_or_none()


async def latest_forecast(session: AsyncSession, mapping: ForecastMapping
                          ) -> tuple[Forecast, RegisteredModel] | None:
    """The newest stored forecast of the mapping's models, with its model."""
    found = (await session.execute(
        select(Forecast, RegisteredModel).join(RegisteredModel, Forecast.model_id == RegisteredModel.id)
        .where(RegisteredModel.name == mapping.model_name, RegisteredModel.organization_id == mapping.organization_id)
        .order_by(Forecast.issued_at.desc(), Forecast.id.desc()).limit(1))).first()
    return None if found is None else (found[0], found[1])
