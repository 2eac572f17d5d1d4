"""Restart without duplicates, acknowledge/resolve with roles, filters, history, SSE delivery."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from tests.support.stalls import wait_until

from conftest import AlertPlatform, free_port, running, serve
from ghgwatch.security.models import Role
from ghgwatch.store import Database


async def _open_threshold_alert(p: AlertPlatform) -> dict:
    s = p.world.sensor_a  # registry alarm level 0.75 %
    await p.post(s, [0.9])
    items = await p.wait_for(lambda a: len(a) == 1)
    assert len(items) == 1 and items[0]["severity"] == "alarm" and items[0]["threshold"] == 0.75
    return items[0]


async def test_restart_continues_open_alerts_without_duplicates(tmp_path: Path, db_url: str, db: Database) -> None:
    overrides = {"mqtt": {"embedded_port": free_port()}}
    del db  # truncates PostgreSQL afterwards
    async with running(tmp_path, db_url, **overrides) as p:
        first = await _open_threshold_alert(p)
        sensor = p.world.sensor_a
    async with running(tmp_path, db_url, again=p, **overrides) as p2:
        assert list(p2.service.ids.values()) == [first["id"]]
        await p2.post(sensor, [1.2])
        await wait_until(lambda: [a.peak.value for a in p2.service.engine.open_alerts()] == [1.2], 30,  # judged
                         "the engine following the open alert's new peak of 1.2", extras=p2.ctx.extras, db=p2.db,
                         sensors=[sensor])
        items = await p2.alerts(sensor_id=sensor)
        assert [a["id"] for a in items] == [first["id"]]
        assert [a.key.sensor_id for a in p2.service.engine.open_alerts()] == [str(sensor)]
        detail = (await p2.client.get(f"/api/v1/alerts/{first['id']}", headers=p2.engineer)).json()
        assert [h["action"] for h in detail["history"]] == ["opened"]  # peaks are reported once a minute


async def test_acknowledge_and_resolve_with_roles(alert_platform: AlertPlatform) -> None:
    p = alert_platform
    alert = await _open_threshold_alert(p)
    url = f"/api/v1/alerts/{alert['id']}"
    auditor = await p.world.login(Role.AUDITOR, p.world.org_a)
    other = await p.world.login(Role.OPERATOR, p.world.org_b)
    operator = await p.world.login(Role.OPERATOR, p.world.org_a)

    assert (await p.client.get(url, headers=auditor)).status_code == 200
    assert (await p.client.post(f"{url}/acknowledge", headers=auditor, json={"comment": "x"})).status_code == 403
    assert (await p.client.post(f"{url}/acknowledge", headers=other, json={"comment": "x"})).status_code == 403
    assert (await p.client.get(url, headers=other)).status_code == 403
    assert (await p.client.get("/api/v1/alerts", headers=other)).json()["total"] == 0

    ack = await p.client.post(f"{url}/acknowledge", headers=operator, json={"comment": "ventilation checked"})
    assert ack.status_code == 200, ack.text
    assert ack.json()["state"] == "acknowledged" and ack.json()["acknowledged_by"].startswith("operator")
    assert (await p.client.post(f"{url}/acknowledge", headers=operator, json={})).status_code == 409

    done = await p.client.post(f"{url}/resolve", headers=operator, json={"comment": "gas cleared"})
    assert done.status_code == 200 and done.json()["state"] == "resolved"
    history = (await p.client.get(url, headers=p.engineer)).json()["history"]
    assert [(h["action"], h["comment"]) for h in history] == [
        ("opened", None), ("acknowledged", "ventilation checked"), ("resolved", "gas cleared")]
    assert p.service.ids == {}

    # Resolved by hand while the condition persists: the next exceeding reading opens a new alert.
    await p.post(p.world.sensor_a, [0.95])
    items = await p.wait_for(lambda a: len(a) == 2)
    assert [a["state"] for a in items] == ["open", "resolved"]


async def test_filters_and_pagination(alert_platform: AlertPlatform) -> None:
    p = alert_platform
    t = await p.new_sensor(kind="temperature", unit="degC")
    await p.rule(str(t), "hot", {"kind": "threshold", "warning": 30})
    await p.post(t, [35.0])
    await p.post(p.world.sensor_a, [0.9])
    items = await p.wait_for(lambda a: len(a) == 2)
    assert len(items) == 2
    assert [a["sensor_id"] for a in await p.alerts(severity="warning")] == [t]
    assert [a["sensor_id"] for a in await p.alerts(sensor_id=p.world.sensor_a)] == [p.world.sensor_a]
    assert len(await p.alerts(facility_id=p.world.facility_a)) == 2
    assert await p.alerts(facility_id=p.world.facility_b) == []
    assert await p.alerts(state="resolved") == []
    future = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    assert await p.alerts(since=future) == []
    assert len(await p.alerts(since=past, until=future)) == 2
    page = (await p.client.get("/api/v1/alerts", headers=p.engineer, params={"limit": 1, "offset": 1})).json()
    assert page["total"] == 2 and len(page["items"]) == 1


async def test_listed_alerts_name_their_source_in_two_queries(alert_platform: AlertPlatform) -> None:
    from sqlalchemy import event

    from ghgwatch.alerts import queries
    from ghgwatch.security.principal import Principal

    p = alert_platform
    t = await p.new_sensor(kind="temperature", unit="degC")  # on the world's source "Shaft 1" too
    await p.rule(str(t), "hot", {"kind": "threshold", "warning": 30})
    await p.post(t, [35.0])
    await p.post(p.world.sensor_a, [0.9])
    items = await p.wait_for(lambda a: len(a) == 2)
    assert [(a["source_id"], a["source_name"]) for a in items] == [(p.world.source_a, "Shaft 1")] * 2
    one = (await p.client.get(f"/api/v1/alerts/{items[0]['id']}", headers=p.engineer)).json()
    assert (one["source_id"], one["source_name"]) == (p.world.source_a, "Shaft 1")

    engineer = Principal(user_id=0, username="t", role=Role.ENGINEER, organization_id=p.world.org_a)
    stranger = Principal(user_id=0, username="t", role=Role.ENGINEER, organization_id=p.world.org_b)
    async with p.db.sessions() as s:
        rows, _ = await queries.list_alerts(s, engineer)
        statements: list[object] = []
        event.listen(s.sync_session, "do_orm_execute", lambda state: statements.append(state.statement))
        found = await queries.sources_of(s, engineer, rows)
        assert len(statements) == 2  # one for the sensors' sources, one for the names: not one per alert
        assert found == {a.id: (p.world.source_a, "Shaft 1") for a in rows}
        assert await queries.sources_of(s, stranger, rows) == {}  # another organisation's sources are not read


async def test_sse_delivers_opened_event_to_the_organisation(alert_platform: AlertPlatform) -> None:
    p = alert_platform
    token = p.engineer["Authorization"].split()[1]
    other = (await p.world.login(Role.ENGINEER, p.world.org_b))["Authorization"].split()[1]
    async with serve(p.app) as base, httpx.AsyncClient(base_url=base, timeout=20) as http:
        assert (await http.get("/api/v1/alerts/stream")).status_code == 401
        async with http.stream("GET", "/api/v1/alerts/stream", params={"access_token": token}) as mine, \
                http.stream("GET", "/api/v1/alerts/stream",
                            headers={"Authorization": f"Bearer {other}"}) as theirs:
            assert mine.headers["content-type"].startswith("text/event-stream")
            lines, other_lines = mine.aiter_lines(), theirs.aiter_lines()
            assert await anext(lines) == ": connected"
            assert await anext(other_lines) == ": connected"
            sent = time.monotonic()
            await p.post(p.world.sensor_a, [0.9])
            event_line = await asyncio.wait_for(_next_event(lines), 10)
            data = json.loads((await anext(lines)).removeprefix("data: "))
            assert event_line == "event: opened"
            assert data["event"] == "opened" and data["alert"]["sensor_id"] == p.world.sensor_a
            assert time.monotonic() - sent < 10
            # The other organisation's stream stays silent.
            other_next = asyncio.ensure_future(_next_event(other_lines))
            await asyncio.sleep(0.5)
            assert not other_next.done()
            other_next.cancel()


async def test_sse_stream_ends_when_the_users_tokens_are_revoked(alert_platform: AlertPlatform) -> None:
    """An open stream does not outlive its token: after a revocation the next event is `revoked` (issue 12)."""
    from ghgwatch.alerts.hub import hub_of

    p = alert_platform
    viewer = await p.world.login(Role.OPERATOR, p.world.org_a)
    token = viewer["Authorization"].split()[1]
    admin = await p.world.login(Role.ADMIN, p.world.org_a)
    uid = (await p.client.get("/api/v1/me", headers=viewer)).json()["id"]
    event = {"event": "opened", "alert": {"organization_id": p.world.org_a, "sensor_id": p.world.sensor_a}}
    async with serve(p.app) as base, httpx.AsyncClient(base_url=base, timeout=20) as http:
        async with http.stream("GET", "/api/v1/alerts/stream", params={"access_token": token}) as stream:
            lines = stream.aiter_lines()
            assert await anext(lines) == ": connected"
            hub_of(p.ctx.extras).publish(event)
            assert await asyncio.wait_for(_next_event(lines), 10) == "event: opened"
            revoked = await p.client.post(f"/api/v1/users/{uid}/revoke-tokens", headers=admin)
            assert revoked.status_code == 200, revoked.text
            hub_of(p.ctx.extras).publish(event)
            assert await asyncio.wait_for(_next_event(lines), 10) == "event: revoked"
            rest = [line async for line in lines]  # the server ends the stream
            assert not any(line.startswith("event:") for line in rest)
        assert (await http.get("/api/v1/alerts/stream", params={"access_token": token})).status_code == 401


async def _next_event(lines: object) -> str:
    async for line in lines:  # type: ignore[attr-defined]
        if line.startswith("event:"):
            return str(line)
    raise AssertionError("stream ended")
