"""Users and devices: creation, authentication, revocation. Callers own the transaction."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ghgwatch import audit
from ghgwatch.kit.problems import Problem, conflict, not_found
from ghgwatch.kit.timeutil import utcnow
from ghgwatch.registry.models import Organization
from ghgwatch.security.models import Device, Role, User
from ghgwatch.security.passwords import dummy_hash, hash_password, needs_rehash, verify_password
from ghgwatch.security.principal import Principal
from ghgwatch.security.tokens import DeviceToken, hash_secret, new_device_secret, parse_device_token, secret_matches


async def _require_org_exists(session: AsyncSession, organization_id: int) -> None:
    if await session.get(Organization, organization_id) is None:
        raise not_found("organisation", organization_id)


async def create_user(
    session: AsyncSession,
    actor: Principal,
    *,
    username: str,
    password: str,
    role: Role,
    organization_id: int | None,
) -> User:
    actor.require_role(frozenset({Role.ADMIN}))
    if organization_id is None:
        if not actor.is_platform_admin:
            raise Problem(403, "Forbidden", "only a platform administrator may create users without an organisation")
        if role is not Role.ADMIN:
            raise Problem(422, "Invalid user", "a user without an organisation must be an admin", type_="validation")
    else:
        actor.require_org(organization_id)
        await _require_org_exists(session, organization_id)
    if len(password) < 8:
        raise Problem(422, "Invalid user", "password must have at least 8 characters", type_="validation",
                      errors=[{"loc": ["password"], "msg": "at least 8 characters"}])
    if (await session.execute(select(User.id).where(User.username == username))).first():
        raise conflict("user '{username}' exists", username=username)
    user = User(username=username, password_hash=await asyncio.to_thread(hash_password, password), role=role,
                organization_id=organization_id)
    session.add(user)
    await session.flush()
    after = audit.snapshot(user)
    after.pop("password_hash")
    await audit.record(session, actor=actor.username, action="create", entity="user", entity_id=user.id,
                       organization_id=organization_id, after=after)
    return user


def plausible_username(username: str) -> bool:
    """Whether ``username`` could name a user: at most 100 characters (the column) and no control characters."""
    return 0 < len(username) <= 100 and not any(ord(c) < 32 or ord(c) == 127 for c in username)


async def authenticate_user(session: AsyncSession, username: str, password: str) -> User | None:
    """The user if the password is right and the account active. Every path verifies one argon2 hash (a dummy
    one for an unknown user), so the answer time does not tell which usernames exist."""
    user = None
    if plausible_username(username):  # else no query: PostgreSQL refuses NUL characters (a 500 before)
        user = (await session.execute(select(User).where(User.username == username))).scalar_one_or_none()
    # argon2 in a worker thread (it releases the GIL): a sign-in must not stall the event loop that also carries
    # readings and alarms (~0.1 s a hash at the default cost).
    if user is None:
        await asyncio.to_thread(verify_password, dummy_hash(), password)
        return None
    if not await asyncio.to_thread(verify_password, user.password_hash, password) or not user.active:
        return None
    if needs_rehash(user.password_hash):  # hashed at another cost than the configured one: upgrade it
        user.password_hash = await asyncio.to_thread(hash_password, password)
    return user


@dataclass(frozen=True)
class IssuedDevice:
    device: Device
    token: str
    """Shown once; only its hash is stored."""


async def create_device(
    session: AsyncSession,
    actor: Principal,
    *,
    organization_id: int,
    name: str,
    require_signature: bool = False,
    gateway: bool = False,
) -> IssuedDevice:
    actor.require_role(frozenset({Role.ADMIN, Role.ENGINEER}))
    actor.require_org(organization_id)
    await _require_org_exists(session, organization_id)
    secret = new_device_secret()
    device = Device(organization_id=organization_id, name=name, token_hash=hash_secret(secret),
                    hmac_secret=new_device_secret(), require_signature=require_signature,
                    created_by=actor.username, gateway=gateway)
    session.add(device)
    await session.flush()
    after = audit.snapshot(device)
    after.pop("token_hash")
    after.pop("hmac_secret")
    await audit.record(session, actor=actor.username, action="create", entity="device", entity_id=device.id,
                       organization_id=organization_id, after=after)
    return IssuedDevice(device, str(DeviceToken(device.id, secret)))


async def list_devices(session: AsyncSession, actor: Principal, organization_id: int | None = None) -> list[Device]:
    stmt = select(Device).order_by(Device.id)
    scope = actor.org_filter()
    if scope is not None:
        stmt = stmt.where(Device.organization_id == scope)
    if organization_id is not None:
        stmt = stmt.where(Device.organization_id == organization_id)
    return list((await session.execute(stmt)).scalars())


async def get_device(session: AsyncSession, actor: Principal, device_id: int) -> Device:
    device = await session.get(Device, device_id)
    if device is None:
        raise not_found("device", device_id)
    actor.require_org(device.organization_id)
    return device


async def revoke_device(session: AsyncSession, actor: Principal, device_id: int) -> Device:
    actor.require_role(frozenset({Role.ADMIN, Role.ENGINEER}))
    device = await session.get(Device, device_id)
    if device is None:
        raise not_found("device", device_id)
    actor.require_org(device.organization_id)
    if device.revoked_at is None:
        device.revoked_at = utcnow()
        await audit.record(session, actor=actor.username, action="revoke", entity="device", entity_id=device.id,
                           organization_id=device.organization_id, after={"revoked_at": device.revoked_at})
    return device


async def authenticate_device(session: AsyncSession, token: str) -> Device | None:
    parsed = parse_device_token(token)
    if parsed is None:
        return None
    device = await session.get(Device, parsed.device_id)
    if device is None or device.revoked_at is not None or not secret_matches(parsed.secret, device.token_hash):
        return None
    return device
