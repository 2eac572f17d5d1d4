"""Request dependencies: a unit of work per request and the calling principal."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from ghgwatch.kit.problems import unauthorized
from ghgwatch.security.accounts import principal_for, user_cache
from ghgwatch.security.principal import Principal
from ghgwatch.security.tokens import decode_jwt
from ghgwatch.web.context import AppContext, context
from ghgwatch.web.sessions import session_token

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


async def session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed when the handler returns without error."""
    async with context(request).db.transaction() as s:
        yield s


async def principal_from_token(token: str, ctx: AppContext) -> Principal:
    """The one place a user's token becomes a Principal (bearer header, browser session and event stream alike):
    a valid signature, and a user who still exists, is active and has not revoked the token (cached briefly)."""
    claims = decode_jwt(token, ctx.jwt_key)
    if claims is None:
        raise unauthorized("invalid or expired token")
    return await principal_for(claims, user_cache(ctx.extras, ctx.db, ctx.settings.security))


async def principal(request: Request, token: Annotated[str | None, Depends(oauth2)]) -> Principal:
    ctx = context(request)
    token = token or session_token(request, ctx.jwt_key)
    if not token:
        raise unauthorized()
    return await principal_from_token(token, ctx)


Session = Annotated[AsyncSession, Depends(session)]
CurrentPrincipal = Annotated[Principal, Depends(principal)]
Ctx = Annotated[AppContext, Depends(context)]
