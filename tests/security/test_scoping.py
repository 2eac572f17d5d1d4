"""Organisation scoping, checked for every operation of the route table (issue 12).

``ghgwatch.security.scoping.ROUTES`` holds the scoping decision of each operation. The first test fails when the
app has an operation without a decision (a new route) or the table names one the app no longer has. The second
test takes every operation and calls it as an administrator of organisation B against organisation A's data:

* object in the path: 403 or 404, and a PATCH or DELETE changes nothing;
* listing: no row of organisation A in the answer (A's rows all carry the marker ``ALPHA``), also when a filter
  names A's objects;
* body or query naming A's organisation or objects: 403, 404 or 422 and nothing written; the same request by A's
  own administrator succeeds, so the refusal is the scoping and not a malformed request;
* device routes refuse a user's token; platform routes refuse an organisation's administrator;
* signed routes (the equipment's acknowledgement of a command) refuse an unsigned request and one signed with
  another organisation's secret, and change nothing; A's own signature is accepted;
* figures (restoration error of the reference panel) leave A's private rows out: B's counts are below A's;
* the audit chain verification answers only its platform-wide figures, nothing of A.

Objects read with GET are also read by A's administrator, who must get them (the test's object exists).
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import func, select, update

from ghgwatch.alerts.models import Alert, AlertRule, NotificationRoute
from ghgwatch.alerts.notify.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from ghgwatch.analytics import repository
from ghgwatch.analytics.models import AnalyticsJob, Forecast, ForecastMapping
from ghgwatch.inventory.models import ActivityData, FactorSetRecord, InventoryRun, MineMethane
from ghgwatch.lab.models import LabResult
from ghgwatch.readings.models import DeadLetter, Rollup1m
from ghgwatch.reference.minedb.models import RefMine, RefMineYear, RefSeam
from ghgwatch.registry.models import EmissionSource, Facility, Organization, Sensor
from ghgwatch.reports.signoff import InventoryReport, ReportFile
from ghgwatch.responses.models import ResponseCommand, ResponseRule, WorkOrder
from ghgwatch.security import service
from ghgwatch.security.models import Role
from ghgwatch.security.principal import SYSTEM
from ghgwatch.security.scoping import ROUTES, Scope
from ghgwatch.store.base import Base
from ghgwatch.uav import flight_to_csv
from ghgwatch.uav.leak_models import MeasuredEmission
from ghgwatch.uav.models import UavFlight
from ghgwatch.uav.simulator import simulate
from ghgwatch.web.deps import CurrentPrincipal, Session
from tests.conftest import World
from tests.ingest.conftest import Platform
from tests.uav.conftest import SMALL

PREFIX = "/api/v1"
MARKER = "ALPHA"
PUBLIC_TARGET = "https://93.184.216.34/hook"
ALPHA_SECRET = "alpha-secret-0123456789"
ALPHA_MINE = f"m-{MARKER}-mine"
PUBLIC_MINE = "m-public-0"
PANEL_YEARS = range(2011, 2021)
GAP_YEAR = 2015
ALPHA_DOCUMENT = "annual-ru.json"
"""A's private mine has relative gas content for every year of the panel but this one (restoration fills it)."""
NOT_WRITTEN = {"audit_log", "audit_head", "seen_signatures"}
"""Tables a refused request may still write to (the audit trail of the refusal)."""


def _api_routes(app: FastAPI) -> list[tuple[str, APIRoute]]:
    """(path, route) of every API route; routers are included lazily, so their routes are walked through."""
    found = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and context.path and context.path.startswith(PREFIX + "/"):
            found.append((context.path, route))
    return found


def _app(platform: Platform) -> FastAPI:
    app: FastAPI = platform.client._transport.app  # type: ignore[attr-defined]
    return app


def _operations(app: FastAPI) -> set[tuple[str, str]]:
    return {(method, path[len(PREFIX):]) for path, route in _api_routes(app)
            for method in route.methods - {"HEAD", "OPTIONS"}}


async def test_every_operation_has_a_scoping_decision(platform: Platform) -> None:
    app = _app(platform)
    operations = _operations(app)
    missing = sorted(operations - ROUTES.keys())
    assert not missing, f"operations without a scoping decision (add them to security/scoping.py): {missing}"
    gone = sorted(ROUTES.keys() - operations)
    assert not gone, f"security/scoping.py names operations the app does not have: {gone}"


