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


async def test_wrong_or_malformed_tokens_fail(world: World) -> None:
    async with world.db.transaction() as s:
        issued = await service.create_device(s, SYSTEM, organization_id=world.org_a, name="d")
    good = issued.token
    forged = good[:-3] + ("aaa" if not good.endswith("aaa") else "bbb")
    async with world.db.transaction() as s:
        assert await service.authenticate_device(s, good) is not None
        for bad in (forged, "gwd_x_y", "nonsense", f"gwd_{issued.device.id + 1}_{good.split('_', 2)[2]}"):
            assert await service.authenticate_device(s, bad) is None, bad
