"""Model registry: versions count up per name, promotion retires the previous version, roles, audit, schedule."""

from __future__ import annotations

import numpy as np
from sqlalchemy import select

from ghgwatch.analytics.models import Forecast
from ghgwatch.audit.models import AuditEntry
from ghgwatch.security.models import Role
from tests.analytics.platform.conftest import AnalyticsPlatform, pattern


async def test_versions_promotion_roles_audit_and_scheduled_forecast(platform: AnalyticsPlatform) -> None:
    p = platform
    sensor = p.world.sensor_a
    minutes = np.arange(-180, 0)
    await p.post_minutes(sensor, minutes, pattern(minutes))
    engineer = await p.headers(Role.ENGINEER)
    fit = {"kind": "refit", "sensor_id": sensor, "method": "linear", "horizon": 15, "window_hours": 4,
           "name": "ch4-shaft"}
    first = await p.job(engineer, **fit)
    second = await p.job(engineer, **fit)
    assert first["state"] == second["state"] == "done"
    v1, v2 = first["result"]["model_id"], second["result"]["model_id"]
    assert (first["result"]["version"], second["result"]["version"]) == (1, 2)
    # A refit stores no forecast.
    assert (await p.client.get(f"/api/v1/sensors/{sensor}/forecast", headers=engineer)).status_code == 404

    listed = (await p.client.get("/api/v1/analytics/models", params={"name": "ch4-shaft"}, headers=engineer)).json()
    assert [(m["version"], m["status"]) for m in listed["items"]] == [(2, "candidate"), (1, "candidate")]

    # Read-only roles and other organisations may not promote; other organisations do not even see the model.
    for headers in (await p.headers(Role.OPERATOR), await p.headers(Role.AUDITOR),
                    await p.headers(Role.ENGINEER, p.world.org_b)):
        assert (await p.client.post(f"/api/v1/analytics/models/{v1}/promote", headers=headers)).status_code == 403
    auditor = await p.headers(Role.AUDITOR)
    assert (await p.client.get(f"/api/v1/analytics/models/{v1}", headers=auditor)).status_code == 200
    other = await p.headers(Role.ENGINEER, p.world.org_b)
    assert (await p.client.get("/api/v1/analytics/models", headers=other)).json()["items"] == []
    assert (await p.client.get(f"/api/v1/analytics/models/{v1}", headers=other)).status_code == 403

    promoted = await p.client.post(f"/api/v1/analytics/models/{v1}/promote", headers=engineer)
    assert promoted.status_code == 200 and promoted.json()["status"] == "promoted"
    promoted = await p.client.post(f"/api/v1/analytics/models/{v2}/promote", headers=engineer)
    assert promoted.json()["status"] == "promoted"
    statuses = {m["id"]: m["status"] for m in (await p.client.get(
        "/api/v1/analytics/models", params={"sensor_id": sensor}, headers=engineer)).json()["items"]}
    assert statuses == {v1: "retired", v2: "promoted"}
    only = (await p.client.get("/api/v1/analytics/models", params={"status": "promoted"}, headers=engineer)).json()
    assert [m["id"] for m in only["items"]] == [v2]

    async with p.db.sessions() as s:
        entries = (await s.execute(select(AuditEntry).where(AuditEntry.entity == "model")
                                   .order_by(AuditEntry.id))).scalars().all()
    assert [(e.action, e.entity_id, e.after["status"]) for e in entries] == [
        ("register", str(v1), "candidate"), ("register", str(v2), "candidate"),  # by the refit jobs (issue 12)
        ("promote", str(v1), "promoted"), ("retire", str(v1), "retired"), ("promote", str(v2), "promoted")]
    assert [(e.after["name"], e.after["version"]) for e in entries[:2]] == [("ch4-shaft", 1), ("ch4-shaft", 2)]
    assert all(e.after["job_id"] for e in entries[:2])
    assert all(e.actor.startswith("engineer-") and e.organization_id == p.world.org_a for e in entries)

    # Without a method, a forecast job uses the promoted version (no new model is trained).
    job = await p.job(engineer, kind="forecast", sensor_id=sensor, horizon=15)
    assert job["state"] == "done", job["message"]
    assert job["result"]["model_id"] == v2
    fc = (await p.client.get(f"/api/v1/sensors/{sensor}/forecast", headers=auditor)).json()
    assert fc["model"] == {"name": "ch4-shaft", "version": 2, "method": "linear", "status": "promoted"}
    assert len(fc["points"]) == 15 and all(pt["lower"] <= pt["forecast"] <= pt["upper"] for pt in fc["points"])

    # The schedule queues a forecast and a drift check of each promoted model and a gap report.
    assert p.analytics is not None
    ids = await p.analytics.schedule_once(refit=True)
    assert len(ids) == 4
    platform_admin = await p.world.login(Role.ADMIN, None)
    jobs = [await p.wait_job(i, platform_admin) for i in ids]
    assert [j["kind"] for j in jobs] == ["forecast", "drift", "refit", "gap_report"]
    assert all(j["state"] == "done" for j in jobs), [j["message"] for j in jobs]
    assert jobs[2]["result"]["version"] == 3 and jobs[2]["result"]["name"] == "ch4-shaft"
    async with p.db.sessions() as s:
        issued = (await s.execute(select(Forecast.model_id).where(Forecast.sensor_id == sensor))).scalars().all()
    assert issued == [v2, v2]
    # The schedule-wide gap report belongs to no organisation: platform admins only.
    assert (await p.client.get(f"/api/v1/analytics/jobs/{ids[3]}", headers=engineer)).status_code == 403