async def _seed_alpha(world: World) -> dict[str, Any]:
    """Organisation A's objects of every kind, each carrying the marker where it has text; and a few public
    reference mines with a full mine × year panel, so that B's restoration and evaluation have data."""
    ids: dict[str, Any] = {"organizations": world.org_a, "facilities": world.facility_a,
                           "sources": world.source_a, "sensors": world.sensor_a}
    async with world.db.transaction() as s:
        await s.execute(update(Organization).where(Organization.id == world.org_a).values(name=f"{MARKER} org"))
        await s.execute(update(Facility).where(Facility.id == world.facility_a).values(
            name=f"{MARKER} mine", attributes={"ref_mine_key": ALPHA_MINE}))  # linked to A's private reference mine
        await s.execute(update(EmissionSource).where(EmissionSource.id == world.source_a)
                        .values(name=f"{MARKER} shaft"))
        await s.execute(update(Sensor).where(Sensor.id == world.sensor_a).values(name=f"{MARKER} sensor"))
        device = await service.create_device(s, SYSTEM, organization_id=world.org_a, name=f"{MARKER} device")
        ids["devices"] = device.device.id
        rows: dict[str, Base] = {
            "activity-data": ActivityData(organization_id=world.org_a, facility_id=world.facility_a,
                                          period_start=date(2025, 1, 1), period_end=date(2025, 12, 31),
                                          activity_type="coal_mining_underground", data={"coal_t": 1000},
                                          unit="t", provenance=f"{MARKER} ledger"),
            "runs": InventoryRun(organization_id=world.org_a, year=2025, period_start=date(2025, 1, 1),
                                 period_end=date(2026, 1, 1), methodology="ipcc2006", methodology_version="1",
                                 gwp="ar5", factor_sets=[], code_version="0", inputs_sha256="0" * 64,
                                 include_measured=False, total_co2e_t=1.0, regulated_296fz=False,
                                 inputs={}, result={"marker": MARKER}, comparison={}, created_by=MARKER),
            "factor-sets": FactorSetRecord(organization_id=world.org_a, name="alpha-set", version="1",
                                           description=f"{MARKER} factors", values={"factors": []}),
            "jobs": AnalyticsJob(kind="refit", parameters={"sensor_id": world.sensor_a, "name": MARKER},
                                 organization_id=world.org_a, created_by=MARKER),
            "alerts": Alert(organization_id=world.org_a, facility_id=world.facility_a, sensor_id=world.sensor_a,
                            rule_id="methane_limit", condition="threshold", severity="alarm",
                            reason=f"{MARKER} alarm", opened_at=datetime.now(UTC)),
            "alert-rules": AlertRule(organization_id=world.org_a, scope="sensor", selector=str(world.sensor_a),
                                     rule_id="alpha_rule", definition={"kind": "stuck"},
                                     description=f"{MARKER} rule"),
            "notification-routes": NotificationRoute(organization_id=world.org_a, name=f"{MARKER} route",
                                                     channel="webhook", target=PUBLIC_TARGET),
            "deadletter": DeadLetter(ref=f"{MARKER}-1", organization_id=world.org_a, sensor_id=world.sensor_a,
                                     transport="http", reason="schema", detail=f"{MARKER} letter",
                                     reading={"sensor": world.sensor_a}),
            "mine-methane": MineMethane(facility_id=world.facility_a, year=2024, absolute_m3_min=1.0,
                                        source=f"{MARKER} survey"),
        }
        for row in rows.values():
            s.add(row)
        start_us = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp()) * 1_000_000
        s.add_all([Rollup1m(sensor_id=world.sensor_a, bucket=start_us + k * 60_000_000, count=1, sum=v, min=v,
                            max=v, last=v, last_ts=start_us + k * 60_000_000)
                   for k, v in ((0, 0.2), (1, 0.21), (4, 0.24), (5, 0.25))])
        model = await repository.add_model(
            s, name=f"{MARKER}-forecast", kind="forecast", organization_id=world.org_a, sensor_id=world.sensor_a,
            input_sensor_ids=[], method="naive", resolution="1m", data_start=datetime(2026, 1, 1, tzinfo=UTC),
            data_end=datetime(2026, 1, 2, tzinfo=UTC), trained_by=MARKER)
        await s.flush()
        s.add(Forecast(model_id=model.id, sensor_id=world.sensor_a, organization_id=world.org_a,
                       origin=datetime(2026, 1, 2, tzinfo=UTC), interval=60.0,
                       points=[{"ts": "2026-01-02T00:01:00+00:00", "forecast": 0.25, "lower": 0.2, "upper": 0.3}]))
        ids |= {key: int(row.id) for key, row in rows.items()} | {"models": model.id}  # type: ignore[attr-defined]
        mapping = ForecastMapping(organization_id=world.org_a, facility_id=world.facility_a, name=f"{MARKER} mapping",
                                  target_sensor_id=world.sensor_a, inputs=[], created_by=MARKER)
        s.add(mapping)
        await s.flush()
        mapped = await repository.add_model(
            s, name=mapping.model_name, kind="multivariate", organization_id=world.org_a, sensor_id=world.sensor_a,
            input_sensor_ids=[], method="linear", resolution="1m", data_start=datetime(2026, 1, 1, tzinfo=UTC),
            data_end=datetime(2026, 1, 2, tzinfo=UTC), trained_by=MARKER)
        s.add(Forecast(model_id=mapped.id, sensor_id=world.sensor_a, organization_id=world.org_a,
                       origin=datetime(2026, 1, 2, tzinfo=UTC), interval=0.9,
                       points=[{"ts": "2026-01-02T00:01:00+00:00", "forecast": 0.25, "lower": 0.2, "upper": 0.3}]))
        ids["forecast-mappings"] = mapping.id
        user = await service.create_user(s, SYSTEM, username=f"{MARKER}-user", password="password-123",
                                         role=Role.ENGINEER, organization_id=world.org_a)
        ids["users"] = user.id
        ids |= await _seed_alpha_more(s, world, ids)
    return ids


