"""Issue 14 item 5: the longwall methane forecast in the platform.

A forecast mapping names a facility's stored sensors as a multivariate model's inputs and target; jobs train it
from the stored 1-minute rollups (registered with its backtest, promoted only when it beats the naive forecast),
forecast 10-60 minutes ahead with intervals, and the early-warning rule (``forecast_limit``) opens an alert when
a stored forecast's upper bound crosses the limit within N minutes. Both databases.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np
import pytest
from sqlalchemy import func, select

from ghgwatch.alerts.early_warning import judge_forecast
from ghgwatch.alerts.hub import hub_of
from ghgwatch.alerts.models import Alert, AlertHistory
from ghgwatch.analytics.models import DriftReport, Forecast, RegisteredModel
from ghgwatch.analytics.service import AnalyticsService
from ghgwatch.readings.models import Rollup1m
from ghgwatch.registry import service as registry
from ghgwatch.registry.schemas import SensorIn, SourceIn
from ghgwatch.registry.specs import SENSORS, SOURCES
from ghgwatch.security.models import Role
from ghgwatch.security.principal import SYSTEM
from ghgwatch.settings import Settings
from tests.conftest import World

API = "/api/v1"
MINUTES = 8 * 60
END = datetime.now(UTC).replace(second=0, microsecond=0)


async def _longwall(world: World) -> dict[str, int]:
    """A longwall source on facility A with CH4 in the outgoing air (alarm 1.0 %), air velocity, suction mixture
    flow and pressure differential; and a sensor of organisation B."""
    ids: dict[str, int] = {}
    async with world.db.transaction() as s:
        src = await registry.create(s, SYSTEM, SOURCES, SourceIn(facility_id=world.facility_a, name="Longwall 5-1",
                                                                 type="other"))  # type: ignore[arg-type]
        for key, kind, unit, extra in (
            ("ch4", "methane", "%", {"location": "longwall_outgoing", "alarm_level": 1.0, "warning_level": 0.8}),
            ("velocity", "air_velocity", "m/s", {}), ("flow", "gas_flow", "m3/min", {}),
            ("dp", "differential_pressure", "kPa", {}),
        ):
            sensor = await registry.create(s, SYSTEM, SENSORS, SensorIn(
                source_id=src.id, name=key, kind=kind, unit=unit, range_min=0, range_max=100,  # type: ignore[attr-defined, arg-type]
                **extra))
            ids[key] = sensor.id  # type: ignore[attr-defined]
        src_b = await registry.create(s, SYSTEM, SOURCES, SourceIn(facility_id=world.facility_b, name="Shaft B",
                                                                   type="ventilation_shaft"))  # type: ignore[arg-type]
        other = await registry.create(s, SYSTEM, SENSORS, SensorIn(
            source_id=src_b.id, name="B", kind="air_velocity", unit="m/s"))  # type: ignore[attr-defined, arg-type]
        ids["other_org"] = other.id  # type: ignore[attr-defined]
    return ids


def _series(random_walk: bool = False) -> dict[str, np.ndarray]:
    """Minute values: the pressure differential leads the longwall CH4 by 40 minutes (a known driver)."""
    t = np.arange(MINUTES, dtype=np.float64)
    rng = np.random.default_rng(7)
    driver = np.sin(2 * np.pi * (t + 40) / 150) + 0.5 * np.sin(2 * np.pi * (t + 40) / 47)
    if random_walk:  # nothing to learn: persistence is the best forecast
        ch4 = 0.6 + np.cumsum(rng.normal(0, 0.02, MINUTES))
        driver = rng.normal(0, 1, MINUTES)
    else:
        ch4 = 0.6 + 0.15 * np.sin(2 * np.pi * t / 150) + 0.075 * np.sin(2 * np.pi * t / 47) \
            + rng.normal(0, 0.005, MINUTES)
    return {"ch4": ch4, "dp": 20 + 2 * driver, "velocity": 3 + rng.normal(0, 0.02, MINUTES),
            "flow": 40 + rng.normal(0, 0.5, MINUTES)}


async def _store(world: World, ids: dict[str, int], *, random_walk: bool = False) -> None:
    start_us = int((END - timedelta(minutes=MINUTES)).timestamp()) * 1_000_000
    async with world.db.transaction() as s:
        for key, values in _series(random_walk).items():
            s.add_all([Rollup1m(sensor_id=ids[key], bucket=start_us + k * 60_000_000, count=1, sum=float(v),
                                min=float(v), max=float(v), last=float(v), last_ts=start_us + k * 60_000_000)
                       for k, v in enumerate(values)])


def _mapping_body(world: World, ids: dict[str, int], **over: Any) -> dict[str, Any]:
    return {"facility_id": world.facility_a, "name": "Longwall 5-1 CH4", "target_sensor_id": ids["ch4"],
            "inputs": [{"sensor_id": ids["velocity"], "role": "air_velocity"},
                       {"sensor_id": ids["flow"], "role": "suction_mixture_flow"},
                       {"sensor_id": ids["dp"], "role": "pressure_differential"}], **over}


async def _run_job(client: httpx.AsyncClient, service: AnalyticsService, headers: dict[str, str],
                   **body: Any) -> dict[str, Any]:
    answer = await client.post(f"{API}/analytics/jobs", json=body, headers=headers)
    assert answer.status_code == 202, answer.text
    job_id = answer.json()["id"]
    assert await service.run_next(job_id) == job_id
    job: dict[str, Any] = (await client.get(f"{API}/analytics/jobs/{job_id}", headers=headers)).json()
    return job


async def test_a_mapping_names_only_sensors_of_its_facility(world: World) -> None:
    ids = await _longwall(world)
    engineer = await world.login(Role.ENGINEER, world.org_a)
    client = world.client

    async def post(body: dict[str, Any], headers: dict[str, str] = engineer) -> httpx.Response:
        return await client.post(f"{API}/forecast-mappings", json=body, headers=headers)

    bad_input = _mapping_body(world, ids)
    bad_input["inputs"][1]["sensor_id"] = 999_999
    answer = await post(bad_input)
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["loc"] == ["body", "inputs", 1, "sensor_id"]
    assert "sensor 999999 is not a sensor of facility" in answer.json()["detail"]
    foreign = _mapping_body(world, ids)
    foreign["inputs"].append({"sensor_id": ids["other_org"], "role": "air_velocity"})
    answer = await post(foreign)
    assert answer.status_code == 422 and answer.json()["errors"][0]["loc"] == ["body", "inputs", 3, "sensor_id"]
    answer = await post(_mapping_body(world, ids, target_sensor_id=ids["other_org"]))
    assert answer.status_code == 422 and answer.json()["errors"][0]["loc"] == ["body", "target_sensor_id"]
    twice = _mapping_body(world, ids)
    twice["inputs"].append({"sensor_id": ids["ch4"], "role": "methane"})
    assert (await post(twice)).status_code == 422
    unknown_role = _mapping_body(world, ids)
    unknown_role["inputs"][0]["role"] = "moon_phase"
    assert (await post(unknown_role)).status_code == 422
    assert (await post(_mapping_body(world, ids, horizon_min=5))).status_code == 422
    assert (await post(_mapping_body(world, ids, facility_id=world.facility_b))).status_code == 403
    assert (await post(_mapping_body(world, ids), await world.login(Role.OPERATOR, world.org_a))).status_code == 403

    created = await post(_mapping_body(world, ids))
    assert created.status_code == 201, created.text
    mapping = created.json()
    assert mapping["inputs"][2] == {"sensor_id": ids["dp"], "role": "pressure_differential"}
    assert mapping["model_name"] == f"forecast-mapping-{mapping['id']}"
    assert (await post(_mapping_body(world, ids))).status_code == 409

    intruder = await world.login(Role.ADMIN, world.org_b)
    assert (await client.get(f"{API}/forecast-mappings/{mapping['id']}", headers=intruder)).status_code in (403, 404)
    assert (await client.get(f"{API}/forecast-mappings", headers=intruder)).json()["items"] == []
    assert (await client.delete(f"{API}/forecast-mappings/{mapping['id']}", headers=intruder)).status_code in (403,
                                                                                                               404)
    mine = (await client.get(f"{API}/forecast-mappings", params={"facility_id": world.facility_a},
                             headers=engineer)).json()["items"]
    assert [m["id"] for m in mine] == [mapping["id"]]
    # a job naming another organisation's mapping is refused before it is queued
    answer = await client.post(f"{API}/analytics/jobs", json={"kind": "mapping_fit", "mapping_id": mapping["id"]},
                               headers=await world.login(Role.ENGINEER, world.org_b))
    assert answer.status_code == 403
    answer = await client.post(f"{API}/analytics/jobs", json={"kind": "mapping_fit"}, headers=engineer)
    assert answer.status_code == 422 and "mapping_id" in answer.text


async def test_training_from_stored_data_promotes_and_serves_a_bounded_forecast(
    world: World, settings: Settings
) -> None:
    ids = await _longwall(world)
    await _store(world, ids)
    engineer = await world.login(Role.ENGINEER, world.org_a)
    client = world.client
    mapping = (await client.post(f"{API}/forecast-mappings", json=_mapping_body(world, ids, window_hours=12),
                                 headers=engineer)).json()
    service = AnalyticsService(world.db, settings)

    fit = await _run_job(client, service, engineer, kind="mapping_fit", mapping_id=mapping["id"])
    assert fit["state"] == "done", fit["message"]
    result = fit["result"]
    assert result["promoted"] is True and result["beats_naive"] is True
    assert result["metrics"]["mae"] < 0.5 * result["metrics"]["naive_mae"]
    assert 0.75 <= result["metrics"]["interval"]["coverage"] <= 1.0
    async with world.db.sessions() as s:
        model = await s.get(RegisteredModel, result["model_id"])
        assert model is not None
        assert (model.kind, model.status, model.sensor_id) == ("multivariate", "promoted", ids["ch4"])
        assert sorted(model.input_sensor_ids) == sorted([ids["velocity"], ids["flow"], ids["dp"]])
        assert model.metrics["column_importance"][f"sensor_{ids['dp']}"] > 0

    done = await _run_job(client, service, engineer, kind="mapping_forecast", mapping_id=mapping["id"])
    assert done["state"] == "done", done["message"]
    assert done["result"]["alerts"] == []  # the forecast stays well below the 1.0 % alarm level
    served = await client.get(f"{API}/forecast-mappings/{mapping['id']}/forecast", headers=engineer)
    assert served.status_code == 200, served.text
    body = served.json()
    points = body["points"]
    assert len(points) == 60 and body["model"]["backtest"]["beats_naive"] is True
    assert all(0.0 <= p["lower"] <= p["forecast"] <= p["upper"] <= 100.0 for p in points)
    origin = datetime.fromisoformat(body["origin"])
    assert origin == END - timedelta(minutes=1)
    assert datetime.fromisoformat(points[9]["ts"]) - origin == timedelta(minutes=10)
    # the target's known future (the series continues the same formula) is inside the 60-minute interval mostly
    t = np.arange(MINUTES, MINUTES + 60, dtype=np.float64)
    truth = 0.6 + 0.15 * np.sin(2 * np.pi * t / 150) + 0.075 * np.sin(2 * np.pi * t / 47)
    inside = np.mean([p["lower"] <= v <= p["upper"] for p, v in zip(points, truth, strict=True)])
    assert inside >= 0.8
    intruder = await world.login(Role.ADMIN, world.org_b)
    answer = await client.get(f"{API}/forecast-mappings/{mapping['id']}/forecast", headers=intruder)
    assert answer.status_code in (403, 404)

    # drift of the promoted model is checked like the others' (a report stored)
    drift = await _run_job(client, service, engineer, kind="drift", model_id=result["model_id"])
    assert drift["state"] == "done", drift["message"]
    async with world.db.sessions() as s:
        reports = (await s.execute(select(func.count()).select_from(DriftReport)
                                   .where(DriftReport.model_id == result["model_id"]))).scalar_one()
    assert reports == 1

    # the schedule queues the mapping's forecast and drift (its model exists, so no training until refit)
    queued = await service.schedule_once(refit=False)
    async with world.db.sessions() as s:
        from ghgwatch.analytics.models import AnalyticsJob

        kinds = (await s.execute(select(AnalyticsJob.kind, AnalyticsJob.parameters)
                                 .where(AnalyticsJob.id.in_(queued)))).all()
    assert ("mapping_forecast", {"mapping_id": mapping["id"]}) in [(k, p) for k, p in kinds]
    assert ("drift", {"model_id": result["model_id"]}) in [(k, p) for k, p in kinds]
    assert "mapping_fit" not in [k for k, _ in kinds]


async def test_a_model_worse_than_naive_is_never_promoted(world: World, settings: Settings) -> None:
    ids = await _longwall(world)
    await _store(world, ids, random_walk=True)
    engineer = await world.login(Role.ENGINEER, world.org_a)
    client = world.client
    mapping = (await client.post(f"{API}/forecast-mappings", json=_mapping_body(world, ids, window_hours=12),
                                 headers=engineer)).json()
    service = AnalyticsService(world.db, settings)
    # the schedule trains a mapping that has no model yet
    queued = await service.schedule_once(refit=False)
    assert queued
    await service.run_pending()
    async with world.db.sessions() as s:
        models = (await s.execute(select(RegisteredModel).where(
            RegisteredModel.name == mapping["model_name"]))).scalars().all()
    assert len(models) == 1
    assert models[0].metrics["beats_naive"] is False
    assert models[0].metrics["mae"] >= models[0].metrics["naive_mae"] or \
        models[0].metrics["mae_last_step"] >= models[0].metrics["naive_mae_last_step"]
    assert models[0].status == "candidate"
    failed = await _run_job(client, service, engineer, kind="mapping_forecast", mapping_id=mapping["id"])
    assert failed["state"] == "failed" and "no promoted model" in failed["message"]


def _points(origin: datetime, upper: dict[int, float]) -> list[dict[str, Any]]:
    """60 one-minute points below the limit, except the upper bounds given by minute."""
    return [{"ts": (origin + timedelta(minutes=m)).isoformat(), "forecast": 0.7, "lower": 0.6,
             "upper": upper.get(m, 0.8)} for m in range(1, 61)]


async def _judge(world: World, sensor: int, origin: datetime, upper: dict[int, float]) -> list[tuple[str, str]]:
    async with world.db.transaction() as s:
        changes = await judge_forecast(s, sensor_id=sensor, origin=origin, points=_points(origin, upper))
    return [(action, alert["rule_id"]) for action, alert, _ in changes]


async def _unresolved(world: World, sensor: int) -> list[Alert]:
    async with world.db.sessions() as s:
        return list((await s.execute(select(Alert).where(Alert.sensor_id == sensor, Alert.state != "resolved")
                                     )).scalars())


async def test_the_early_warning_rule_opens_when_the_upper_bound_crosses_within_n_minutes(world: World) -> None:
    ids = await _longwall(world)
    ch4 = ids["ch4"]
    origin = END
    # crossing at +45 min: outside the default 30 minutes, no alert
    assert await _judge(world, ch4, origin, {45: 1.2}) == []
    # exactly the limit is not above it
    assert await _judge(world, ch4, origin, {10: 1.0}) == []
    # crossing at +20 min: opens, at the sensor's alarm level
    assert await _judge(world, ch4, origin, {20: 1.05, 25: 1.1}) == [("opened", "methane_early_warning")]
    (alert,) = await _unresolved(world, ch4)
    assert (alert.condition, alert.severity, alert.threshold, alert.unit) == ("forecast_limit", "warning", 1.0, "%")
    assert alert.reading_value == pytest.approx(1.05) and "20 min after the last value" in alert.reason
    # still crossing: the same alert is updated (one unresolved per sensor and rule), its peak follows
    assert await _judge(world, ch4, origin + timedelta(minutes=5), {10: 1.3}) == [("updated", "methane_early_warning")]
    (again,) = await _unresolved(world, ch4)
    assert again.id == alert.id and again.peak_value == pytest.approx(1.3)
    # a forecast that no longer crosses within 30 minutes resolves it
    assert await _judge(world, ch4, origin + timedelta(minutes=10), {50: 1.5}) == [
        ("auto_resolved", "methane_early_warning")]
    assert await _unresolved(world, ch4) == []
    async with world.db.sessions() as s:
        actions = (await s.execute(select(AlertHistory.action).where(AlertHistory.alert_id == alert.id)
                                   .order_by(AlertHistory.id))).scalars().all()
    assert actions == ["opened", "updated", "auto_resolved"]

    # N and the limit are parameters: a sensor rule with 60 minutes and 0.9 % opens on the +50 crossing of 0.95
    admin = await world.login(Role.ADMIN, world.org_a)
    rule = {"organization_id": world.org_a, "scope": "sensor", "selector": str(ch4), "rule_id": "methane_early_warning",
            "definition": {"kind": "forecast_limit", "within_min": 60, "limit": 0.9}}
    answer = await world.client.post(f"{API}/alert-rules", json=rule, headers=admin)
    assert answer.status_code == 201, answer.text
    assert await _judge(world, ch4, origin, {50: 0.95}) == [("opened", "methane_early_warning")]
    (alert,) = await _unresolved(world, ch4)
    assert alert.threshold == 0.9
    bad = rule | {"rule_id": "bad", "definition": {"kind": "forecast_limit", "within_min": 0}}
    answer = await world.client.post(f"{API}/alert-rules", json=bad, headers=admin)
    assert answer.status_code == 422 and "within_min" in answer.text
    # a sensor with no alarm level and no threshold rule has no early warning (nothing to cross)
    assert await _judge(world, ids["velocity"], origin, {5: 1e6}) == []
    # the rule engine never loads these alerts (it does not judge forecasts)
    from ghgwatch.alerts.store import load_open

    async with world.db.sessions() as s:
        assert all(a.condition != "forecast_limit" for a in await load_open(s))


async def test_a_stored_univariate_forecast_is_judged_unless_a_mapping_forecasts_the_sensor(
    world: World, settings: Settings
) -> None:
    """The jobs path: the forecast job stores the forecast and the early warning judges it in the same
    transaction; with an active mapping on the sensor, only the mapping's forecasts are judged."""
    import pandas as pd

    from ghgwatch.analytics.flows import JobRun, _store_forecast

    ids = await _longwall(world)
    async with world.db.transaction() as s:
        model = RegisteredModel(name="uni", version=1, kind="forecast", organization_id=world.org_a,
                                sensor_id=ids["ch4"], input_sensor_ids=[], method="naive", resolution="1m",
                                data_start=END - timedelta(hours=1), data_end=END, trained_by="test")
        s.add(model)
        await s.flush()
    from ghgwatch.registry.models import Sensor

    async with world.db.sessions() as s:
        sensor = await s.get(Sensor, ids["ch4"])
    assert sensor is not None
    index = pd.date_range(END + timedelta(minutes=1), periods=60, freq="1min")
    frame = pd.DataFrame({"forecast": 0.9, "lower": 0.8, "upper": [1.2 if i == 14 else 0.95 for i in range(60)]},
                         index=index)
    extras: dict[str, Any] = {}
    run = JobRun(world.db, settings.analytics, 0, "test", extras=extras)
    async with hub_of(extras).subscribe(world.org_a) as stream:  # what the SSE streams of the process get
        await _store_forecast(run, model, sensor, frame, pd.Timestamp(END), 0.9)
        event = await stream.get(timeout_s=5)
    assert event is not None and event["event"] == "opened" and event["actor"] == "early-warning"
    assert (event["alert"]["condition"], event["alert"]["threshold"]) == ("forecast_limit", 1.0)
    assert "at " in event["reason"] and "15 min after the last value" in event["reason"]
    assert [a.rule_id for a in await _unresolved(world, ids["ch4"])] == ["methane_early_warning"]
    engineer = await world.login(Role.ENGINEER, world.org_a)
    created = await world.client.post(f"{API}/forecast-mappings", json=_mapping_body(world, ids), headers=engineer)
    assert created.status_code == 201
    calm = frame.assign(upper=0.95)
    await _store_forecast(run, model, sensor, calm, pd.Timestamp(END), 0.9)
    assert len(await _unresolved(world, ids["ch4"])) == 1  # not judged: the mapping's forecasts are
    async with world.db.sessions() as s:
        assert (await s.execute(select(func.count()).select_from(Forecast))).scalar_one() == 2


