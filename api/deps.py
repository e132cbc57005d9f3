"""Request dependencies: settings, the pool, the authenticated caller and role guards
(``Annotated`` aliases)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from api.auth import tokens
from api.auth.models import Principal, Role
from api.auth.ratelimit import LoginThrottle
from api.errors import ForbiddenError, UnauthorizedError
from config.settings import Settings
from store import users

_oauth2 = OAuth2PasswordBearer(
    tokenUrl="/auth/token",
    auto_error=False,
    description="Access token from POST /auth/token (OAuth2 password flow)",
)


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_pool(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.pool
    return pool


def get_throttle(request: Request) -> LoginThrottle:
    throttle: LoginThrottle = request.app.state.login_throttle
    return throttle


SettingsDep = Annotated[Settings, Depends(get_settings)]
PoolDep = Annotated[asyncpg.Pool, Depends(get_pool)]
ThrottleDep = Annotated[LoginThrottle, Depends(get_throttle)]


async def get_principal(
    settings: SettingsDep, pool: PoolDep, token: Annotated[str | None, Depends(_oauth2)]
) -> Principal:
    """The caller of a request with a valid access token of an active user, else 401."""
    if not token:
        raise UnauthorizedError("a bearer access token is required (POST /auth/token)")
    try:
        claims = tokens.check(settings.api, token, token_type="access")
    except tokens.TokenError as exc:
        raise UnauthorizedError(str(exc)) from exc
    row = await pool.fetchrow(users.SELECT_ACTIVE, claims.user_id)
    if row is None:
        raise UnauthorizedError("the account is disabled")
    return Principal(row["id"], row["username"], Role(row["role"]), row["unit_id"])


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require(
    roles: frozenset[Role] | set[Role],
) -> Callable[[Principal], Coroutine[Any, Any, Principal]]:
    """A dependency admitting only callers with one of ``roles`` (403 for the others)."""
    allowed = frozenset(roles)
    names = ", ".join(sorted(r.value for r in allowed))

    async def guard(principal: PrincipalDep) -> Principal:
        if principal.role not in allowed:
            raise ForbiddenError(f"role {principal.role.value} may not do this (needs: {names})")
        return principal

    return guard