async def _seed_alpha_more(s: Any, world: World, ids: dict[str, Any]) -> dict[str, Any]:
    """A's flight, measured emission, lab result, response rule and command, work order, and private reference
    mine, mine-years and seam (each with the marker), and the public panel."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    flight = UavFlight(organization_id=world.org_a, facility_id=world.facility_a, source_id=world.source_a,
                       file_name=f"{MARKER}.csv", started_at=start, ended_at=start + timedelta(minutes=20),
                       samples=10, track={}, method="mass-balance", rate_kg_h=5.0, lower_kg_h=4.0, upper_kg_h=6.0,
                       created_by=MARKER)
    rule = ResponseRule(organization_id=world.org_a, name=f"{MARKER} rule", facility_id=world.facility_a,
                        action="stop_shearer", equipment=f"{MARKER} shearer", command_url=PUBLIC_TARGET,
                        secret=ALPHA_SECRET, work_order=True)
    s.add_all([flight, rule])
    await s.flush()
    rows: dict[str, Base] = {
        "flights": flight, "response-rules": rule,
        "measured-emissions": MeasuredEmission(
            organization_id=world.org_a, facility_id=world.facility_a, source_id=world.source_a, flight_id=flight.id,
            method="mass-balance", start=start, end=start + timedelta(hours=10), hours=10.0, rate_kg_h=5.0,
            lower_kg_h=4.0, upper_kg_h=6.0, ch4_kg=50.0, lower_kg=40.0, upper_kg=60.0, created_by=MARKER),
        "lab-results": LabResult(organization_id=world.org_a, facility_id=world.facility_a,
                                 source_id=world.source_a, sample_id=f"{MARKER}-1", sampled_at=start, gas="ch4",
                                 concentration=0.6, unit="%", laboratory=f"{MARKER} lab", file_name=f"{MARKER}.csv",
                                 file_row=2, created_by=MARKER),
        "response-commands": ResponseCommand(
            organization_id=world.org_a, rule_id=rule.id, alert_id=ids["alerts"], action="stop_shearer",
            equipment=f"{MARKER} shearer", idempotency_key=f"{MARKER}-command",
            ack_deadline=datetime.now(UTC) + timedelta(hours=1)),
        "work-orders": WorkOrder(organization_id=world.org_a, facility_id=world.facility_a, alert_id=ids["alerts"],
                                 title=f"{MARKER} order", created_by=MARKER),
    }
    s.add_all(rows.values())
    mines = [RefMine(record_key=ALPHA_MINE, organization_id=world.org_a, name_en=f"{MARKER} mine",
                     source=f"{MARKER} survey", depth_m=350.0, mining_method="underground")]
    years = [RefMineYear(record_key=f"y-{MARKER}-{y}", organization_id=world.org_a, mine_key=ALPHA_MINE, year=y,
                         relative_m3_t=12.0 + 0.5 * (y - PANEL_YEARS[0]), production_t=1e6,
                         source=f"{MARKER} survey") for y in PANEL_YEARS if y != GAP_YEAR]
    for i in range(4):  # public rows (organization_id NULL), as the GEM seed's
        mines.append(RefMine(record_key=f"m-public-{i}", name_en=f"Public mine {i}", source="public survey",
                             mining_method="underground"))
        years += [RefMineYear(record_key=f"y-public-{i}-{y}", mine_key=f"m-public-{i}", year=y,
                              relative_m3_t=8.0 + 2 * i + 0.4 * (y - PANEL_YEARS[0]), source="public survey")
                  for y in PANEL_YEARS]
    seam = RefSeam(record_key=f"s-{MARKER}-seam", organization_id=world.org_a, mine_key=ALPHA_MINE,
                   seam_index="K-1", source=f"{MARKER} survey")
    s.add_all([*mines, *years, seam])
    report = InventoryReport(organization_id=world.org_a, year=2025, period_start=date(2025, 1, 1),
                             period_end=date(2025, 12, 31), title=f"{MARKER} report", parameters={"year": 2025},
                             run_id=ids["runs"], inputs_sha256="0" * 64, total_co2e_t=1.0, prepared_by=MARKER,
                             state="approved")
    s.add(report)
    await s.flush()
    content = f'{{"title": "{MARKER}"}}'.encode()
    s.add(ReportFile(report_id=report.id, organization_id=world.org_a, name=ALPHA_DOCUMENT,
                     media_type="application/json", sha256=hashlib.sha256(content).hexdigest(), size=len(content),
                     content=content))
    await s.flush()
    return {key: int(row.id) for key, row in rows.items()} | {  # type: ignore[attr-defined]
        "mines": ALPHA_MINE, "mine-years": f"y-{MARKER}-{PANEL_YEARS[0]}", "seams": seam.record_key,
        "reports": report.id, "documents": ALPHA_DOCUMENT}


def _path(template: str, ids: dict[str, Any]) -> str:
    """Fill each path parameter with A's object of the collection named just before it."""
    parts = template.strip("/").split("/")
    out = []
    for i, part in enumerate(parts):
        if part.startswith("{"):
            out.append(str(ids[parts[i - 1]]))
        else:
            out.append(part)
    return PREFIX + "/" + "/".join(out)


