"""Managing accounts: an admin changes a user's role, activation or password, or revokes their tokens; a user
changes their own password. Every change refuses the user's earlier tokens (``security/users.py``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from ghgwatch.kit.problems import Problem
from ghgwatch.security import users
from ghgwatch.security.accounts import client_address, login_guard, user_cache
from ghgwatch.security.endpoints import TokenOut, UserOut, token_for
from ghgwatch.security.models import Role, User
from ghgwatch.web.deps import Ctx, CurrentPrincipal, Session

router = APIRouter(tags=["security"])


class UserPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Role | None = None
    active: bool | None = None
    password: str | None = Field(default=None, min_length=8, max_length=200)
    """A new password set by the administrator (the user's tokens are revoked)."""


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    current_password: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=8, max_length=200)


_NOT_YOURS: dict[int | str, dict[str, Any]] = {404: {"description": "No such user in your organisation"}}


@router.patch("/users/{user_id}", response_model=UserOut, responses=_NOT_YOURS,
              summary="Change a user's role, activation or password (admins; revokes the user's tokens)")
async def patch_user(user_id: int, body: UserPatch, session: Session, actor: CurrentPrincipal, ctx: Ctx) -> User:
    user = await users.update_user(session, actor, _bounded(user_id), role=body.role, active=body.active,
                                   password=body.password)
    user_cache(ctx.extras, ctx.db, ctx.settings.security).forget(user.id)
    return user


@router.delete("/users/{user_id}", status_code=204, responses=_NOT_YOURS,
               summary="Deactivate a user (admins). Kept for the audit trail; their tokens stop working.")
async def deactivate_user(user_id: int, session: Session, actor: CurrentPrincipal, ctx: Ctx) -> Response:
    user = await users.update_user(session, actor, _bounded(user_id), active=False)
    user_cache(ctx.extras, ctx.db, ctx.settings.security).forget(user.id)
    return Response(status_code=204)


@router.post("/users/{user_id}/revoke-tokens", response_model=UserOut, responses=_NOT_YOURS,
             summary="Sign a user out everywhere (admins): every token issued so far stops working")
async def revoke_user_tokens(user_id: int, session: Session, actor: CurrentPrincipal, ctx: Ctx) -> User:
    user = await users.revoke_tokens(session, actor, _bounded(user_id))
    user_cache(ctx.extras, ctx.db, ctx.settings.security).forget(user.id)
    return user


@router.post("/me/password", response_model=TokenOut,
             summary="Change your own password; earlier tokens stop working, a new token is returned",
             description="Wrong current passwords count as failed sign-ins of the user (429 with Retry-After "
                         "beyond the limit).")
async def change_password(body: PasswordChange, request: Request, session: Session, actor: CurrentPrincipal,
                          ctx: Ctx) -> TokenOut:
    # Guessing the current password here counts like failed sign-ins (a stolen token must not become a way to
    # test passwords without limit).
    guard = login_guard(ctx.extras, ctx.settings.security, ctx.db)
    await guard.admit(client_address(request.client), actor.username)
    try:
        user = await users.change_own_password(session, actor, current=body.current_password,
                                               new=body.new_password)
    except Problem as exc:
        if exc.status == 403:
            await guard.failed(actor.username)
        raise
    user_cache(ctx.extras, ctx.db, ctx.settings.security).forget(user.id)
    return token_for(user, ctx)


def _bounded(user_id: int) -> int:
    from ghgwatch.kit.problems import not_found

    if not 0 < user_id < 2**63:
        raise not_found("user", user_id)
    return user_id
