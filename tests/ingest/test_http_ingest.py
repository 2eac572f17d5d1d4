"""HTTP ingest end to end: accepted readings stored once, rejections by index, dead letters, rollups."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from ghgwatch.audit.models import AuditEntry
from ghgwatch.readings.models import ROLLUPS, Quality, Reading
from ghgwatch.security.models import Role
from tests.ingest.conftest import Platform

T0 = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=3)


def readings(sensor: int, n: int, start: datetime = T0, step_s: float = 7.0, base: float = 0.4) -> list[dict]:
    return [{"sensor": sensor, "ts": (start + timedelta(seconds=i * step_s)).isoformat(), "value": base + i * 1e-3}
            for i in range(n)]


async def test_readings_stored_once_on_both_buses(any_bus_platform: Platform) -> None:
    p = any_bus_platform
    body = {"readings": readings(p.world.sensor_a, 600)}
    answer = await p.client.post("/api/v1/readings", json=body, headers=p.auth)
    assert answer.status_code == 202, answer.text
    assert answer.json() == {"accepted": 600, "rejected": []}
    # The same readings again (a client retry): acknowledged, but stored once.
    again = await p.client.post("/api/v1/readings", json=body, headers=p.auth)
    assert again.json()["accepted"] == 600
    assert await p.wait_stored(600, within=30) == 600
    await asyncio.sleep(0.3)
    assert await p.stored() == 600


async def test_one_bad_reading_never_rejects_the_good_ones(platform: Platform) -> None:
    p = platform
    good = readings(p.world.sensor_a, 3)
    body = {"readings": [
        good[0],
        {"sensor": p.world.sensor_a, "ts": "2025-01-01T00:00:00", "value": 1.0},              # 1: no offset
        {"sensor": p.world.sensor_a, "ts": good[1]["ts"]},                                     # 2: no value
        good[1],
        {"sensor": 999_999, "ts": good[2]["ts"], "value": 0.5},                                 # 4: unknown
        {"sensor": str(p.world.sensor_a + 1000), "ts": good[2]["ts"], "value": 0.5},            # 5: unknown
        {"sensor": "abc", "ts": good[2]["ts"], "value": 0.5},                                   # 6: not an id
        {**good[2], "sensor": str(p.world.sensor_a)},                                           # 7: id as text
    ]}
    answer = await p.client.post("/api/v1/readings", json=body, headers=p.auth)
    assert answer.status_code == 202
    result = answer.json()
    assert result["accepted"] == 3
    assert [r["index"] for r in result["rejected"]] == [1, 2, 4, 5, 6]
    assert "offset" in result["rejected"][0]["error"]
    assert "value" in result["rejected"][1]["error"]
    assert await p.wait_stored(3) == 3


async def test_sensor_of_another_organisation_is_unknown(platform: Platform) -> None:
    p = platform
    other = p.world.sensor_a + 1  # the second organisation's sensor
    async with p.db.sessions() as s:
        from ghgwatch.registry.models import Sensor

        assert (await s.get(Sensor, other)).organization_id == p.world.org_b  # type: ignore[union-attr]
    answer = await p.client.post("/api/v1/readings", headers=p.auth,
                                 json={"readings": readings(other, 1)})
    assert answer.json()["accepted"] == 0
    assert "unknown sensor" in answer.json()["rejected"][0]["error"]


async def test_pipeline_rejections_go_to_dead_letters_and_replay(platform: Platform) -> None:
    p = platform
    admin = await p.world.login(Role.ENGINEER, p.world.org_a)
    s = p.world.sensor_a  # methane, %, range 0-100
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    body = {"readings": [
        {"sensor": s, "ts": T0.isoformat(), "value": 150.0},                                   # out of range
        {"sensor": s, "ts": future, "value": 0.5},                                             # future
        {"sensor": s, "ts": T0.isoformat(), "value": 0.5, "unit": "m/s"},                      # wrong unit
        {"sensor": s, "ts": (T0 + timedelta(seconds=1)).isoformat(), "value": 5000, "unit": "ppm"},  # converted
        {"sensor": s, "ts": (T0 + timedelta(seconds=2)).isoformat(), "value": 0.4},            # good
    ]}
    assert (await p.client.post("/api/v1/readings", json=body, headers=p.auth)).json()["accepted"] == 5
    dead = await p.wait_dead(3, admin)
    assert sorted(d["reason"] for d in dead) == ["future_timestamp", "out_of_range", "unit"]
    assert await p.wait_stored(2) == 2
    async with p.db.sessions() as session:
        converted = (await session.execute(select(Reading).where(Reading.ts == int(
            (T0 + timedelta(seconds=1)).timestamp() * 1e6)))).scalar_one()
    assert converted.value == pytest.approx(0.5)
    assert converted.quality & Quality.UNIT_CONVERTED

    # An inactive sensor's readings are dead letters too; after the sensor is fixed they can be replayed.
    await p.client.patch(f"/api/v1/sensors/{s}", headers=admin, json={"active": False})
    p_ts = (T0 + timedelta(minutes=5)).isoformat()
    await p.client.post("/api/v1/readings", json={"readings": [{"sensor": s, "ts": p_ts, "value": 0.6}]},
                        headers=p.auth)
    dead = await p.wait_dead(4, admin)
    inactive = [d for d in dead if d["reason"] == "inactive_sensor"]
    assert len(inactive) == 1
    await p.client.patch(f"/api/v1/sensors/{s}", headers=admin, json={"active": True})
    answer = await p.client.post("/api/v1/deadletter/replay", headers=admin, json={"ids": [inactive[0]["id"]]})
    assert answer.json()["replayed"] == [inactive[0]["id"]]
    assert await p.wait_stored(3, within=15) == 3
    again = await p.client.post("/api/v1/deadletter/replay", headers=admin, json={"ids": [inactive[0]["id"]]})
    assert again.json()["skipped"] == [inactive[0]["id"]]
    async with p.db.sessions() as session:  # the replay is audited once (the skipped one is not a replay)
        entries = (await session.execute(select(AuditEntry).where(AuditEntry.action == "replay"))).scalars().all()
    assert [(e.entity, e.entity_id, e.organization_id, e.after) for e in entries] == [
        ("dead_letter", str(inactive[0]["id"]), p.world.org_a, {"replayed": [inactive[0]["id"]]})]
    assert entries[0].actor.startswith("engineer-")


async def test_rollups_equal_recomputation_from_raw(platform: Platform) -> None:
    p = platform
    start = T0 - timedelta(hours=5)
    rows = readings(p.world.sensor_a, 1500, start=start, step_s=13.0)  # ~5.4 h: several hours, many minutes
    for i in range(0, 1500, 400):  # several requests, so buckets are recompiled across batches
        await p.client.post("/api/v1/readings", json={"readings": rows[i:i + 400]}, headers=p.auth)
    assert await p.wait_stored(1500) == 1500
    async with p.db.sessions() as s:
        raw = (await s.execute(select(Reading.ts, Reading.value).order_by(Reading.ts))).all()
        for table in ROLLUPS:
            width = table.BUCKET_US
            expected: dict[int, list[tuple[int, float]]] = {}
            for ts, value in raw:
                expected.setdefault(ts // width * width, []).append((ts, value))
            got = {r.bucket: r for r in (await s.execute(select(table))).scalars()}
            assert got.keys() == expected.keys(), table.__tablename__
            for bucket, items in expected.items():
                r = got[bucket]
                values = [v for _, v in items]
                assert r.count == len(values)
                assert r.sum == pytest.approx(sum(values))
                assert (r.min, r.max) == (min(values), max(values))
                assert (r.last_ts, r.last) == max(items)


async def test_csv_body(platform: Platform) -> None:
    p = platform
    lines = ["sensor,ts,value,unit"] + [f"{p.world.sensor_a},{(T0 + timedelta(seconds=i)).isoformat()},0.{i},%"
                                         for i in range(1, 6)] + [f"{p.world.sensor_a},yesterday,0.1,%"]
    answer = await p.client.post("/api/v1/readings", content="\n".join(lines),
                                 headers={**p.auth, "Content-Type": "text/csv"})
    assert answer.status_code == 202
    assert answer.json()["accepted"] == 5
    assert [r["index"] for r in answer.json()["rejected"]] == [5]
    assert await p.wait_stored(5) == 5


@pytest.mark.parametrize(("body", "content_type", "status"), [
    (b"{not json", "application/json", 400),
    (b'{"values": []}', "application/json", 422),
    (b"<readings/>", "application/xml", 415),
    (b"a,b\n1,2", "text/csv", 422),
])
async def test_malformed_bodies_are_problems(platform: Platform, body: bytes, content_type: str,
                                             status: int) -> None:
    answer = await platform.client.post("/api/v1/readings", content=body,
                                        headers={**platform.auth, "Content-Type": content_type})
    assert answer.status_code == status
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["status"] == status


async def test_too_many_readings_is_413(platform: Platform) -> None:
    body = {"readings": readings(platform.world.sensor_a, 10_001, step_s=0.5)}
    answer = await platform.client.post("/api/v1/readings", json=body, headers=platform.auth)
    assert answer.status_code == 413


async def test_device_token_required(platform: Platform) -> None:
    body = {"readings": readings(platform.world.sensor_a, 1)}
    assert (await platform.client.post("/api/v1/readings", json=body)).status_code == 401
    bad = await platform.client.post("/api/v1/readings", json=body, headers={"Authorization": "Bearer gwd_1_x"})
    assert bad.status_code == 401


def _signed(p: Platform, body: bytes, ts: float | None = None, secret: str | None = None) -> dict[str, str]:
    stamp = str(int(ts if ts is not None else time.time()))
    mac = hmac.new((secret or p.hmac_secret).encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {**p.auth, "Content-Type": "application/json", "X-Timestamp": stamp, "X-Signature": f"sha256={mac}"}


async def test_signatures_good_bad_stale_replayed(platform: Platform) -> None:
    p = platform
    body = json.dumps({"readings": readings(p.world.sensor_a, 2)}).encode()
    good = _signed(p, body)
    assert (await p.client.post("/api/v1/readings", content=body, headers=good)).status_code == 202
    replay = await p.client.post("/api/v1/readings", content=body, headers=good)
    assert replay.status_code == 409 and replay.json()["type"].endswith("replayed-signature")
    wrong = await p.client.post("/api/v1/readings", content=body, headers=_signed(p, body, secret="nope"))
    assert wrong.status_code == 401 and wrong.json()["type"].endswith("bad-signature")
    tampered = await p.client.post("/api/v1/readings", content=body.replace(b"0.4", b"0.9"), headers=_signed(p, body))
    assert tampered.status_code == 401
    stale = await p.client.post("/api/v1/readings", content=body, headers=_signed(p, body, ts=time.time() - 301))
    assert stale.status_code == 401 and stale.json()["type"].endswith("stale-signature")


async def test_device_requiring_signatures_refuses_unsigned(platform: Platform) -> None:
    p = platform
    admin = await p.world.login(Role.ADMIN, p.world.org_a)
    created = (await p.client.post("/api/v1/devices", headers=admin, json={
        "organization_id": p.world.org_a, "name": "strict", "require_signature": True})).json()
    body = json.dumps({"readings": readings(p.world.sensor_a, 1)}).encode()
    unsigned = await p.client.post("/api/v1/readings", content=body, headers={
        "Authorization": f"Bearer {created['token']}", "Content-Type": "application/json"})
    assert unsigned.status_code == 401 and unsigned.json()["type"].endswith("signature-required")
    signer = Platform(p.world, p.client, p.db, created["token"], created["hmac_secret"], created["id"])
    assert (await p.client.post("/api/v1/readings", content=body, headers=_signed(signer, body))).status_code == 202


async def test_query_api_picks_resolution_and_exports_csv(platform: Platform) -> None:
    p = platform
    user = await p.world.login(Role.AUDITOR, p.world.org_a)
    await p.client.post("/api/v1/readings", json={"readings": readings(p.world.sensor_a, 900, step_s=10)},
                        headers=p.auth)
    assert await p.wait_stored(900) == 900
    url = f"/api/v1/sensors/{p.world.sensor_a}/readings"
    short = (await p.client.get(url, headers=user, params={
        "from": T0.isoformat(), "to": (T0 + timedelta(minutes=30)).isoformat()})).json()
    assert short["resolution"] == "raw" and len(short["points"]) == 180
    long = (await p.client.get(url, headers=user, params={
        "from": T0.isoformat(), "to": (T0 + timedelta(hours=10)).isoformat()})).json()
    assert long["resolution"] == "1m" and len(long["points"]) == 150
    assert sum(pt["count"] for pt in long["points"]) == 900
    hourly = (await p.client.get(url, headers=user, params={
        "from": T0.isoformat(), "to": (T0 + timedelta(hours=3)).isoformat(), "resolution": "1h"})).json()
    assert sum(pt["count"] for pt in hourly["points"]) == 900
    exported = await p.client.get(url, headers=user, params={
        "from": T0.isoformat(), "to": (T0 + timedelta(minutes=1)).isoformat(), "format": "csv"})
    assert exported.text.splitlines()[0].startswith("ts,value")
    assert len(exported.text.splitlines()) == 7
    latest = (await p.client.get(f"/api/v1/facilities/{p.world.facility_a}/latest", headers=user)).json()
    assert latest["sensors"][0]["value"] == pytest.approx(0.4 + 899e-3)
    other_org = await p.world.login(Role.AUDITOR, p.world.org_b)
    assert (await p.client.get(url, headers=other_org)).status_code == 403


async def test_ingest_is_rate_limited_per_device(platform: Platform) -> None:
    """Beyond its rate a device gets 429 with Retry-After; another device is not affected (issue 12, hole 9)."""
    from ghgwatch.security import service
    from ghgwatch.security.principal import SYSTEM
    from ghgwatch.security.ratelimit import TokenBucket

    p = platform
    now = [1000.0]
    p.extras["ingest_limiter"] = TokenBucket(1.0, 2, clock=lambda: now[0])  # 1 request/s, bursts of 2
    body = {"readings": readings(p.world.sensor_a, 1)}
    codes = [(await p.client.post("/api/v1/readings", json=body, headers=p.auth)).status_code for _ in range(3)]
    assert codes == [202, 202, 429]
    limited = await p.client.post("/api/v1/readings", json=body, headers=p.auth)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "1"
    assert f"device {p.device_id}" in limited.json()["detail"]
    async with p.db.transaction() as s:
        other = await service.create_device(s, SYSTEM, organization_id=p.world.org_a, name="gw-2")
    answer = await p.client.post("/api/v1/readings", json=body, headers={"Authorization": f"Bearer {other.token}"})
    assert answer.status_code == 202
    now[0] += 1.0
    assert (await p.client.post("/api/v1/readings", json=body, headers=p.auth)).status_code == 202
    metrics = await p.client.get("/metrics")
    assert 'ghgwatch_rate_limited_total{limit="ingest_device"}' in metrics.text


async def test_a_bus_record_naming_another_organisations_sensor_is_never_stored(platform: Platform) -> None:
    """Ingest refuses another organisation's sensor at accept (test above); a record on the bus that still claims
    one (forged by anything that can write to the bus) is refused by the pipeline too, and its text is filed for
    the platform's administrators only, not in either organisation's dead-letter queue."""
    from ghgwatch.bus import topics
    from ghgwatch.ingest.wire import SensorBatch, encode
    from ghgwatch.readings.models import DeadLetter

    p = platform
    victim = p.world.sensor_a + 1  # organisation B's sensor
    ts = int(T0.timestamp() * 1e6)
    forged = SensorBatch(victim, None, [ts], [5.0], p.world.org_a, p.device_id, "http", time.time_ns() // 1000,
                         "forged-1")
    honest = SensorBatch(p.world.sensor_a, None, [ts], [0.4], p.world.org_a, p.device_id, "http",
                         time.time_ns() // 1000, "honest-1")
    await p.extras["bus"].publish(topics.READINGS_RAW, [encode(forged), encode(honest)])
    assert await p.wait_stored(1, sensor_id=p.world.sensor_a) == 1
    deadline = time.monotonic() + 20
    while True:
        async with p.db.sessions() as s:
            dead = (await s.execute(select(DeadLetter))).scalars().all()
        if dead or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    assert [(d.reason, d.organization_id, d.sensor_id) for d in dead] == [("wrong_organization", None, victim)]
    assert await p.stored(victim) == 0