def _parent_requests(world: World, ids: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """Requests naming A's organisation or objects in the body or query (valid when A's admin sends them)."""
    a, fac, src, sen = world.org_a, world.facility_a, world.source_a, world.sensor_a

    def upload(name: str, text: str) -> dict[str, Any]:
        return {"files": {"file": (name, text.encode(), "text/csv")}}

    return {
        ("POST", "/users"): {"json": {"username": "intruder", "password": "password-123", "role": "engineer",
                                      "organization_id": a}},
        ("POST", "/devices"): {"json": {"organization_id": a, "name": "intruder"}},
        ("POST", "/facilities"): {"json": {"organization_id": a, "name": "intruder", "type": "underground_mine"}},
        ("POST", "/sources"): {"json": {"facility_id": fac, "name": "intruder", "type": "ventilation_shaft"}},
        ("POST", "/sensors"): {"json": {"source_id": src, "name": "intruder", "kind": "methane", "unit": "%"}},
        ("POST", "/facilities/import"): upload("f.csv", f"organization_id,name,type\n{a},intruder,underground_mine\n"),
        ("POST", "/sources/import"): upload("s.csv", f"facility_id,name,type\n{fac},intruder,ventilation_shaft\n"),
        ("POST", "/sensors/import"): upload("x.csv", f"source_id,name,kind,unit\n{src},intruder,methane,%\n"),
        ("POST", "/deadletter/replay"): {"json": {"ids": [ids["deadletter"]]}},
        ("POST", "/activity-data"): {"json": {"facility_id": fac, "period_start": "2025-01-01",
                                              "period_end": "2025-12-31", "activity_type": "coal_mining_underground",
                                              "data": {"coal_t": 5}, "unit": "t"}},
        ("POST", "/activity-data/import"): upload("a.csv", "facility_id,activity_type,year,coal_t,unit\n"
                                                           f"{fac},coal_mining_underground,2025,7,t\n"),
        ("POST", "/mine-methane"): {"json": {"facility_id": fac, "year": 2023, "source": "intruder"}},
        ("POST", "/inventory/runs"): {"json": {"organization_id": a, "year": 2025}},
        ("POST", "/inventory/reports"): {"json": {"organization_id": a, "year": 2025}},
        ("POST", "/inventory/calculate"): {"json": {"methodology": "ipcc2006", "gwp": "ar6", "year": 2025,
                                                    "factor_sets": ["alpha-set@1"],
                                                    "activities": [{"id": "a1", "type": "coal_mining_underground",
                                                                    "coal_t": 1000}]}},
        ("GET", "/inventory/forecast"): {"params": {"organization_id": a, "history_months": 6,
                                                    "horizon_months": 3, "include_measured": False}},
        ("GET", "/inventory/measured"): {"params": {"facility_id": fac, "from": "2026-01-01T00:00:00Z",
                                                    "to": "2026-01-02T00:00:00Z"}},
        ("POST", "/factor-sets"): {"json": {"organization_id": a, "name": "intruder", "version": "1",
                                            "values": {"factors": [{"name": "underground_mining", "value": 12.0,
                                                                    "unit": "m3/t", "status": "user",
                                                                    "source": {"document": "x"}}]}}},
        ("GET", "/reports/methane-safety"): {"params": {"facility_id": fac, "month": "2026-01", "format": "json"}},
        ("POST", "/analytics/jobs"): {"json": {"kind": "refit", "sensor_id": sen}},
        ("POST", "/analytics/gaps/fill"): {"json": {"sensor_id": sen, "from": "2026-01-01T00:00:00Z",
                                                    "to": "2026-01-01T01:00:00Z"}},
        ("POST", "/forecast-mappings"): {"json": {"facility_id": fac, "name": "intruder", "target_sensor_id": sen}},
        ("POST", "/alert-rules"): {"json": {"organization_id": a, "scope": "sensor", "selector": str(sen),
                                            "rule_id": "intruder", "definition": {"kind": "stuck"}}},
        ("POST", "/notification-routes"): {"json": {"organization_id": a, "name": "intruder", "channel": "webhook",
                                                    "target": PUBLIC_TARGET}},
        ("POST", "/response-rules"): {"json": {"organization_id": a, "name": "intruder", "work_order": True}},
        ("POST", "/work-orders"): {"json": {"organization_id": a, "title": "intruder"}},
        ("POST", "/flights"): {"params": {"facility_id": fac, "source_id": src},
                               "files": {"file": ("f.csv", flight_to_csv(simulate(SMALL, seed=3)).encode(),
                                                  "text/csv")}},
        ("POST", "/lab-results"): {"params": {"facility_id": fac},
                                   "files": {"file": ("lab.csv", "sample_id,source,sampled_at,gas,concentration,unit\n"
                                                      f"S-9,{src},2026-01-01T00:00:00Z,co2,0.2,%\n".encode(),
                                                      "text/csv")}},
        ("GET", "/lab-results/composition"): {"params": {"source_id": src}},
        # public rows may be written by platform administrators only; A's private mine is not visible to B
        ("POST", "/reference/mines"): {"json": {"organization_id": a, "name_en": "intruder", "source": "x"}},
        ("POST", "/reference/mine-years"): {"json": {"mine_key": ALPHA_MINE, "year": 2030, "source": "x"}},
        ("POST", "/reference/seams"): {"json": {"mine_key": ALPHA_MINE, "seam_index": "K-9", "source": "x"}},
        ("POST", "/reference/mines/import"): upload("m.csv", f"organization_id,name_en,source\n{a},intruder,x\n"),
        ("POST", "/reference/mine-years/import"): upload("y.csv", f"mine_key,year,source\n{ALPHA_MINE},2031,x\n"),
        ("POST", "/reference/seams/import"): upload("s.csv", f"mine_key,seam_index,source\n{ALPHA_MINE},K-8,x\n"),
    }


def _query_objects(world: World) -> dict[tuple[str, str], tuple[str, dict[str, Any]]]:
    """Operations with an object in the path that also name one in the query: (path, request naming A's object
    with a path object B may see), checked like a body or query naming A's objects."""
    return {("GET", "/reference/mines/{key}/tiers"): (
        f"{PREFIX}/reference/mines/{PUBLIC_MINE}/tiers", {"params": {"year": 2016, "facility_id": world.facility_a}})}


OBJECT_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/alerts/{alert_id}/acknowledge"): {"json": {"comment": "intruder"}},
    ("POST", "/alerts/{alert_id}/resolve"): {"json": {"comment": "intruder"}},
    ("POST", "/alerts/{alert_id}/comments"): {"json": {"comment": "intruder"}},
    ("GET", "/inventory/runs/{run_id}/report"): {"params": {"format": "json"}},
    ("POST", "/flights/{flight_id}/emission"): {"json": {"hours": 1}},
    ("POST", "/inventory/reports/{report_id}/reject"): {"json": {"comment": "intruder"}},
    ("GET", "/reference/mines/{key}/tiers"): {"params": {"year": GAP_YEAR + 1}},
}
LISTING_REQUESTS: dict[tuple[str, str], dict[str, Any]] = {
    ("GET", "/measured-emissions"): {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"},
    ("POST", "/reference/mine-years/restore"): {"method": "interpolation"},
    # the public GEM rows come first: every row on one page
    **{("GET", f"/reference/{kind}"): {"limit": 10_000} for kind in ("mines", "mine-years", "seams")},
}
"""Query parameters a listing needs (the filters are added to them)."""
FIGURES: dict[tuple[str, str], tuple[dict[str, Any], tuple[str, ...]]] = {
    ("POST", "/reference/mine-years/evaluate"): ({"params": {"repeats": 1}}, ("mines", "known")),
}
"""Request, and the counts that include A's private rows for A and must not for B."""
NO_OWNER_READ = {("GET", "/inventory/runs/{run_id}/report")}
"""Objects the owner's read is not checked for: the seeded run holds a marker, not a result a report can show."""
AUDIT_VERIFICATION = {"intact", "scope", "checked", "problem_seq", "problem", "anchored"}
PLATFORM_REQUESTS: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/organizations"): {"json": {"name": "intruder"}},
    ("POST", "/organizations/import"): {"files": {"file": ("o.csv", b"name\nintruder\n", "text/csv")}},
}
FILTERS = ("organization_id", "facility_id", "source_id", "sensor_id", "model_id")
SKIP_CALLS = {("GET", "/alerts/stream")}
"""Server-sent events never end; the stream filters by organisation like ``GET /alerts`` (tests/alerts)."""