def test_the_demo_mapping_takes_one_sensor_per_role_from_the_mine() -> None:
    from ghgwatch.analytics.demo import demo_mapping_inputs

    sensors = [
        {"id": 1, "kind": "methane", "source": "Shaft 1", "location": "mine_outgoing"},
        {"id": 2, "kind": "air_flow", "source": "Shaft 1"}, {"id": 3, "kind": "temperature", "source": "Shaft 1"},
        {"id": 4, "kind": "pressure", "source": "Shaft 1"},
        {"id": 5, "kind": "methane", "source": "Drainage 1", "location": "drainage_pipeline"},
        {"id": 6, "kind": "gas_flow", "source": "Drainage 1"},
        {"id": 7, "kind": "differential_pressure", "source": "Drainage 1"},
        {"id": 8, "kind": "air_flow", "source": "Shaft 2"},
        {"id": 9, "kind": "methane", "source": "Shaft 2", "location": "mine_outgoing"},
        {"id": 10, "kind": "methane", "source": "Longwall 5-1", "location": "longwall_outgoing"},
        {"id": 11, "kind": "air_velocity", "source": "Longwall 5-1"},
        {"id": 12, "kind": "gas_flow", "source": "Boiler No. 1"}, {"id": 13, "kind": "co2", "source": "Boiler No. 1"},
    ]
    found = demo_mapping_inputs(sensors)
    assert found is not None
    target, inputs = found
    assert target == 10
    assert {i["sensor_id"]: i["role"] for i in inputs} == {
        1: "methane", 2: "air_flow", 3: "temperature", 4: "barometric_pressure", 5: "suction_methane",
        6: "suction_mixture_flow", 7: "pressure_differential", 11: "air_velocity"}
    assert demo_mapping_inputs(sensors[:9]) is None


