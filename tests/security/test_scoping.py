"""Organisation scoping, checked for every operation of the route table (issue 12).

``ghgwatch.security.scoping.ROUTES`` holds the scoping decision of each operation. The first test fails when the
app has an operation without a decision (a new route) or the table names one the app no longer has. The second
test takes every operation and calls it as an administrator of organisation B against organisation A's data:

* object in the path: 403 or 404, and a PATCH or DELETE changes nothing;
* listing: no row of organisation A in the answer (A's rows all carry the marker ``ALPHA``), also when a filter
  names A's objects;
* body or query naming A's organisation or objects: 403, 404 or 422 and nothing written; the same request by A's
  own administrator succeeds, so the refusal is the scoping and not a malformed request;
* device routes refuse a user's token; platform routes refuse an organisation's administrator.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import func, select, update

from ghgwatch.alerts.models import Alert, AlertRule, NotificationRoute
from ghgwatch.analytics import repository
from ghgwatch.analytics.models import AnalyticsJob
from ghgwatch.inventory.models import ActivityData, FactorSetRecord, InventoryRun, MineMethane
from ghgwatch.readings.models import DeadLetter, Rollup1m
from ghgwatch.registry.models import EmissionSource, Facility, Organization, Sensor
from ghgwatch.security import service
from ghgwatch.security.models import Role
from ghgwatch.security.principal import SYSTEM
from ghgwatch.security.scoping import ROUTES, Scope
from ghgwatch.store.base import Base
from ghgwatch.web.deps import CurrentPrincipal, Session
from tests.conftest import World
from tests.ingest.conftest import Platform

PREFIX = "/api/v1"
MARKER = "ALPHA"
PUBLIC_TARGET = "https://93.184.216.34/hook"
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


async def _seed_alpha(world: World) -> dict[str, int]:
    """Organisation A's objects of every kind, each carrying the marker where it has text."""
    ids: dict[str, int] = {"organizations": world.org_a, "facilities": world.facility_a,
                           "sources": world.source_a, "sensors": world.sensor_a}
    async with world.db.transaction() as s:
        await s.execute(update(Organization).where(Organization.id == world.org_a).values(name=f"{MARKER} org"))
        await s.execute(update(Facility).where(Facility.id == world.facility_a).values(name=f"{MARKER} mine"))
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
        ids |= {key: int(row.id) for key, row in rows.items()} | {"models": model.id}  # type: ignore[attr-defined]
    return ids


def _path(template: str, ids: dict[str, int]) -> str:
    """Fill each path parameter with A's object of the collection named just before it."""
    parts = template.strip("/").split("/")
    out = []
    for i, part in enumerate(parts):
        if part.startswith("{"):
            out.append(str(ids[parts[i - 1]]))
        else:
            out.append(part)
    return PREFIX + "/" + "/".join(out)


def _parent_requests(world: World, ids: dict[str, int]) -> dict[tuple[str, str], dict[str, Any]]:
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
        ("POST", "/inventory/calculate"): {"json": {"methodology": "ipcc2006", "gwp": "ar6", "year": 2025,
                                                    "factor_sets": ["alpha-set@1"],
                                                    "activities": [{"id": "a1", "type": "coal_mining_underground",
                                                                    "coal_t": 1000}]}},
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
        ("POST", "/alert-rules"): {"json": {"organization_id": a, "scope": "sensor", "selector": str(sen),
                                            "rule_id": "intruder", "definition": {"kind": "stuck"}}},
        ("POST", "/notification-routes"): {"json": {"organization_id": a, "name": "intruder", "channel": "webhook",
                                                    "target": PUBLIC_TARGET}},
    }


OBJECT_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/alerts/{alert_id}/acknowledge"): {"json": {"comment": "intruder"}},
    ("POST", "/alerts/{alert_id}/resolve"): {"json": {"comment": "intruder"}},
    ("GET", "/inventory/runs/{run_id}/report"): {"params": {"format": "json"}},
}
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


def _filters_for(app: FastAPI, method: str, path: str, ids: dict[str, int]) -> dict[str, int]:
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


async def _walk(app: FastAPI, world: World, ids: dict[str, int], routes: dict[tuple[str, str], Scope]) -> list[str]:
    intruder = await world.login(Role.ADMIN, world.org_b)
    owner = await world.login(Role.ADMIN, world.org_a)
    parents = _parent_requests(world, ids)
    problems: list[str] = []

    async def call(method: str, path: str, headers: dict[str, str], **kwargs: Any) -> Any:
        return await world.client.request(method, path, headers=headers, **kwargs)

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
        elif scope is Scope.LISTING:
            for params in ({}, _filters_for(app, method, template, ids)):
                answer = await call(method, PREFIX + template, intruder, params=params)
                if answer.status_code not in (200, 403, 404) or (answer.status_code == 200 and _shows_a(answer, world)):
                    problems.append(f"{where} {params}: {answer.status_code}, A's rows shown")
                control = await call(method, PREFIX + template, owner, params=params)
                if (method, template) not in NOTHING_TO_LIST and not _shows_a(control, world):
                    problems.append(f"{where} {params}: the owner does not see its own rows ({control.status_code} "
                                    f"{control.text[:200]}): the check would not see a leak")
        elif scope is Scope.PARENT:
            request = parents.get((method, template))
            if request is None:
                problems.append(f"{where}: no request in _parent_requests for it")
                continue
            before = await _counts(world)
            answer = await call(method, PREFIX + template, intruder, **request)
            changed = await _counts(world) != before
            if (answer.status_code not in (403, 404, 422) and not _refused_rows(answer, template)) or changed:
                problems.append(f"{where}: another organisation's user got {answer.status_code} (rows written: "
                                f"{changed}) {answer.text[:200]}")
            control = await call(method, PREFIX + template, owner, **request)
            if control.status_code >= 300:
                problems.append(f"{where}: the owner's own request failed ({control.status_code} "
                                f"{control.text[:200]}): the test request is wrong")
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
