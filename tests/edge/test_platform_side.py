"""The platform's API for edge gateways, on both databases: configuration, summaries and alarm events, each
scoped to the gateway's organisation and idempotent."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from ghgwatch.alerts.models import Alert, AlertHistory
from ghgwatch.edge.models import EdgeEvent
from ghgwatch.ingest.auth import signature_for
from ghgwatch.security import service
from ghgwatch.security.models import Role
from ghgwatch.security.principal import SYSTEM
from ghgwatch.security.tokens import hash_secret, parse_device_token
from ghgwatch.store import Database
from tests.ingest.conftest import Platform, _platform

MINUTE = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=2)


@dataclass
class Gateway:
    p: Platform
    token: str
    secret: str

    def headers(self, body: bytes = b"", *, token: str | None = None, secret: str | None = None) -> dict[str, str]:
        stamp = f"{time.time():.6f}"
        return {"Authorization": f"Bearer {token or self.token}", "Content-Type": "application/json",
                "X-Timestamp": stamp, "X-Signature": signature_for(secret or self.secret, stamp, body)}

    async def post(self, path: str, payload: Any) -> Any:
        body = json.dumps(payload).encode()
        return await self.p.client.post(f"/api/v1/edge/{path}", content=body, headers=self.headers(body))


@pytest.fixture
async def gateway(tmp_path: Path, db_url: str, db: Database) -> AsyncIterator[Gateway]:
    del db
    async for p in _platform(tmp_path, db_url, "embedded:"):
        async with p.db.transaction() as s:
            issued = await service.create_device(s, SYSTEM, organization_id=p.world.org_a, name="edge",
                                                 require_signature=True, gateway=True)
        yield Gateway(p, issued.token, issued.device.hmac_secret)


async def test_config_is_for_gateways_of_the_organisation_only(gateway: Gateway) -> None:
    g, p = gateway, gateway.p
    answer = await p.client.get("/api/v1/edge/config", headers=g.headers())
    assert answer.status_code == 200, answer.text
    config = answer.json()
    assert config["organization_id"] == p.world.org_a
    assert [s["id"] for s in config["sensors"]] == [p.world.sensor_a]  # org B's sensor is not there
    rules = {r["sensor"]: r["rules"] for r in config["rules"]}
    threshold = rules[p.world.sensor_a]["threshold"]  # the sensor's own alarm level (build_world: 0.75 %)
    assert (threshold["kind"], threshold["alarm"], threshold["direction"]) == ("threshold", 0.75, "above")
    parsed = parse_device_token(p.token)
    assert parsed is not None
    devices = {d["id"]: d for d in config["devices"]}
    assert devices == {p.device_id: {"id": p.device_id, "token_hash": hash_secret(parsed.secret),
                                     "hmac_secret": p.hmac_secret, "require_signature": False}}
    # A plain device (not a gateway) may not read the keys of its organisation; nor may anyone unsigned.
    plain = await p.client.get("/api/v1/edge/config", headers=g.headers(token=p.token, secret=p.hmac_secret))
    assert plain.status_code == 403
    unsigned = await p.client.get("/api/v1/edge/config", headers={"Authorization": f"Bearer {g.token}"})
    assert unsigned.status_code == 401 and unsigned.json()["type"].endswith("signature-required")
    forged = await p.client.get("/api/v1/edge/config", headers=g.headers(secret="wrong"))
    assert forged.status_code == 401
    assert (await p.client.get("/api/v1/edge/config")).status_code == 401


def _summary(sensor: int, minute: datetime, values: list[float]) -> dict[str, Any]:
    return {"sensor": sensor, "minute": minute.isoformat(), "count": len(values), "sum": sum(values),
            "min": min(values), "max": max(values), "last": values[-1],
            "last_ts": (minute + timedelta(seconds=59)).isoformat()}


async def _rows(db: Database, sql: str) -> list[tuple[Any, ...]]:
    async with db.engine.connect() as conn:
        return [tuple(r) for r in (await conn.execute(text(sql))).all()]


async def test_summaries_become_minute_rollups_once(gateway: Gateway) -> None:
    g, p = gateway, gateway.p
    sensor = p.world.sensor_a
    first = [_summary(sensor, MINUTE, [0.2, 0.4, 0.3]), _summary(sensor, MINUTE + timedelta(minutes=1), [0.5, 0.7])]
    bad = [{**_summary(sensor, MINUTE, [1.0]), "min": 2.0},                          # 0: min above max
           _summary(sensor + 1, MINUTE, [0.1]),                                      # 1: org B's sensor
           {**_summary(sensor, MINUTE, [1.0]), "minute": (MINUTE + timedelta(seconds=5)).isoformat()},  # 2
           {"sensor": sensor, "minute": "yesterday"}]                                # 3: not a summary
    answer = await g.post("summaries", {"summaries": first + bad})
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] == 2
    assert [r["index"] for r in answer.json()["rejected"]] == [2, 3, 4, 5]
    assert "unknown sensor" in answer.json()["rejected"][1]["error"]
    again = await g.post("summaries", {"summaries": first})  # the gateway lost the answer and sends again
    assert again.json() == {"accepted": 2, "rejected": []}
    bucket = int(MINUTE.timestamp() * 1e6)
    minutes = await _rows(p.db, f"SELECT bucket, count, sum, min, max, last FROM rollup_1m WHERE sensor_id = {sensor} "
                                "ORDER BY bucket")
    assert minutes == [(bucket, 3, pytest.approx(0.9), 0.2, 0.4, 0.3), (bucket + 60_000_000, 2, 1.2, 0.5, 0.7, 0.7)]
    hours = await _rows(p.db, f"SELECT count, sum, min, max FROM rollup_1h WHERE sensor_id = {sensor}")
    assert sum(h[0] for h in hours) == 5 and sum(h[1] for h in hours) == pytest.approx(2.1)
    days = await _rows(p.db, f"SELECT sum(count) FROM rollup_1d WHERE sensor_id = {sensor}")
    assert days == [(5,)]
    latest = await _rows(p.db, f"SELECT value FROM sensor_latest WHERE sensor_id = {sensor}")
    assert latest == [(0.7,)]
    assert await _rows(p.db, f"SELECT count(*) FROM rollup_1m WHERE sensor_id = {sensor + 1}") == [(0,)]
    # The readings API shows them to the organisation's users.
    user = await p.world.login(Role.AUDITOR, p.world.org_a)
    series = (await p.client.get(f"/api/v1/sensors/{sensor}/readings", headers=user, params={
        "from": MINUTE.isoformat(), "to": (MINUTE + timedelta(hours=10)).isoformat()})).json()
    assert sum(pt["count"] for pt in series["points"]) == 5
    malformed = await p.client.post("/api/v1/edge/summaries", content=b"{", headers=g.headers(b"{"))
    assert malformed.status_code == 400


def _event(sensor: int, kind: str, at: datetime, opened: str, severity: str = "alarm") -> dict[str, Any]:
    return {"id": f"{sensor}/threshold/{kind}/{int(at.timestamp())}", "alert": opened, "kind": kind,
            "sensor": sensor, "rule_id": "threshold", "condition": "threshold", "severity": severity,
            "at": at.isoformat(), "threshold": 0.75, "unit": "%", "rule_source": "sensor configuration (registry)",
            "reason": "condition clear" if kind == "resolved" else "", "reading_ts": at.isoformat(),
            "reading_value": 0.9 if kind != "resolved" else 0.3, "peak_ts": at.isoformat(), "peak_value": 0.9,
            "opened_at": MINUTE.isoformat()}


async def test_alarm_events_become_alerts_once_and_stay_in_their_organisation(gateway: Gateway) -> None:
    g, p = gateway, gateway.p
    sensor = p.world.sensor_a
    opened = _event(sensor, "opened", MINUTE, "", severity="warning")
    opened["alert"] = opened["id"]
    escalated = _event(sensor, "escalated", MINUTE + timedelta(seconds=30), opened["id"])
    resolved = _event(sensor, "resolved", MINUTE + timedelta(minutes=3), opened["id"])
    stranger = {**_event(sensor + 1, "opened", MINUTE, ""), "alert": "x"}
    answer = await g.post("events", {"events": [opened, escalated, stranger]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] == 2
    assert [r["index"] for r in answer.json()["rejected"]] == [2]
    again = await g.post("events", {"events": [opened, escalated, resolved]})  # re-sent after a lost answer
    assert again.json()["accepted"] == 1 and again.json()["duplicates"] == 2
    async with p.db.sessions() as s:
        alerts = (await s.execute(select(Alert))).scalars().all()
        assert len(alerts) == 1
        alert = alerts[0]
        assert (alert.sensor_id, alert.severity, alert.state, alert.threshold) == (sensor, "alarm", "resolved", 0.75)
        assert alert.resolved_at == MINUTE + timedelta(minutes=3)
        actions = (await s.execute(select(AlertHistory.action).where(AlertHistory.alert_id == alert.id)
                                   .order_by(AlertHistory.id))).scalars().all()
        assert actions == ["opened", "escalated", "auto_resolved"]
        assert (await s.execute(select(func.count()).select_from(EdgeEvent))).scalar_one() == 3
    mine = await p.world.login(Role.OPERATOR, p.world.org_a)
    theirs = await p.world.login(Role.OPERATOR, p.world.org_b)
    assert (await p.client.get(f"/api/v1/alerts/{alert.id}", headers=mine)).status_code == 200
    assert (await p.client.get(f"/api/v1/alerts/{alert.id}", headers=theirs)).status_code in (403, 404)
    assert (await p.client.get("/api/v1/alerts", headers=theirs)).json()["total"] == 0
