"""Device tokens: created, listed, revoked; only the hash is stored."""

from __future__ import annotations

from sqlalchemy import select

from ghgwatch.security import service
from ghgwatch.security.models import Device, Role
from ghgwatch.security.principal import SYSTEM
from ghgwatch.security.tokens import parse_device_token
from tests.conftest import World


async def test_device_token_lifecycle(world: World) -> None:
    headers = await world.login(Role.ADMIN, world.org_a)
    created = await world.client.post("/api/v1/devices", headers=headers,
                                      json={"organization_id": world.org_a, "name": "gateway 7",
                                            "require_signature": True})
    assert created.status_code == 201
    token = created.json()["token"]
    async with world.db.transaction() as s:
        device = await service.authenticate_device(s, token)
        assert device is not None and device.require_signature
        stored = (await s.execute(select(Device.token_hash))).scalars().all()
    parsed = parse_device_token(token)
    assert parsed is not None and parsed.secret not in stored  # only the hash is kept

    listing = await world.client.get("/api/v1/devices", headers=headers)
    assert [d["name"] for d in listing.json()] == ["gateway 7"]
    assert "token" not in listing.json()[0]

    revoked = await world.client.post(f"/api/v1/devices/{device.id}/revoke", headers=headers)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    async with world.db.transaction() as s:
        assert await service.authenticate_device(s, token) is None


async def test_device_answers_name_its_mqtt_account_and_topic_but_no_secret(world: World) -> None:
    """The operator learns the device's MQTT account where the token is shown, and from its answers later."""
    headers = await world.login(Role.ADMIN, world.org_a)
    created = await world.client.post("/api/v1/devices", headers=headers,
                                      json={"organization_id": world.org_a, "name": "meter 3"})
    assert created.status_code == 201, created.text
    issued = created.json()
    device_id = issued["id"]
    account = {"mqtt_username": f"{world.org_a}/{device_id}",
               "mqtt_topic": f"ghgwatch/{world.org_a}/{device_id}/readings"}
    assert {k: issued[k] for k in account} == account and issued["token"].startswith(f"gwd_{device_id}_")

    one = await world.client.get(f"/api/v1/devices/{device_id}", headers=headers)
    assert one.status_code == 200, one.text
    [listed] = (await world.client.get("/api/v1/devices", headers=headers)).json()
    revoked = (await world.client.post(f"/api/v1/devices/{device_id}/revoke", headers=headers)).json()
    for answer in (one.json(), listed, revoked):
        assert {k: answer[k] for k in account} == account
        assert not {"token", "hmac_secret", "token_hash"} & answer.keys()
        assert issued["token"] not in str(answer) and issued["hmac_secret"] not in str(answer)

    other = await world.login(Role.ADMIN, world.org_b)
    assert (await world.client.get(f"/api/v1/devices/{device_id}", headers=other)).status_code in (403, 404)
    missing = await world.client.get(f"/api/v1/devices/{device_id + 1000}", headers=headers)
    assert missing.status_code == 404
    too_large = await world.client.get(f"/api/v1/devices/{2**64}", headers=headers)
    assert too_large.status_code == 422


async def test_wrong_or_malformed_tokens_fail(world: World) -> None:
    async with world.db.transaction() as s:
        issued = await service.create_device(s, SYSTEM, organization_id=world.org_a, name="d")
    good = issued.token
    forged = good[:-3] + ("aaa" if not good.endswith("aaa") else "bbb")
    async with world.db.transaction() as s:
        assert await service.authenticate_device(s, good) is not None
        for bad in (forged, "gwd_x_y", "nonsense", f"gwd_{issued.device.id + 1}_{good.split('_', 2)[2]}"):
            assert await service.authenticate_device(s, bad) is None, bad
