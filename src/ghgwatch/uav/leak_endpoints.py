"""REST endpoints turning a quantified flight into a measured emission, and listing measured emissions.

No ``from __future__ import annotations``: FastAPI reads the parameter annotations at run time.
"""

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from ghgwatch import audit
from ghgwatch.kit.problems import Problem, conflict, not_found
from ghgwatch.registry.models import EmissionSource
from ghgwatch.security.principal import WRITERS
from ghgwatch.uav.leak import emission_dict, emission_from_flight, measured_emissions
from ghgwatch.uav.leak_models import MeasuredEmission
from ghgwatch.uav.models import UavFlight
from ghgwatch.web.deps import CurrentPrincipal, Session

router = APIRouter(tags=["uav"])


class EmissionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hours: float = Field(gt=0, le=8784, description="Duration the measured rate is taken to hold, h (≤ a leap year)")
    start: datetime | None = Field(default=None, description="Start of that duration (default: the flight's start)")
    source_id: int | None = Field(default=None, description="The source, when the flight was stored without one")


def _invalid(loc: str, message: str) -> Problem:
    return Problem(422, "Validation failed", f"{loc}: {message}", type_="validation",
                   errors=[{"loc": ["body", loc] if loc != "flight" else [loc], "msg": message}])


@router.post("/flights/{flight_id}/emission", status_code=201,
             summary="Take a quantified flight as a measured fugitive CH4 emission of its source",
             description="`ch4_kg = rate_kg_h × hours` with the 95 % interval carried along; provenance: the flight, "
                         "its method and the interval. One emission per flight (409 for a second).")
async def create_emission(flight_id: int, body: EmissionIn, session: Session,
                          actor: CurrentPrincipal) -> dict[str, Any]:
    actor.require_role(WRITERS)
    flight = await session.get(UavFlight, flight_id)
    org = actor.org_filter()
    if flight is None or (org is not None and flight.organization_id != org):
        raise not_found("flight", flight_id)
    actor.require_org(flight.organization_id)
    if flight.rate_kg_h is None:
        raise _invalid("flight", f"flight {flight_id} was not quantified ({flight.refusal}): there is no rate to use")
    source_id = flight.source_id if body.source_id is None else body.source_id
    if source_id is None:
        raise _invalid("source_id", f"flight {flight_id} has no source: give source_id")
    if flight.source_id is not None and source_id != flight.source_id:
        raise _invalid("source_id", f"flight {flight_id} belongs to source {flight.source_id}")
    source = await session.get(EmissionSource, source_id)
    if source is None or source.facility_id != flight.facility_id:
        raise _invalid("source_id", f"source {source_id} is not a source of facility {flight.facility_id}")
    existing = (await session.execute(select(MeasuredEmission.id).where(
        MeasuredEmission.flight_id == flight.id))).scalar_one_or_none()
    if existing is not None:
        raise conflict("flight {flight_id} is already measured emission {existing}", flight_id=flight_id,
                       existing=existing)
    row = emission_from_flight(flight, source_id, body.hours, body.start, actor.username)
    session.add(row)
    await session.flush()
    out = emission_dict(row)
    await audit.record(session, actor=actor.username, action="create", entity="measured_emission", entity_id=row.id,
                       organization_id=row.organization_id, after={k: v for k, v in out.items() if k != "id"})
    await session.commit()
    return out


@router.get("/measured-emissions", summary="Measured fugitive emissions (from UAV flights) within a period",
            description="Each emission's share of `[start, end)` (pro-rated by the overlap), as the inventory "
                        "reads them; scoped to the caller's organisation (a platform admin gives organization_id).")
async def list_emissions(
    session: Session, actor: CurrentPrincipal, start: datetime, end: datetime,
    organization_id: int | None = None, facility_id: int | None = None,
) -> dict[str, Any]:
    if end <= start:
        raise Problem(422, "Validation failed", "end: must be after start", type_="validation",
                      errors=[{"loc": ["query", "end"], "msg": "must be after start"}])
    org = actor.org_filter()
    if org is None:
        if organization_id is None:
            raise Problem(422, "Validation failed", "organization_id: required for a platform administrator",
                          type_="validation", errors=[{"loc": ["query", "organization_id"], "msg": "required"}])
        org = organization_id
    elif organization_id is not None and organization_id != org:
        actor.require_org(organization_id)
    leaks = await measured_emissions(session, org, start, end, facility_id)
    return {"items": [{"emission_id": x.emission_id, "facility_id": x.facility_id, "source_id": x.source_id,
                       "hours": x.hours, "ch4_kg": x.ch4_kg, "lower_kg": x.lower_kg, "upper_kg": x.upper_kg,
                       "provenance": x.provenance} for x in leaks],
            "ch4_kg": sum(x.ch4_kg for x in leaks)}

