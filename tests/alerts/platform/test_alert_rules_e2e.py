"""Every rule kind through ingest → bus → pipeline → alert service → alerts table."""

from __future__ import annotations

import asyncio
import time

import numpy as np

from conftest import AlertPlatform


def _one(items: list[dict], **match: object) -> bool:
    return any(all(a.get(k) == v for k, v in match.items()) for a in items)


async def test_threshold_escalates_the_same_alert_then_auto_resolves_after_hysteresis(
        alert_platform: AlertPlatform) -> None:
    p = alert_platform
    s = p.world.sensor_a
    await p.rule(str(s), "threshold", {"kind": "threshold", "warning": 0.6, "alarm": 1.0, "deadband": 0.1,
                                       "clear_after_s": 1.0, "source": "test levels"})
    await p.post(s, [0.4, 0.7])
    items = await p.wait_for(lambda a: _one(a, condition="threshold"))
    assert len(items) == 1 and items[0]["severity"] == "warning" and items[0]["threshold"] == 0.6
    assert items[0]["reading_value"] == 0.7 and items[0]["rule_source"] == "test levels"
    first = items[0]["id"]

    await p.post(s, [1.3])
    items = await p.wait_for(lambda a: _one(a, severity="alarm"))
    assert [a["id"] for a in items] == [first]  # escalation updates the same alert
    assert items[0]["threshold"] == 1.0 and items[0]["peak_value"] == 1.3

    await p.post(s, [0.55])  # below the warning level but inside the deadband: not clear
    await asyncio.sleep(1.5)
    assert (await p.alerts())[0]["state"] == "open"

    await p.post(s, [0.3, 0.3])  # clear; the 1 s clear time is over by the next tick
    items = await p.wait_for(lambda a: _one(a, state="resolved"))
    assert [a["state"] for a in items] == ["resolved"]
    detail = (await p.client.get(f"/api/v1/alerts/{first}", headers=p.engineer)).json()
    assert [h["action"] for h in detail["history"]] == ["opened", "escalated", "auto_resolved"]
    assert detail["history"][0]["actor"] == "rule-engine"


async def test_rate_of_change(alert_platform: AlertPlatform) -> None:
    p = alert_platform
    s = p.world.sensor_a
    await p.rule(str(s), "rise", {"kind": "rate_of_change", "warning_per_min": 0.5, "window_s": 60})
    last = await p.post(s, [0.10 + 0.02 * i for i in range(13)], step_s=5.0, start=time.time() - 200)
    await asyncio.sleep(0.5)  # +0.24 %/min: quiet
    assert not _one(await p.alerts(), condition="rate_of_change")
    await p.post(s, [0.34 + 0.1 * i for i in range(13)], step_s=5.0, start=last + 5)  # +1.2 %/min
    items = await p.wait_for(lambda a: _one(a, condition="rate_of_change"))
    alert = next(a for a in items if a["condition"] == "rate_of_change")
    assert alert["severity"] == "warning" and alert["threshold"] == 0.5


async def test_silent_opens_on_the_clock_and_resolves_on_the_next_reading(alert_platform: AlertPlatform) -> None:
    p = alert_platform
    s = p.world.sensor_a  # expected every 60 s; 0.04 × 60 s = 2.4 s of silence is enough here
    await p.rule(str(s), "silent", {"kind": "silent", "factor": 0.04})
    await p.post(s, [0.2], start=None)
    items = await p.wait_for(lambda a: _one(a, condition="silent"))
    alert = next(a for a in items if a["condition"] == "silent")
    assert alert["state"] == "open" and "no reading" in alert["reason"]
    await p.post(s, [0.2])
    items = await p.wait_for(lambda a: _one(a, condition="silent", state="resolved"))
    assert _one(items, condition="silent", state="resolved")


async def test_stuck(alert_platform: AlertPlatform) -> None:
    p = alert_platform
    s = p.world.sensor_a
    await p.rule(str(s), "stuck", {"kind": "stuck", "duration_s": 10})
    last = await p.post(s, [0.31] * 8, start=time.time() - 20)  # 7 s of the same value: not yet
    await asyncio.sleep(0.5)
    assert not _one(await p.alerts(), condition="stuck")
    await p.post(s, [0.31] * 6, start=last + 1)  # now 13 s
    items = await p.wait_for(lambda a: _one(a, condition="stuck"))
    assert next(a for a in items if a["condition"] == "stuck")["threshold"] == 10


async def test_out_of_range_of_a_configured_range(alert_platform: AlertPlatform) -> None:
    p = alert_platform
    t = await p.new_sensor(kind="temperature", unit="degC")
    await p.rule(str(t), "range", {"kind": "out_of_range", "low": -20, "high": 40, "severity": "alarm"})
    await p.post(t, [21.0, 22.0, 45.0])
    items = await p.wait_for(lambda a: _one(a, condition="out_of_range"))
    alert = next(a for a in items if a["condition"] == "out_of_range")
    assert alert["sensor_id"] == t and alert["severity"] == "alarm" and alert["reading_value"] == 45.0


async def test_anomaly_score_from_the_streaming_detector(alert_platform: AlertPlatform) -> None:
    p = alert_platform
    s = p.world.sensor_a
    await p.rule(str(s), "anomaly", {"kind": "anomaly", "warning": 8, "detector": "robust_z"})
    rng = np.random.default_rng(4)
    quiet = (0.3 + 0.01 * rng.standard_normal(120)).round(4).tolist()
    last = await p.post(s, quiet, start=None)
    await asyncio.sleep(0.5)
    assert not _one(await p.alerts(), condition="anomaly")
    await p.post(s, [0.3, 0.9], start=last + 1)
    items = await p.wait_for(lambda a: _one(a, condition="anomaly"))
    assert next(a for a in items if a["condition"] == "anomaly")["reading_value"] == 0.9


async def test_anomaly_rule_without_a_detector_uses_the_calibrated_default(alert_platform: AlertPlatform) -> None:
    p = alert_platform
    s = p.world.sensor_a
    await p.rule(str(s), "anomaly", {"kind": "anomaly", "warning": 5.2})
    rng = np.random.default_rng(5)
    quiet = (0.3 + 0.01 * rng.standard_normal(320)).round(4).tolist()  # the default's window is 300
    last = await p.post(s, quiet, start=None)
    await asyncio.sleep(0.5)
    assert not _one(await p.alerts(), condition="anomaly")
    await p.post(s, [0.3, 0.9, 0.31, 0.92], start=last + 1)
    items = await p.wait_for(lambda a: _one(a, condition="anomaly"))
    anomalies = [a for a in items if a["condition"] == "anomaly"]
    # Two spikes two readings apart are one incident: one alert, opened by the first.
    assert len(anomalies) == 1
    assert anomalies[0]["reading_value"] == 0.9
    from ghgwatch.alerts.detectors import WindowedGaussian

    assert isinstance(p.service._detectors[str(s)], WindowedGaussian)
