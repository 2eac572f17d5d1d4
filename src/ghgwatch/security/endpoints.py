"""Login, users and devices."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, ConfigDict, Field, computed_field
from sqlalchemy import select

from ghgwatch.ingest.mqtt.accounts import account_name, readings_topic
from ghgwatch.kit.problems import unauthorized
from ghgwatch.security import service
from ghgwatch.security.accounts import client_address, sign_in
from ghgwatch.security.models import Role, User
from ghgwatch.security.tokens import Claims, issue_jwt
from ghgwatch.web.context import AppContext
from ghgwatch.web.deps import Ctx, CurrentPrincipal, Session

router = APIRouter(tags=["security"])


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 (OAuth2 token type, not a secret)
    expires_in: int


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=8, max_length=200)
    role: Role
    organization_id: int | None = None


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    username: str
    role: Role
    organization_id: int | None
    active: bool
    created_at: datetime


class DeviceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    organization_id: int
    name: str = Field(min_length=1, max_length=200)
    require_signature: bool = False
    gateway: bool = False
    """An edge gateway (docs/edge.md)."""


class DeviceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    organization_id: int
    name: str
    require_signature: bool
    created_at: datetime
    created_by: str
    revoked_at: datetime | None
    gateway: bool = False

    @computed_field  # type: ignore[prop-decorator]
    @property
    def mqtt_username(self) -> str:
        """Its MQTT account (password: its token); docs/security.md, "MQTT broker and MQTT over TLS"."""
        return account_name(self.organization_id, self.id)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def mqtt_topic(self) -> str:
        """The only topic it may publish its readings to."""
        return readings_topic(self.organization_id, self.id)


class DeviceIssued(DeviceOut):
    token: str
    hmac_secret: str


def token_for(user: User, ctx: AppContext) -> TokenOut:
    ttl = ctx.settings.security.jwt_ttl_s
    claims = Claims(user.id, user.username, user.role.value, user.organization_id, user.token_version)
    return TokenOut(access_token=issue_jwt(claims, ctx.jwt_key, ttl), expires_in=ttl)


@router.post("/auth/token", response_model=TokenOut, summary="OAuth2 password login",
             description="Sign-in attempts are limited per client address and failed ones per username "
                         "(429 with Retry-After); every attempt is audited.",
             responses={401: {"description": "Wrong username or password"},
                        429: {"description": "Too many attempts; retry after `Retry-After` seconds"}})
async def login(form: Annotated[OAuth2PasswordRequestForm, Depends()], request: Request, ctx: Ctx) -> TokenOut:
    user = await sign_in(ctx.db, ctx.extras, ctx.settings.security, address=client_address(request.client),
                         username=form.username, password=form.password)
    if user is None:
        raise unauthorized("wrong username or password")
    return token_for(user, ctx)


@router.get("/me", response_model=UserOut)
async def me(session: Session, actor: CurrentPrincipal) -> User:
    user = await session.get(User, actor.user_id)
    if user is None:
        raise unauthorized("user no longer exists")
    return user


@router.get("/users", response_model=list[UserOut])
async def list_users(session: Session, actor: CurrentPrincipal) -> list[User]:
    actor.require_role(frozenset({Role.ADMIN, Role.AUDITOR}))
    stmt = select(User).order_by(User.id)
    if (scope := actor.org_filter()) is not None:
        stmt = stmt.where(User.organization_id == scope)
    return list((await session.execute(stmt)).scalars())


@router.post("/users", response_model=UserOut, status_code=201)
async def create_user(body: UserIn, session: Session, actor: CurrentPrincipal) -> User:
    return await service.create_user(session, actor, username=body.username, password=body.password,
                                     role=body.role, organization_id=body.organization_id)


@router.get("/devices", response_model=list[DeviceOut])
async def list_devices(session: Session, actor: CurrentPrincipal, organization_id: int | None = None) -> list[object]:
    return list(await service.list_devices(session, actor, organization_id))


@router.get("/devices/{device_id}", response_model=DeviceOut,
            description="With its MQTT account (`mqtt_username`, password: its token) and `mqtt_topic`; no secret.")
async def get_device(device_id: int, session: Session, actor: CurrentPrincipal) -> object:
    return await service.get_device(session, actor, device_id)


@router.post("/devices", response_model=DeviceIssued, status_code=201,
             description="The token and HMAC secret are shown only in this answer, next to the device's MQTT "
                         "account (`mqtt_username`, password: the token) and `mqtt_topic`.")
async def create_device(body: DeviceIn, session: Session, actor: CurrentPrincipal) -> DeviceIssued:
    issued = await service.create_device(session, actor, organization_id=body.organization_id, name=body.name,
                                         require_signature=body.require_signature, gateway=body.gateway)
    out = DeviceOut.model_validate(issued.device)
    return DeviceIssued(**out.model_dump(), token=issued.token, hmac_secret=issued.device.hmac_secret)


@router.post("/devices/{device_id}/revoke", response_model=DeviceOut)
async def revoke_device(device_id: int, session: Session, actor: CurrentPrincipal) -> object:
    return await service.revoke_device(session, actor, device_id)
