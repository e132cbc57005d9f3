"""Login and refresh: check the password (argon2), throttle failures, issue and rotate tokens.

Every login attempt is written to the audit trail (``access_log``, action ``auth.login``): the
username as typed (cut to ``AUDITED_USERNAME_MAX`` characters; ``role:username`` once logged in),
the account when it exists, the client address and the outcome (``succeeded``, ``failed`` with
its reason, ``throttled``); never the password."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from functools import cache

import asyncpg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from api.auth import tokens
from api.auth.models import TokenPair
from api.auth.ratelimit import LoginThrottle
from api.errors import TooManyRequestsError, UnauthorizedError
from config.settings import ApiSettings
from store import audit
from store import users as sql

_HASHER = PasswordHasher()

#: Characters of a typed username kept in the audit trail.
AUDITED_USERNAME_MAX = 64


@cache
def _dummy_hash() -> str:
    """A valid hash checked when the user does not exist, so timing does not reveal usernames."""
    return _HASHER.hash("bailwatch-no-such-user")


def hash_password(password: str) -> str:
    """An argon2id hash with the library's current default parameters."""
    return _HASHER.hash(password)


def _verify(stored: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(stored or _dummy_hash(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


async def _pair(conn: asyncpg.Connection, api: ApiSettings, user_id: int) -> TokenPair:
    now = datetime.now(UTC)
    access, _ = tokens.issue(api, user_id=user_id, token_type="access", now=now)
    refresh, claims = tokens.issue(api, user_id=user_id, token_type="refresh", now=now)
    await conn.execute(sql.INSERT_REFRESH, claims.jti, user_id, claims.expires_at)
    return TokenPair(
        access_token=access,
        expires_in=api.access_token_ttl_s,
        refresh_token=refresh,
        refresh_expires_in=api.refresh_token_ttl_s,
    )


async def login(
    *,
    conn: asyncpg.Connection,
    api: ApiSettings,
    throttle: LoginThrottle,
    username: str,
    password: str,
    client: str,
) -> TokenPair:
    """Tokens for a correct username and password of an active user.

    Raises ``TooManyRequestsError`` while the username or the client address is throttled, and
    ``UnauthorizedError`` (one message for every cause) otherwise; the attempt counts as a
    failure of both unless it succeeds.
    """
    keys = throttle.keys(username, client)
    admission = await throttle.admit(conn, keys)
    if wait := admission.retry_after_s:
        await _audit_login(conn, username, None, client, "throttled", retry_after_s=wait)
        raise TooManyRequestsError(
            f"too many failed logins; retry in {wait} s", headers={"Retry-After": str(wait)}
        )
    row = await conn.fetchrow(sql.SELECT_LOGIN, username)
    stored = row["password_hash"] if row is not None else None
    ok = await asyncio.to_thread(_verify, stored, password)
    if row is None or not ok or not row["active"]:
        reason = "unknown_user" if row is None else "wrong_password" if not ok else "inactive"
        user_id = None if row is None else row["id"]
        await _audit_login(conn, username, user_id, client, "failed", reason=reason)
        raise UnauthorizedError("wrong username or password")
    await throttle.succeeded(conn, keys, admission)
    if stored is not None and _HASHER.check_needs_rehash(stored):
        await conn.execute(sql.UPDATE_PASSWORD_HASH, hash_password(password), row["id"])
    pair = await _pair(conn, api, row["id"])
    principal = f"{row['role']}:{row['username']}"  # as ``Principal.name`` names the caller
    await _audit_login(conn, principal, row["id"], client, "succeeded")
    return pair


async def _audit_login(
    conn: asyncpg.Connection,
    principal: str,
    user_id: int | None,
    client: str,
    outcome: str,
    **detail: object,
) -> None:
    """One ``auth.login`` entry in the audit trail (the password is never passed here)."""
    await conn.execute(
        audit.INSERT_ACCESS, principal[:AUDITED_USERNAME_MAX], user_id, None, "auth.login",
        None, None, "authentication",
        {"outcome": outcome, "address": client, **detail},
    )  # fmt: skip


async def refresh(*, conn: asyncpg.Connection, api: ApiSettings, token: str) -> TokenPair:
    """New tokens for a valid, unused refresh token of an active user; the old one is spent."""
    try:
        claims = tokens.check(api, token, token_type="refresh")
    except tokens.TokenError as exc:
        raise UnauthorizedError(str(exc)) from exc
    async with conn.transaction():
        if await conn.fetchval(sql.USE_REFRESH, claims.jti, claims.user_id) is None:
            raise UnauthorizedError("the refresh token was already used or revoked")
        if await conn.fetchrow(sql.SELECT_ACTIVE, claims.user_id) is None:
            raise UnauthorizedError("the account is disabled")
        return await _pair(conn, api, claims.user_id)
