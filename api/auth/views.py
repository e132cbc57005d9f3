"""Routes of the auth domain: token (password flow), refresh, and the caller's own record."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm

from api.auth import service
from api.auth.models import Me, RefreshRequest, TokenPair
from api.deps import PoolDep, PrincipalDep, SettingsDep, ThrottleDep
from api.errors import PROBLEM_JSON
from store import users

router = APIRouter(prefix="/auth", tags=["auth"])

_AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Wrong credentials or token", "content": {PROBLEM_JSON: {}}},
    422: {"description": "Invalid request", "content": {PROBLEM_JSON: {}}},
}


@router.post(
    "/token",
    summary="OAuth2 password flow: username and password for an access and a refresh token",
    responses={
        **_AUTH_ERRORS,
        429: {"description": "Too many failed logins", "content": {PROBLEM_JSON: {}}},
    },
)
async def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    pool: PoolDep,
    settings: SettingsDep,
    throttle: ThrottleDep,
) -> TokenPair:
    client = request.client.host if request.client else "unknown"
    async with pool.acquire() as conn:
        return await service.login(
            conn=conn,
            api=settings.api,
            throttle=throttle,
            username=form.username,
            password=form.password,
            client=client,
        )


@router.post(
    "/refresh",
    summary="A new token pair for an unused refresh token (which is spent)",
    responses=_AUTH_ERRORS,
)
async def refresh(body: RefreshRequest, pool: PoolDep, settings: SettingsDep) -> TokenPair:
    async with pool.acquire() as conn:
        return await service.refresh(conn=conn, api=settings.api, token=body.refresh_token)


@router.get("/me", summary="The authenticated user", responses=_AUTH_ERRORS)
async def me(principal: PrincipalDep, pool: PoolDep) -> Me:
    row = await pool.fetchrow(users.SELECT_ACTIVE, principal.user_id)
    return Me(
        id=principal.user_id,
        username=principal.username,
        display_name=row["display_name"] if row else "",
        role=principal.role,
        unit_id=principal.unit_id,
    )