def _shows_a(answer: Any, world: World) -> bool:
    text = answer.text.replace(" ", "")
    return MARKER in text or f'"organization_id":{world.org_a},' in text or f"\n{world.org_a}," in text


NOTHING_TO_LIST = {("GET", "/notifications/deliveries")}
"""Listings whose rows the seed does not make (deliveries need a delivered alert): checked for leaks only."""


def _refused_rows(answer: Any, template: str) -> bool:
    """A file import answers 200 with a report: every row refused (listed in ``errors``) is a refusal too."""
    if answer.status_code != 200 or not template.endswith("/import"):
        return False
    report = answer.json()
    return bool(report["errors"]) and report["created"] == report["updated"] == 0


async def _counts(world: World) -> dict[str, int]:
    async with world.db.sessions() as s:
        return {t.name: int((await s.execute(select(func.count()).select_from(t))).scalar_one())
                for t in Base.metadata.sorted_tables if t.name not in NOT_WRITTEN}


def _filters_for(app: FastAPI, method: str, path: str, ids: dict[str, Any]) -> dict[str, Any]:
    values = {"organization_id": ids["organizations"], "facility_id": ids["facilities"],
              "source_id": ids["sources"], "sensor_id": ids["sensors"], "model_id": ids["models"]}
    for full, route in _api_routes(app):
        if full == PREFIX + path and method in route.methods:
            return {p.alias: values[p.alias] for p in route.dependant.query_params if p.alias in FILTERS}
    return {}


