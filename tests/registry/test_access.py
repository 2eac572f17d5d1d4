"""401 without credentials, 403 for a wrong role or another organisation's data."""

from __future__ import annotations

import pytest

from ghgwatch.security.models import Role
from tests.conftest import World


async def test_no_credentials_is_401(world: World) -> None:
    for path in ("/api/v1/organizations", f"/api/v1/sensors/{world.sensor_a}", "/api/v1/me"):
        answer = await world.client.get(path)
        assert answer.status_code == 401, path
        assert answer.headers["www-authenticate"] == "Bearer"
    bad = await world.client.get("/api/v1/sensors", headers={"Authorization": "Bearer not-a-jwt"})
    assert bad.status_code == 401


async def test_wrong_password_is_401(world: World) -> None:
    await world.login(Role.OPERATOR, world.org_a)
    answer = await world.client.post("/api/v1/auth/token", data={"username": "nobody", "password": "x" * 10})
    assert answer.status_code == 401


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.OPERATOR])
async def test_read_only_roles_cannot_write(world: World, role: Role) -> None:
    headers = await world.login(role, world.org_a)
    assert (await world.client.get(f"/api/v1/sensors/{world.sensor_a}", headers=headers)).status_code == 200
    answer = await world.client.patch(f"/api/v1/sensors/{world.sensor_a}", headers=headers, json={"name": "x"})
    assert answer.status_code == 403
    answer = await world.client.post("/api/v1/sources", headers=headers,
                                     json={"facility_id": world.facility_a, "name": "y", "type": "flare"})
    assert answer.status_code == 403


async def test_other_organisation_is_403(world: World) -> None:
    headers = await world.login(Role.ENGINEER, world.org_a)
    assert (await world.client.get(f"/api/v1/facilities/{world.facility_b}", headers=headers)).status_code == 403
    answer = await world.client.post("/api/v1/facilities", headers=headers, json={
        "organization_id": world.org_b, "name": "Intruder", "type": "other"})
    assert answer.status_code == 403
    listing = await world.client.get("/api/v1/facilities", headers=headers)
    assert [r["id"] for r in listing.json()["items"]] == [world.facility_a]


async def test_only_platform_admin_creates_organisations(world: World) -> None:
    org_admin = await world.login(Role.ADMIN, world.org_a)
    answer = await world.client.post("/api/v1/organizations", headers=org_admin, json={"name": "New"})
    assert answer.status_code == 403
    platform = await world.login(Role.ADMIN, None)
    answer = await world.client.post("/api/v1/organizations", headers=platform, json={"name": "New"})
    assert answer.status_code == 201


async def test_users_and_devices_are_scoped(world: World) -> None:
    org_admin = await world.login(Role.ADMIN, world.org_a)
    answer = await world.client.post("/api/v1/users", headers=org_admin, json={
        "username": "eve", "password": "long-password", "role": "engineer", "organization_id": world.org_b})
    assert answer.status_code == 403
    engineer = await world.login(Role.ENGINEER, world.org_a)
    answer = await world.client.post("/api/v1/users", headers=engineer, json={
        "username": "eve", "password": "long-password", "role": "engineer", "organization_id": world.org_a})
    assert answer.status_code == 403
    device = await world.client.post("/api/v1/devices", headers=engineer,
                                     json={"organization_id": world.org_a, "name": "gw"})
    assert device.status_code == 201
    assert device.json()["token"].startswith("gwd_")
    other = await world.client.post("/api/v1/devices", headers=engineer,
                                    json={"organization_id": world.org_b, "name": "gw"})
    assert other.status_code == 403
