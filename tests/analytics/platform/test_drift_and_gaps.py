"""Drift reports after deployment, gap reports and gap filling on stored series."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
from prometheus_client import REGISTRY

from ghgwatch.security.models import Role
from tests.analytics.platform.conftest import AnalyticsPlatform, pattern


async def test_drift_report_flags_a_shifted_input(platform: AnalyticsPlatform) -> None:
    p = platform
    sensor = p.world.sensor_a
    engineer = await p.headers(Role.ENGINEER)
    train = np.arange(-300, -120)
    await p.post_minutes(sensor, train, pattern(train))
    fit = await p.job(engineer, kind="refit", sensor_id=sensor, method="linear", horizon=30, window_hours=6)
    model_id = fit["result"]["model_id"]
    assert (await p.client.post(f"/api/v1/analytics/models/{model_id}/promote", headers=engineer)).status_code == 200
    forecast = await p.job(engineer, kind="forecast", model_id=model_id)
    assert forecast["state"] == "done", forecast["message"]

    # The next hour behaves as in training: nothing is flagged, and the forecast errors are small.
    same = np.arange(-120, -60)
    await p.post_minutes(sensor, same, pattern(same, seed=1))
    calm = await p.job(engineer, kind="drift", model_id=model_id, window_hours=3)  # from the end of training
    assert calm["state"] == "done", calm["message"]
    assert calm["result"]["flagged"] is False, calm["result"]
    assert calm["result"]["n_recent"] == 60 and calm["result"]["n_errors"] == 30
    assert calm["result"]["rolling_mae"] < 0.05

    # The last hour is shifted up by 0.3 % vol: the input drift is flagged.
    shifted = np.arange(-60, 0)
    await p.post_minutes(sensor, shifted, pattern(shifted, seed=2) + 0.3)
    asked = datetime.now(UTC)
    flagged = await p.job(engineer, kind="drift", model_id=model_id, window_hours=1)
    answered = datetime.now(UTC)
    result = flagged["result"]
    assert result["flagged"] is True
    assert result["features"]["value"]["drift"] is True and result["features"]["value"]["psi"] > 0.25
    # The window is the hour before the job ran, so on a slow run its first minutes may fall out: count the
    # shifted points inside the hour before each end of the job's possible start.
    points = [p.t0 + timedelta(minutes=int(m)) for m in shifted]
    most = sum(ts >= asked - timedelta(hours=1) for ts in points)
    least = sum(ts > answered - timedelta(hours=1) for ts in points)
    assert least <= result["n_recent"] <= most, (least, result["n_recent"], most)
    assert REGISTRY.get_sample_value("ghgwatch_forecast_abs_error",
                                     {"model": "linear", "target": "methane_concentration"}) is not None

    reports = (await p.client.get(f"/api/v1/analytics/models/{model_id}/drift",
                                  headers=await p.headers(Role.OPERATOR))).json()["items"]
    assert [r["flagged"] for r in reports] == [True, False]
    assert reports[1]["baseline_mae"] == fit["result"]["metrics"]["mae"]
    assert set(reports[0]["features"]) == {"value", "value_diff"}


async def test_gap_report_finds_a_gap_and_gap_fill_flags_the_filled_values(platform: AnalyticsPlatform) -> None:
    p = platform
    sensor = p.world.sensor_a
    minutes = np.concatenate([np.arange(-110, -70), np.arange(-50, 0)])  # 20 minutes missing: -70 .. -51
    await p.post_minutes(sensor, minutes, 0.5 + 0.001 * minutes)
    engineer = await p.headers(Role.ENGINEER)

    report = await p.job(engineer, kind="gap_report", window_hours=2)
    assert report["state"] == "done", report["message"]
    sensors = {s["sensor_id"]: s for s in report["result"]["sensors"]}
    assert set(sensors) == {sensor}  # the other organisation's sensor is not reported to this engineer
    ours = sensors[sensor]
    assert ours["received"] == 90 and ours["expected"] == 120
    assert ours["coverage"] == 0.75
    # The silence before the first reading (the window starts 2 h before now) and the hole in the middle.
    leading, inner = ours["gaps"]
    assert 9 * 60 < leading["seconds"] <= 10 * 60
    assert inner["seconds"] == 21 * 60 and ours["longest_gap_s"] == 21 * 60
    assert datetime.fromisoformat(inner["start"]) == p.t0 - timedelta(minutes=71)
    assert datetime.fromisoformat(inner["end"]) == p.t0 - timedelta(minutes=50)

    body = {"sensor_id": sensor, "from": (p.t0 - timedelta(minutes=120)).isoformat(),
            "to": p.t0.isoformat(), "method": "interpolate"}
    answer = await p.client.post("/api/v1/analytics/gaps/fill", json=body, headers=await p.headers(Role.OPERATOR))
    assert answer.status_code == 200, answer.text
    filled = answer.json()
    assert filled["method"] == "interpolate" and filled["n_filled"] == 20
    points = filled["points"]
    assert len(points) == 110  # from the first stored minute to the last
    for i, pt in enumerate(points):
        minute = -110 + i
        assert pt["filled"] is (-70 <= minute < -50)
        assert pt["method"] == ("interpolate" if pt["filled"] else None)
        # The series is a straight line, so linear interpolation restores it exactly.
        assert abs(pt["value"] - (0.5 + 0.001 * minute)) < 1e-9
    auto = await p.client.post("/api/v1/analytics/gaps/fill", json={**body, "method": "auto"}, headers=engineer)
    assert set(auto.json()["evaluation"]["methods"]) == {"mean", "interpolate", "regression", "knn"}
    bad = await p.client.post("/api/v1/analytics/gaps/fill", json={**body, "method": "magic"}, headers=engineer)
    assert bad.status_code == 422