async def test_the_demo_creates_trains_and_forecasts_the_longwall_mapping(world: World, settings: Settings) -> None:
    from types import SimpleNamespace
    from typing import cast

    from ghgwatch.analytics.demo import DEMO_MAPPING, demo_longwall_forecast
    from ghgwatch.analytics.service import EXTRA_KEY
    from ghgwatch.web.context import AppContext

    ids = await _longwall(world)
    await _store(world, ids)
    credentials = {"organization_id": world.org_a, "sensors": [
        {"id": ids["ch4"], "kind": "methane", "source": "Longwall 5-1", "location": "longwall_outgoing"},
        {"id": ids["velocity"], "kind": "air_velocity", "source": "Longwall 5-1"},
        {"id": ids["flow"], "kind": "gas_flow", "source": "Drainage 1"},
        {"id": ids["dp"], "kind": "differential_pressure", "source": "Drainage 1", "location": "drainage_pipeline"}]}
    ctx = cast(AppContext, SimpleNamespace(db=world.db, extras={EXTRA_KEY: AnalyticsService(world.db, settings)}))
    assert await demo_longwall_forecast(ctx, credentials, timeout_s=5) is True
    assert await demo_longwall_forecast(ctx, credentials, timeout_s=5) is True  # the mapping is created once
    admin = await world.login(Role.ADMIN, world.org_a)
    (mapping,) = (await world.client.get(f"{API}/forecast-mappings", headers=admin)).json()["items"]
    assert mapping["name"] == DEMO_MAPPING
    assert {i["role"] for i in mapping["inputs"]} == {"air_velocity", "suction_mixture_flow", "pressure_differential"}
    served = await world.client.get(f"{API}/forecast-mappings/{mapping['id']}/forecast", headers=admin)
    assert served.status_code == 200 and len(served.json()["points"]) == 60