async def test_another_organisations_user_gets_nothing_of_it(platform: Platform) -> None:
    ids = await _seed_alpha(platform.world)
    problems = await _walk(_app(platform), platform.world, ids, ROUTES)
    assert not problems, "\n".join(problems)


async def _walk(app: FastAPI, world: World, ids: dict[str, Any], routes: dict[tuple[str, str], Scope]) -> list[str]:
    intruder = await world.login(Role.ADMIN, world.org_b)
    owner = await world.login(Role.ADMIN, world.org_a)
    parents = _parent_requests(world, ids)
    query_objects = _query_objects(world)
    problems: list[str] = []

    async def call(method: str, path: str, headers: dict[str, str], **kwargs: Any) -> Any:
        return await world.client.request(method, path, headers=headers, **kwargs)

    async def refused_parent(where: str, method: str, path: str, request: dict[str, Any]) -> None:
        """B's request naming A's objects is refused and writes nothing; A's same request succeeds."""
        before = await _counts(world)
        answer = await call(method, path, intruder, **request)
        changed = await _counts(world) != before
        if (answer.status_code not in (403, 404, 422) and not _refused_rows(answer, path)) or changed:
            problems.append(f"{where}: another organisation's user got {answer.status_code} (rows written: "
                            f"{changed}) {answer.text[:200]}")
        control = await call(method, path, owner, **request)
        if control.status_code >= 300:
            problems.append(f"{where}: the owner's own request failed ({control.status_code} "
                            f"{control.text[:200]}): the test request is wrong")

    for (method, template), scope in sorted(routes.items()):
        where = f"{method} {template} ({scope})"
        if (method, template) in SKIP_CALLS or scope in (Scope.PUBLIC, Scope.SELF):
            continue
        if scope is Scope.DEVICE:
            answer = await call(method, PREFIX + template, intruder, json={})
            if answer.status_code != 401:
                problems.append(f"{where}: a user token got {answer.status_code}")
        elif scope is Scope.PLATFORM:
            before = await _counts(world)
            answer = await call(method, PREFIX + template, intruder, **PLATFORM_REQUESTS[(method, template)])
            if (answer.status_code != 403 and not _refused_rows(answer, template)) or await _counts(world) != before:
                problems.append(f"{where}: an organisation's admin got {answer.status_code}")
        elif scope is Scope.OBJECT:
            before = await _counts(world)
            kwargs = OBJECT_BODIES.get((method, template), {"json": {}} if method in ("PATCH", "POST") else {})
            answer = await call(method, _path(template, ids), intruder, **kwargs)
            if answer.status_code not in (403, 404) or await _counts(world) != before:
                problems.append(f"{where}: another organisation's user got {answer.status_code} {answer.text[:200]}")
            if method == "GET" and (method, template) not in NO_OWNER_READ:
                control = await call(method, _path(template, ids), owner, **kwargs)
                if control.status_code >= 300:
                    problems.append(f"{where}: the owner cannot read its own object ({control.status_code} "
                                    f"{control.text[:200]}): the check would not see a leak")
            if (method, template) in query_objects:
                path, named = query_objects[(method, template)]
                await refused_parent(f"{where} naming A's object in the query", method, path, named)
        elif scope is Scope.LISTING:
            base = LISTING_REQUESTS.get((method, template), {})
            for params in (base, base | _filters_for(app, method, template, ids)):
                answer = await call(method, PREFIX + template, intruder, params=params)
                if answer.status_code not in (200, 403, 404) or (answer.status_code == 200 and _shows_a(answer, world)):
                    problems.append(f"{where} {params}: {answer.status_code}, A's rows shown {answer.text[:200]}")
                control = await call(method, PREFIX + template, owner, params=params)
                if (method, template) not in NOTHING_TO_LIST and not _shows_a(control, world):
                    problems.append(f"{where} {params}: the owner does not see its own rows ({control.status_code} "
                                    f"{control.text[:200]}): the check would not see a leak")
        elif scope is Scope.PARENT:
            request = parents.get((method, template))
            if request is None:
                problems.append(f"{where}: no request in _parent_requests for it")
                continue
            await refused_parent(where, method, PREFIX + template, request)
        elif scope is Scope.SIGNED:
            problems += await _check_signed(world, intruder, where, _path(template, ids), ids)
        elif scope is Scope.FIGURES:
            asked, counts = FIGURES[(method, template)]
            answer = await call(method, PREFIX + template, intruder, **asked)
            control = await call(method, PREFIX + template, owner, **asked)
            if answer.status_code != 200 or control.status_code != 200:
                problems.append(f"{where}: {answer.status_code} for B, {control.status_code} for A "
                                f"{answer.text[:200]} {control.text[:200]}")
            elif _shows_a(answer, world) or any(answer.json()[c] >= control.json()[c] for c in counts):
                problems.append(f"{where}: B's figures count A's rows ({ {c: answer.json()[c] for c in counts} } "
                                f"for B, { {c: control.json()[c] for c in counts} } for A)")
        elif scope is Scope.INTEGRITY:
            answer = await call(method, PREFIX + template, intruder)
            if answer.status_code != 200 or set(answer.json()) != AUDIT_VERIFICATION or _shows_a(answer, world):
                problems.append(f"{where}: {answer.status_code} {answer.text[:200]}")
        else:
            problems.append(f"{where}: no check for this kind of decision")
    return problems


