"""Analytics jobs end to end: readings posted through the API, a job fits a model and stores a forecast."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
from prometheus_client import REGISTRY
from sqlalchemy import select

from ghgwatch.analytics import repository
from ghgwatch.analytics.flows import JobRun
from ghgwatch.analytics.models import AnalyticsJob
from ghgwatch.security.models import Role
from tests.analytics.platform.conftest import AnalyticsPlatform, pattern


async def test_forecast_job_fits_a_model_and_stores_a_forecast_with_intervals(platform: AnalyticsPlatform) -> None:
    p = platform
    sensor = p.world.sensor_a
    minutes = np.arange(-240, 0)
    await p.post_minutes(sensor, minutes, pattern(minutes))
    engineer = await p.headers(Role.ENGINEER)

    job = await p.job(engineer, kind="forecast", sensor_id=sensor, horizon=30, method="linear", window_hours=5)

    assert job["state"] == "done", job["message"]
    assert job["progress"] == 1.0
    assert job["started_at"] is not None and job["finished_at"] is not None
    result = job["result"]
    assert result["method"] == "linear" and result["version"] == 1
    answer = await p.client.get(f"/api/v1/sensors/{sensor}/forecast", headers=engineer)
    assert answer.status_code == 200, answer.text
    fc = answer.json()
    assert fc["model_id"] == result["model_id"] and fc["interval"] == 0.9
    points = pd.DataFrame(fc["points"])
    assert len(points) == 30
    ts = pd.to_datetime(points["ts"])
    expected_ts = pd.date_range(p.t0, periods=30, freq="min")
    assert (ts == expected_ts).all()
    assert (points["lower"] < points["forecast"]).all() and (points["forecast"] < points["upper"]).all()
    # The continuation of the built-in pattern (without noise) is forecast closely and inside the intervals.
    truth = pattern(np.arange(30), noise=0.0)
    assert np.abs(points["forecast"] - truth).max() < 0.05
    assert ((truth >= points["lower"]) & (truth <= points["upper"])).mean() >= 0.8
    # The list of stored forecasts: by sensor, with or without points; another organisation sees none of them.
    listed = (await p.client.get("/api/v1/analytics/forecasts", headers=engineer,
                                 params={"sensor_id": sensor})).json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == fc["forecast_id"]
    assert listed["items"][0]["steps"] == 30 and "points" not in listed["items"][0]
    with_points = (await p.client.get("/api/v1/analytics/forecasts", headers=engineer,
                                      params={"model_id": result["model_id"], "points": "true"})).json()
    assert with_points["items"][0]["points"] == fc["points"]
    later = (await p.client.get("/api/v1/analytics/forecasts", headers=engineer,
                                params={"since": (datetime.now(UTC) + timedelta(hours=1)).isoformat()})).json()
    assert later == {"total": 0, "items": []}
    other = await p.headers(Role.ENGINEER, p.world.org_b)
    assert (await p.client.get("/api/v1/analytics/forecasts", headers=other)).json() == {"total": 0, "items": []}
    refused = await p.client.get("/api/v1/analytics/forecasts", headers=other, params={"sensor_id": sensor})
    assert refused.status_code in (403, 404)
    naive = await p.client.get("/api/v1/analytics/forecasts", headers=engineer, params={"since": "2026-01-01T00:00"})
    assert naive.status_code == 422
    # Backtest metrics recorded in the registry; the model beats the seasonal-naive baseline on noise.
    model = (await p.client.get(f"/api/v1/analytics/models/{result['model_id']}", headers=engineer)).json()
    assert model["status"] == "candidate" and model["kind"] == "forecast" and model["sensor_id"] == sensor
    assert model["trained_by"].startswith("engineer-")
    assert {"mae", "smape", "mase", "coverage"} <= model["metrics"].keys()
    assert model["metrics"]["mase"] < model["metrics"]["models"]["naive"]["mase"]
    assert datetime.fromisoformat(model["data_end"]) == p.t0 - timedelta(minutes=1)
    # The first step of the forecast is exported as the sensor's forecast gauge.
    gauge = REGISTRY.get_sample_value("ghgwatch_sensor_forecast", {
        "sensor": str(sensor), "kind": "methane", "facility": str(p.world.facility_a)})
    assert gauge == points["forecast"].iloc[0]


async def test_auto_forecast_of_a_sensor_without_data_fails_with_the_reason(platform: AnalyticsPlatform) -> None:
    p = platform
    engineer = await p.headers(Role.ENGINEER)
    job = await p.job(engineer, kind="forecast", sensor_id=p.world.sensor_a, horizon=10)
    assert job["state"] == "failed"
    assert "no 1m data" in job["message"]
    assert (await p.client.get(f"/api/v1/sensors/{p.world.sensor_a}/forecast", headers=engineer)).status_code == 404


async def test_job_progress_and_state_are_written_to_the_table(platform: AnalyticsPlatform) -> None:
    p = platform
    async with p.db.transaction() as s:
        job = await repository.enqueue(s, "gap_report", {}, created_by="test", organization_id=p.world.org_a)
        job_id = job.id
    # Claimed by hand (the role's runner may take it first: then it is simply done already).
    async with p.db.transaction() as s:
        claimed = await repository.claim(s, job_id)
    async with p.db.sessions() as s:
        row = (await s.execute(select(AnalyticsJob).where(AnalyticsJob.id == job_id))).scalar_one()
    if claimed is None:
        assert row.state in ("running", "done")
        return
    assert row.state == "running" and row.started_at is not None and row.progress == 0.0
    assert p.analytics is not None
    run = JobRun(p.db, p.analytics.settings.analytics, job_id, "test")
    run.report(0.4, "halfway")
    await run.flush()
    async with p.db.sessions() as s:
        row = (await s.execute(select(AnalyticsJob).where(AnalyticsJob.id == job_id))).scalar_one()
    assert (row.state, row.progress, row.message) == ("running", 0.4, "halfway")
    # A running job cannot be claimed again.
    async with p.db.transaction() as s:
        assert await repository.claim(s, job_id) is None


async def test_queued_job_runs_to_done_through_running(platform: AnalyticsPlatform) -> None:
    p = platform
    assert p.analytics is not None
    minutes = np.arange(-180, 0)
    await p.post_minutes(p.world.sensor_a, minutes, pattern(minutes))
    await p.analytics.stop()  # no runner: the job stays queued until we run it
    async with p.db.transaction() as s:
        job = await repository.enqueue(s, "backtest", {"sensor_id": p.world.sensor_a, "horizon": 20,
                                                       "methods": ["linear", "naive"], "window_hours": 4},
                                       created_by="test", organization_id=p.world.org_a)
        job_id = job.id
    engineer = await p.headers(Role.ENGINEER)
    queued = (await p.client.get(f"/api/v1/analytics/jobs/{job_id}", headers=engineer)).json()
    assert (queued["state"], queued["progress"], queued["started_at"]) == ("queued", 0.0, None)
    assert await p.analytics.run_next() == job_id
    done = (await p.client.get(f"/api/v1/analytics/jobs/{job_id}", headers=engineer)).json()
    assert done["state"] == "done" and done["progress"] == 1.0
    assert done["started_at"] <= done["finished_at"]
    scores = done["result"]["scores"]
    assert scores["linear"]["mase"] < scores["naive"]["mase"]
    assert done["result"]["best"] == "linear"
    assert await p.analytics.run_next() is None


async def test_job_validation_and_roles(platform: AnalyticsPlatform) -> None:
    p = platform
    engineer = await p.headers(Role.ENGINEER)
    for body, field in (({"kind": "forecast", "sensor_id": p.world.sensor_a, "method": "magic"}, "method"),
                        ({"kind": "forecast"}, "sensor_id"),
                        ({"kind": "forecast", "sensor_id": p.world.sensor_a, "horizon": 0}, "horizon"),
                        ({"kind": "drift"}, "model_id")):
        answer = await p.client.post("/api/v1/analytics/jobs", json=body, headers=engineer)
        assert answer.status_code == 422, body
        assert field in answer.text
    assert (await p.client.post("/api/v1/analytics/jobs", json={"kind": "nonsense"}, headers=engineer)
            ).status_code == 422
    for role in (Role.OPERATOR, Role.AUDITOR):
        answer = await p.client.post("/api/v1/analytics/jobs", headers=await p.headers(role),
                                     json={"kind": "gap_report"})
        assert answer.status_code == 403
    other = await p.headers(Role.ENGINEER, p.world.org_b)
    answer = await p.client.post("/api/v1/analytics/jobs", headers=other,
                                 json={"kind": "forecast", "sensor_id": p.world.sensor_a})
    assert answer.status_code == 403
