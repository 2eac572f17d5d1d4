"""Issue 10 item 7: an open alert's peak follows new peaks, alerts carry their unit, a comment after acknowledging
(SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import json

import httpx
from sqlalchemy import select

from conftest import AlertPlatform, serve
from ghgwatch.audit.models import AuditEntry
from ghgwatch.security.models import Role


async def _next_event(lines: object) -> str:
    async for line in lines:  # type: ignore[attr-defined]
        if line.startswith("event:"):
            return str(line)
    raise AssertionError("stream ended")


async def test_open_alerts_peak_follows_new_peaks_and_carries_the_unit(alert_platform: AlertPlatform) -> None:
    p = alert_platform
    s = p.world.sensor_a  # registry alarm level 0.75 %
    await p.post(s, [0.9])
    items = await p.wait_for(lambda a: len(a) == 1)
    assert len(items) == 1 and items[0]["peak_value"] == 0.9 and items[0]["unit"] == "%"
    first = items[0]["id"]
    await p.post(s, [1.4])  # a new peak of the same severity: no event within the minute, but stored at once
    items = await p.wait_for(lambda a: a[0]["peak_value"] == 1.4)
    assert [(a["id"], a["peak_value"], a["reading_value"], a["state"]) for a in items] == [(first, 1.4, 0.9, "open")]
    await p.judged(s, await p.post(s, [1.1]))  # lower than the peak: the peak stays
    detail = (await p.client.get(f"/api/v1/alerts/{first}", headers=p.engineer)).json()
    assert detail["peak_value"] == 1.4 and detail["unit"] == "%"
    assert [h["action"] for h in detail["history"]] == ["opened"]  # a new peak is announced at most once a minute

    t = await p.new_sensor(kind="temperature", unit="degC")
    await p.rule(str(t), "hot", {"kind": "threshold", "warning": 30})
    await p.post(t, [35.0])
    hot = await p.wait_for(lambda a: len(a) == 1, sensor_id=t)
    assert len(hot) == 1 and hot[0]["unit"] == "degC"  # the rule names no unit: the sensor's


async def test_comment_after_acknowledging(alert_platform: AlertPlatform) -> None:
    p = alert_platform
    await p.post(p.world.sensor_a, [0.9])
    alert = (await p.wait_for(lambda a: len(a) == 1))[0]
    url = f"/api/v1/alerts/{alert['id']}"
    operator = await p.world.login(Role.OPERATOR, p.world.org_a)
    auditor = await p.world.login(Role.AUDITOR, p.world.org_a)
    other = await p.world.login(Role.OPERATOR, p.world.org_b)
    acked = await p.client.post(f"{url}/acknowledge", headers=operator, json={"comment": "on my way"})
    assert acked.status_code == 200

    token = operator["Authorization"].split()[1]
    async with serve(p.app) as base, httpx.AsyncClient(base_url=base, timeout=20) as http, \
            http.stream("GET", "/api/v1/alerts/stream", params={"access_token": token}) as stream:
        lines = stream.aiter_lines()
        assert await anext(lines) == ": connected"
        added = await p.client.post(f"{url}/comments", headers=operator, json={"comment": "fan 2 restarted"})
        assert added.status_code == 200, added.text
        assert added.json()["state"] == "acknowledged" and added.json()["comment"] == "fan 2 restarted"
        event = await asyncio.wait_for(_next_event(lines), 10)
        data = json.loads((await anext(lines)).removeprefix("data: "))
        assert event == "event: commented" and data["reason"] == "fan 2 restarted"
        assert data["alert"]["id"] == alert["id"] and data["actor"].startswith("operator")

    # Roles, organisation, bad input.
    assert (await p.client.post(f"{url}/comments", headers=auditor, json={"comment": "x"})).status_code == 403
    assert (await p.client.post(f"{url}/comments", headers=other, json={"comment": "x"})).status_code == 403
    assert (await p.client.post("/api/v1/alerts/999999/comments", headers=operator,
                                json={"comment": "x"})).status_code == 404
    for body in ({}, {"comment": ""}, {"comment": "   "}, {"comment": "x" * 2001}):
        bad = await p.client.post(f"{url}/comments", headers=operator, json=body)
        assert bad.status_code == 422 and "comment" in bad.text, (body, bad.text)

    # After resolving too (a post-mortem note); the state never changes.
    assert (await p.client.post(f"{url}/resolve", headers=operator, json={"comment": "gas cleared"})).status_code == 200
    late = await p.client.post(f"{url}/comments", headers=operator, json={"comment": "cause: a blocked duct"})
    assert late.status_code == 200 and late.json()["state"] == "resolved"
    history = (await p.client.get(url, headers=p.engineer)).json()["history"]
    assert [(h["action"], h["comment"]) for h in history] == [
        ("opened", None), ("acknowledged", "on my way"), ("commented", "fan 2 restarted"),
        ("resolved", "gas cleared"), ("commented", "cause: a blocked duct")]
    async with p.db.sessions() as s:
        audited = [(e.action, e.after["comment"]) for e in (await s.execute(
            select(AuditEntry).where(AuditEntry.entity == "alert", AuditEntry.entity_id == str(alert["id"]))
            .order_by(AuditEntry.id))).scalars()]
    assert audited == [("acknowledged", "on my way"), ("commented", "fan 2 restarted"), ("resolved", "gas cleared"),
                       ("commented", "cause: a blocked duct")]