async def _command_status(world: World, key: int) -> str:
    async with world.db.sessions() as s:
        return str((await s.get(ResponseCommand, key)).status)  # type: ignore[union-attr]


async def _check_signed(world: World, intruder: dict[str, str], where: str, path: str,
                        ids: dict[str, Any]) -> list[str]:
    """An unsigned report (with a user's token) and one signed with B's own rule's secret are refused and change
    nothing; the same report signed with A's rule's secret is taken."""
    problems = []
    b_secret = "bravo-secret-0123456789"
    async with world.db.transaction() as s:
        s.add(ResponseRule(organization_id=world.org_b, name="bravo rule", action="stop_shearer",
                           equipment="bravo shearer", command_url=PUBLIC_TARGET, secret=b_secret))
    body = json.dumps({"status": "acknowledged"}).encode()
    stamp = str(int(time.time()))
    key = ids["response-commands"]
    attempts = {"unsigned, with B's user token": intruder,
                "signed with B's secret": {SIGNATURE_HEADER: sign(b_secret, stamp, body), TIMESTAMP_HEADER: stamp}}
    for label, headers in attempts.items():
        answer = await world.client.post(path, content=body, headers=headers | {"Content-Type": "application/json"})
        if answer.status_code != 401 or await _command_status(world, key) != "pending":
            problems.append(f"{where} {label}: {answer.status_code} {answer.text[:200]}")
    own = {SIGNATURE_HEADER: sign(ALPHA_SECRET, stamp, body), TIMESTAMP_HEADER: stamp,
           "Content-Type": "application/json"}
    control = await world.client.post(path, content=body, headers=own)
    if control.status_code != 200 or await _command_status(world, key) != "acknowledged":
        problems.append(f"{where}: A's own signed report failed ({control.status_code} {control.text[:200]}): "
                        "the test request is wrong")
    return problems


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_the_walk_catches_an_unscoped_route(platform: Platform) -> None:
    """The checks can fail: a new route is reported until it has a decision, and a leaky one is reported."""
    app, world = _app(platform), platform.world
    ids = await _seed_alpha(world)

    async def leaky(key: int, session: Session, actor: CurrentPrincipal) -> dict[str, Any]:
        del actor  # forgets to check the organisation
        row = await session.get(Facility, key)
        return {"name": None if row is None else row.name}

    app.router.add_api_route(PREFIX + "/facilities/{key}/leaky", leaky, methods=["GET"])
    try:
        assert _operations(app) - ROUTES.keys() == {("GET", "/facilities/{key}/leaky")}
        problems = await _walk(app, world, ids, {("GET", "/facilities/{key}/leaky"): Scope.OBJECT})
        assert len(problems) == 1 and "got 200" in problems[0], problems
    finally:
        app.router.routes.pop()
