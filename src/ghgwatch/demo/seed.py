"""Create (once) the demo organisation and write ``<data-dir>/demo-credentials.json``."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ghgwatch.inventory import activity_data
from ghgwatch.inventory.schemas import ActivityDataIn
from ghgwatch.reference import gem
from ghgwatch.registry import service
from ghgwatch.registry.models import EmissionSource, FacilityType, Organization, Sensor, SensorKind, SourceType
from ghgwatch.registry.schemas import FacilityIn, OrganizationIn, SensorIn, SourceIn
from ghgwatch.registry.specs import FACILITIES, ORGANIZATIONS, SENSORS, SOURCES
from ghgwatch.security import service as security
from ghgwatch.security.models import Role
from ghgwatch.security.principal import Principal
from ghgwatch.settings import Settings
from ghgwatch.store import Database

DEMO_ORG = "Demo Kuzbass Coal"
DEMO_MINE_ID = "M0836"
"""Raspadskaya Coal Mine: an underground Kuzbass mine with shafts and drainage stations in the GEM data."""
ACTOR = Principal(user_id=0, username="demo-seed", role=Role.ADMIN, organization_id=None)


@dataclass(frozen=True)
class SensorTemplate:
    name: str
    kind: SensorKind
    unit: str
    range_min: float
    range_max: float
    expected_interval_s: float = 10.0
    location: str | None = None
    warning_level: float | None = None
    alarm_level: float | None = None


# Physical ranges are those of common mine instruments (methane meters 0-100 % vol, anemometers,
# barometers); alarm levels for methane follow the mine safety rules collected in METHODOLOGY.md §2.3
# (longwall outgoing air 1.0 %, mine/wing outgoing air 0.75 % [M]); warning at 80 % of alarm is our choice.
SHAFT = (
    SensorTemplate("CH4 outgoing air", SensorKind.METHANE, "%", 0, 100, location="mine_outgoing",
                   warning_level=0.6, alarm_level=0.75),
    SensorTemplate("Air flow", SensorKind.AIR_FLOW, "m3/min", 0, 50000),
    SensorTemplate("Air temperature", SensorKind.TEMPERATURE, "degC", -50, 60),
    SensorTemplate("Barometric pressure", SensorKind.PRESSURE, "kPa", 80, 120),
)
DRAINAGE = (
    SensorTemplate("CH4 in drainage pipeline", SensorKind.METHANE, "%", 0, 100, location="drainage_pipeline"),
    SensorTemplate("Mixture flow", SensorKind.GAS_FLOW, "m3/min", 0, 1000),
    SensorTemplate("Pipeline depression", SensorKind.DIFFERENTIAL_PRESSURE, "kPa", -100, 100),
)
LONGWALL = (
    SensorTemplate("CH4 longwall outgoing air", SensorKind.METHANE, "%", 0, 100, expected_interval_s=5.0,
                   location="longwall_outgoing", warning_level=0.8, alarm_level=1.0),
    SensorTemplate("Air velocity", SensorKind.AIR_VELOCITY, "m/s", 0, 20, expected_interval_s=5.0),
)
BOILER = (
    SensorTemplate("CO2 in flue gas", SensorKind.CO2, "%", 0, 25),
    SensorTemplate("Coal feed", SensorKind.GAS_FLOW, "m3/min", 0, 500),
)
TEMPLATES = {SourceType.VENTILATION_SHAFT: SHAFT, SourceType.DRAINAGE_STATION: DRAINAGE,
             SourceType.OTHER: LONGWALL, SourceType.BOILER: BOILER}


SYNTHETIC = ("SYNTHETIC demo data (ghgwatch up --demo): monthly coal = the GEM production snapshot of the mine "
             "spread over the months with an invented seasonal pattern; fuel quantities invented. Not a real "
             "record of the mine.")
# Invented month shares of the annual production (sum 1; longwall moves in summer, holidays in January).
_MONTH_SHARE = (0.075, 0.082, 0.088, 0.085, 0.086, 0.079, 0.078, 0.083, 0.085, 0.087, 0.086, 0.086)
_BOILER_COAL_T = (2400, 2200, 2000, 1500, 900, 500, 450, 450, 800, 1400, 1900, 2300)  # invented, t/month
_DIESEL_T = 95.0  # invented: underground and surface vehicles, t/month


def demo_activity_rows(mine_id: int, boiler_id: int, production_mt: float, depth_m: float | None,
                       year: int) -> list[ActivityDataIn]:
    """A year of monthly activity data for the demo organisation, every row labelled synthetic."""
    rows: list[ActivityDataIn] = []
    for month in range(1, 13):
        start = date(year, month, 1)
        end = date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)
        coal_t = round(production_mt * 1e6 * _MONTH_SHARE[month - 1])
        mining: dict[str, Any] = {"coal_t": coal_t} | ({"depth_m": depth_m} if depth_m is not None else {})
        for kind, facility, data in (
            ("coal_mining_underground", mine_id, mining),
            ("coal_post_mining_underground", mine_id, mining),
            ("stationary_combustion", boiler_id,
             {"fuel": "bituminous_coal", "quantity": _BOILER_COAL_T[month - 1], "unit": "т"}),
            ("stationary_combustion", mine_id, {"fuel": "diesel", "quantity": _DIESEL_T, "unit": "t"}),
        ):
            rows.append(ActivityDataIn(facility_id=facility, period_start=start, period_end=end,
                                       activity_type=kind, data=data, provenance=SYNTHETIC))
    return rows


async def _add_sensors(session: AsyncSession, source: EmissionSource) -> None:
    for t in TEMPLATES.get(source.type, ()):
        await service.create(session, ACTOR, SENSORS, SensorIn(
            source_id=source.id, name=t.name, kind=t.kind, unit=t.unit, range_min=t.range_min,
            range_max=t.range_max, expected_interval_s=t.expected_interval_s, location=t.location,
            warning_level=t.warning_level, alarm_level=t.alarm_level))


async def _create_site(session: AsyncSession) -> int:
    org = await service.create(session, ACTOR, ORGANIZATIONS, OrganizationIn(
        name=DEMO_ORG, description="Demo organisation created by `ghgwatch up --demo`."))
    org_id = int(org.id)  # type: ignore[attr-defined]
    summary = await gem.import_mines(session, ACTOR, org_id, gem.find_mines(ids={DEMO_MINE_ID}))
    mine_id = summary.facility_ids[DEMO_MINE_ID]
    await service.create(session, ACTOR, SOURCES, SourceIn(
        facility_id=mine_id, name="Longwall 5-1 (outgoing air)", type=SourceType.OTHER,
        description="Underground longwall panel (illustrative; not in the GEM data)."))
    mine = await service.get(session, ACTOR, FACILITIES, mine_id)
    boiler_house = await service.create(session, ACTOR, FACILITIES, FacilityIn(
        organization_id=org_id, name="Mine boiler house", type=FacilityType.BOILER_HOUSE,
        latitude=mine.latitude, longitude=mine.longitude, region=mine.region,  # type: ignore[attr-defined]
        description="Coal-fired boiler house of the demo mine (illustrative)."))
    await service.create(session, ACTOR, SOURCES, SourceIn(
        facility_id=boiler_house.id, name="Boiler No. 1", type=SourceType.BOILER))  # type: ignore[attr-defined]
    sources = (await session.execute(
        select(EmissionSource).where(EmissionSource.organization_id == org_id).order_by(EmissionSource.id)
    )).scalars().all()
    for source in sources:
        await _add_sensors(session, source)
    # A year of activity data (the last complete calendar year), so that the demo's report is meaningful.
    (gem_mine,) = gem.find_mines(ids={DEMO_MINE_ID})
    year = datetime.now(UTC).year - 1
    for row in demo_activity_rows(mine_id, int(boiler_house.id), gem_mine.production_mt or 0.0,  # type: ignore[attr-defined]
                                  gem_mine.depth_m, year):
        await activity_data.create(session, ACTOR, row)
    return org_id


async def seed_demo(db: Database, settings: Settings, *, api_url: str) -> dict[str, Any]:
    """Create the demo site if it is missing, and (re)write the credentials file."""
    path = settings.data_dir / "demo-credentials.json"
    previous: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    async with db.transaction() as session:
        org = (await session.execute(select(Organization).where(Organization.name == DEMO_ORG))).scalar_one_or_none()
        if org is None or "admin" not in previous:
            org_id = org.id if org is not None else await _create_site(session)
            password = secrets.token_urlsafe(12)
            username = f"demo-admin-{secrets.token_hex(3)}"
            await security.create_user(session, ACTOR, username=username, password=password, role=Role.ADMIN,
                                       organization_id=org_id)
            issued = await security.create_device(session, ACTOR, organization_id=org_id, name="demo gateway")
            previous = {"admin": {"username": username, "password": password}, "device_token": issued.token,
                        "device_hmac_secret": issued.device.hmac_secret, "organization_id": org_id}
        else:
            org_id = org.id
        rows = (await session.execute(
            select(Sensor, EmissionSource.name).join(EmissionSource, Sensor.source_id == EmissionSource.id)
            .where(Sensor.organization_id == org_id).order_by(Sensor.id)
        )).all()
    credentials = {
        "api": api_url,
        **previous,
        "sensors": [{"id": s.id, "kind": s.kind.value, "unit": s.unit, "name": s.name, "source": src,
                     "location": s.location} for s, src in rows],
        "data_credit": gem.CREDIT,
    }
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(credentials, indent=2, ensure_ascii=False))
    path.chmod(0o600)
    return credentials
