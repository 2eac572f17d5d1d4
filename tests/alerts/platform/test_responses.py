"""Automated responses against a real HTTP receiver: a signed command with an idempotency key naming the action
and the equipment, its acknowledgement from the equipment side (pending -> acknowledged -> done / failed, with
deadlines), and work orders (API, status moves, audit, organisation scope)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from conftest import AlertPlatform, free_port, running, serve
from ghgwatch.alerts.notify import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign, verify
from ghgwatch.alerts.outbox.dispatcher import IDEMPOTENCY_HEADER
from ghgwatch.audit.models import AuditEntry
from ghgwatch.security.models import Role
from ghgwatch.store import Database

SECRET = "equipment-secret-0123456789"


def equipment() -> tuple[Starlette, list[dict[str, Any]]]:
    calls: list[dict[str, Any]] = []

    async def command(request: Request) -> JSONResponse:
        calls.append({"body": await request.body(), "headers": dict(request.headers)})
        return JSONResponse({"accepted": True}, status_code=202)

    return Starlette(routes=[Route("/command", command, methods=["POST"])]), calls


async def until(check: Callable[[], Awaitable[Any]], within_s: float = 20.0) -> Any:
    deadline = time.monotonic() + within_s
    while True:
        value = await check()
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.05)


def signed(body: dict[str, Any], secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body).encode()
    ts = str(int(time.time()))
    return raw, {TIMESTAMP_HEADER: ts, SIGNATURE_HEADER: sign(secret, ts, raw), "Content-Type": "application/json"}


async def _rule(p: AlertPlatform, base: str, **fields: Any) -> dict[str, Any]:
    body = {"name": "Longwall 7 methane", "action": "stop_shearer", "equipment": "shearer-7",
            "command_url": f"{base}/command", "secret": SECRET, "source_type": "ventilation_shaft",
            "min_severity": "alarm", "work_order": True} | fields
    answer = await p.client.post("/api/v1/response-rules", headers=p.engineer, json=body)
    assert answer.status_code == 201, answer.text
    out: dict[str, Any] = answer.json()
    assert out["has_secret"] and "secret" not in out
    return out


async def _commands(p: AlertPlatform, **params: Any) -> list[dict[str, Any]]:
    answer = await p.client.get("/api/v1/response-commands", headers=p.engineer, params=params)
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


async def test_command_is_signed_acknowledged_and_done(alert_platform: AlertPlatform) -> None:
    p = alert_platform
    app, calls = equipment()
    async with serve(app) as base:
        rule = await _rule(p, base)
        await p.post(p.world.sensor_a, [0.9])
        assert await until(lambda: asyncio.sleep(0, bool(calls))), "no command reached the equipment"
    alert = (await p.alerts(sensor_id=p.world.sensor_a))[0]
    call = calls[0]
    key = f"stop_shearer:shearer-7:alert-{alert['id']}:opened:alarm"
    assert call["headers"][IDEMPOTENCY_HEADER.lower()] == key
    assert verify(SECRET, call["headers"][TIMESTAMP_HEADER.lower()], call["body"],
                  call["headers"][SIGNATURE_HEADER.lower()])
    payload = json.loads(call["body"])
    assert payload["action"] == "stop_shearer" and payload["equipment"] == "shearer-7"
    assert payload["idempotency_key"] == key and payload["alert"]["id"] == alert["id"]
    command_id = payload["command_id"]
    ack = payload["ack_path"]

    sent = await until(lambda: _commands(p, alert_id=alert["id"]))
    assert [(c["status"], c["rule_id"], c["idempotency_key"]) for c in sent] == [("pending", rule["id"], key)]
    # Unsigned, wrongly signed and stale reports are refused alike.
    raw, headers = signed({"status": "acknowledged"})
    assert (await p.client.post(ack, content=raw)).status_code == 401
    assert (await p.client.post(ack, content=raw, headers=headers | {SIGNATURE_HEADER: "sha256=00"})).status_code == 401
    _, wrong = signed({"status": "acknowledged"}, secret="another-secret-0123456789")
    assert (await p.client.post(ack, content=raw, headers=wrong)).status_code == 401
    bad, bad_headers = signed({"status": "exploded"})
    answer = await p.client.post(ack, content=bad, headers=bad_headers)
    assert answer.status_code == 422 and "status" in answer.text

    answer = await p.client.post(ack, content=raw, headers=headers)
    assert answer.status_code == 200 and answer.json()["status"] == "acknowledged", answer.text
    assert answer.json()["done_deadline"] is not None
    again = await p.client.post(ack, content=raw, headers=headers)  # the equipment repeats its report
    assert again.status_code == 200 and again.json()["status"] == "acknowledged"
    raw, headers = signed({"status": "done", "detail": "shearer stopped at 21:04"})
    done = await p.client.post(ack, content=raw, headers=headers)
    assert done.status_code == 200 and done.json()["status"] == "done" and done.json()["detail"].startswith("shearer")
    raw, headers = signed({"status": "acknowledged"})
    assert (await p.client.post(ack, content=raw, headers=headers)).status_code == 409

    orders = (await p.client.get("/api/v1/work-orders", headers=p.engineer,
                                 params={"alert_id": alert["id"]})).json()["items"]
    assert [(o["status"], o["alert_id"], o["facility_id"]) for o in orders] == [
        ("open", alert["id"], p.world.facility_a)]

    other = await p.world.login(Role.ENGINEER, p.world.org_b)
    assert (await p.client.get(f"/api/v1/response-commands/{command_id}", headers=other)).status_code == 404
    assert (await p.client.get(f"/api/v1/work-orders/{orders[0]['id']}", headers=other)).status_code == 404
    assert (await p.client.get(f"/api/v1/response-rules/{rule['id']}", headers=other)).status_code == 403
    assert (await p.client.get("/api/v1/response-commands", headers=other)).json()["items"] == []
    assert (await p.client.get("/api/v1/work-orders", headers=other)).json()["items"] == []
    async with p.db.sessions() as s:
        actions = [e.action for e in (await s.execute(select(AuditEntry).where(
            AuditEntry.entity == "response_command").order_by(AuditEntry.id))).scalars()]
    assert actions == ["create", "command_acknowledged", "command_done"]


async def test_unacknowledged_command_fails_at_its_deadline(tmp_path: Path, db_url: str, db: Database) -> None:
    del db
    async with running(tmp_path, db_url, mqtt={"embedded_port": free_port()},
                       notify={"outbox_poll_s": 0.1, "retry_backoff_s": 0.05}) as p:
        app, calls = equipment()
        async with serve(app) as base:
            await _rule(p, base, ack_timeout_s=0.5, work_order=False, action="start_degassing_pump",
                        equipment="pump-2")
            await p.post(p.world.sensor_a, [0.9])

            async def failed() -> list[dict[str, Any]]:
                return [c for c in await _commands(p) if c["status"] == "failed"]

            items = await until(failed)
        assert items and "no acknowledgement" in items[0]["detail"], items
        assert calls and calls[0]["headers"][IDEMPOTENCY_HEADER.lower()].startswith("start_degassing_pump:pump-2:")
        raw, headers = signed({"status": "acknowledged"})
        late = await p.client.post(f"/api/v1/response-commands/{items[0]['id']}/ack", content=raw, headers=headers)
        assert late.status_code == 409 and "no acknowledgement" in late.json()["detail"]


async def test_rule_validation(alert_platform: AlertPlatform) -> None:
    p = alert_platform
    answer = await p.client.post("/api/v1/response-rules", headers=p.engineer, json={
        "name": "x", "action": "stop_shearer", "equipment": "s-1", "command_url": "http://127.0.0.1:9/c"})
    assert answer.status_code == 422 and "secret" in answer.json()["detail"]
    answer = await p.client.post("/api/v1/response-rules", headers=p.engineer, json={"name": "nothing"})
    assert answer.status_code == 422 and "work_order" in answer.json()["detail"]
    answer = await p.client.post("/api/v1/response-rules", headers=p.engineer, json={
        "name": "x", "action": "fire_the_laser", "work_order": True})
    assert answer.status_code == 422
    answer = await p.client.post("/api/v1/response-rules", headers=p.engineer, json={
        "name": "x", "work_order": True, "work_order_assignee": "nobody-here"})
    assert answer.status_code == 422 and "assignee" in answer.json()["detail"]
    operator = await p.world.login(Role.OPERATOR, p.world.org_a)
    answer = await p.client.post("/api/v1/response-rules", headers=operator, json={"name": "x", "work_order": True})
    assert answer.status_code == 403


async def test_work_orders_move_forward_and_every_change_is_audited(alert_platform: AlertPlatform) -> None:
    p = alert_platform
    operator = await p.world.login(Role.OPERATOR, p.world.org_a)
    answer = await p.client.post("/api/v1/work-orders", headers=operator, json={
        "title": "Check degassing pipeline DS-2", "facility_id": p.world.facility_a,
        "due_at": "2026-12-01T08:00:00Z"})
    assert answer.status_code == 201, answer.text
    order = answer.json()
    assert order["status"] == "open" and order["created_by"].startswith("operator")
    url = f"/api/v1/work-orders/{order['id']}"
    assert (await p.client.patch(url, headers=operator, json={"status": "done"})).status_code == 409
    bad = await p.client.patch(url, headers=operator, json={"status": "finished"})
    assert bad.status_code == 422
    started = await p.client.patch(url, headers=operator, json={"status": "in_progress"})
    assert started.status_code == 200 and started.json()["started_at"] is not None
    done = await p.client.patch(url, headers=operator, json={"status": "done"})
    assert done.status_code == 200 and done.json()["done_at"] is not None
    back = await p.client.patch(url, headers=operator, json={"status": "open"})
    assert back.status_code == 409 and "finished" in back.json()["detail"]
    detail = (await p.client.get(url, headers=p.engineer)).json()
    assert [(h["action"], h["status"]) for h in detail["history"]] == [
        ("create", "open"), ("update", "in_progress"), ("update", "done")]

    auditor = await p.world.login(Role.AUDITOR, p.world.org_a)
    assert (await p.client.post("/api/v1/work-orders", headers=auditor, json={"title": "x"})).status_code == 403
    assert (await p.client.get(url, headers=auditor)).status_code == 200
    other = await p.world.login(Role.OPERATOR, p.world.org_b)
    assert (await p.client.patch(url, headers=other, json={"title": "mine now"})).status_code == 404
    answer = await p.client.post("/api/v1/work-orders", headers=operator, json={
        "title": "x", "facility_id": p.world.facility_b})
    assert answer.status_code == 422 and "facility_id" in answer.json()["detail"]
    answer = await p.client.post("/api/v1/work-orders", headers=operator, json={"title": "x", "alert_id": 999999})
    assert answer.status_code == 422 and "alert_id" in answer.json()["detail"]
