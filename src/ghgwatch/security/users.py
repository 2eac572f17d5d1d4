"""Changing accounts: role, activation, password, token revocation. Callers own the transaction.

Every change bumps the user's ``token_version``, which refuses every token issued before it (the holder
signs in again), and is audited without the password hash.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ghgwatch import audit
from ghgwatch.kit.problems import Problem, not_found, unauthorized
from ghgwatch.security.models import Role, User
from ghgwatch.security.passwords import hash_password, verify_password
from ghgwatch.security.principal import Principal

ADMINS = frozenset({Role.ADMIN})


def _view(user: User) -> dict[str, Any]:
    after = audit.snapshot(user)
    after.pop("password_hash", None)
    return after


async def get_managed_user(session: AsyncSession, actor: Principal, user_id: int) -> User:
    """A user the actor (an admin) may manage; 404 for users of other organisations (their existence is not
    revealed) and for platform administrators unless the actor is one."""
    actor.require_role(ADMINS)
    user = await session.get(User, user_id)
    if user is None:
        raise not_found("user", user_id)
    if not actor.is_platform_admin and (user.organization_id is None or user.organization_id != actor.organization_id):
        raise not_found("user", user_id)
    return user


async def update_user(session: AsyncSession, actor: Principal, user_id: int, *, role: Role | None = None,
                      active: bool | None = None, password: str | None = None) -> User:
    user = await get_managed_user(session, actor, user_id)
    before = _view(user)
    if user.id == actor.user_id and ((role is not None and role is not user.role) or active is False):
        raise Problem(409, "Conflict", "you cannot change your own role or deactivate yourself "
                                       "(ask another administrator)", type_="conflict")
    if role is not None and user.organization_id is None and role is not Role.ADMIN:
        raise Problem(422, "Invalid user", "a user without an organisation must be an admin", type_="validation",
                      errors=[{"loc": ["body", "role"], "msg": "must be admin for a platform administrator"}])
    changed = False
    if role is not None and role is not user.role:
        user.role, changed = role, True
    if active is not None and active is not user.active:
        user.active, changed = active, True
    if password is not None:
        user.password_hash, changed = hash_password(password), True
    if changed:
        user.token_version += 1
        after = _view(user)
        if password is not None:
            after["password_changed"] = True
        await audit.record(session, actor=actor.username, action="update", entity="user", entity_id=user.id,
                           organization_id=user.organization_id, before=before, after=after)
    return user


async def revoke_tokens(session: AsyncSession, actor: Principal, user_id: int) -> User:
    user = await get_managed_user(session, actor, user_id)
    user.token_version += 1
    await audit.record(session, actor=actor.username, action="revoke_tokens", entity="user", entity_id=user.id,
                       organization_id=user.organization_id, after={"token_version": user.token_version})
    return user


async def change_own_password(session: AsyncSession, actor: Principal, *, current: str, new: str) -> User:
    user = await session.get(User, actor.user_id)
    if user is None or not user.active:
        raise unauthorized("the account no longer exists or is deactivated")
    if not verify_password(user.password_hash, current):
        raise Problem(403, "Forbidden", "the current password is wrong", type_="forbidden",
                      errors=[{"loc": ["body", "current_password"], "msg": "wrong password"}])
    if new == current:
        raise Problem(422, "Invalid password", "the new password must differ from the current one",
                      type_="validation", errors=[{"loc": ["body", "new_password"], "msg": "same as current"}])
    user.password_hash = hash_password(new)
    user.token_version += 1
    await audit.record(session, actor=actor.username, action="change_password", entity="user", entity_id=user.id,
                       organization_id=user.organization_id, after={"token_version": user.token_version})
    return user
