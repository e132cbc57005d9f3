"""Signing and checking JWTs (HS256). Access tokens carry the user id; refresh tokens also a
``jti`` recorded in ``refresh_tokens`` so each can be used once."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import jwt

from config.settings import ApiSettings

TokenType = Literal["access", "refresh"]
_ALGORITHM = "HS256"


class TokenError(Exception):
    """The token is malformed, forged, expired or of the wrong type."""


@dataclass(frozen=True)
class Claims:
    user_id: int
    token_type: TokenType
    jti: uuid.UUID
    expires_at: datetime


def issue(
    api: ApiSettings, *, user_id: int, token_type: TokenType, now: datetime
) -> tuple[str, Claims]:
    """A signed token valid from ``now`` for the configured lifetime of its type (seconds)."""
    ttl = api.access_token_ttl_s if token_type == "access" else api.refresh_token_ttl_s
    claims = Claims(user_id, token_type, uuid.uuid4(), now + timedelta(seconds=ttl))
    payload = {
        "sub": str(user_id),
        "typ": token_type,
        "jti": str(claims.jti),
        "iss": api.jwt_issuer,
        "iat": int(now.timestamp()),
        "exp": int(claims.expires_at.timestamp()),
    }
    return jwt.encode(payload, api.jwt_secret.get_secret_value(), algorithm=_ALGORITHM), claims


def check(api: ApiSettings, token: str, *, token_type: TokenType) -> Claims:
    """The claims of a valid token of ``token_type``; raises :class:`TokenError` otherwise."""
    try:
        payload = jwt.decode(
            token,
            api.jwt_secret.get_secret_value(),
            algorithms=[_ALGORITHM],
            issuer=api.jwt_issuer,
            options={"require": ["sub", "typ", "jti", "exp", "iat", "iss"]},
        )
        if payload["typ"] != token_type:
            raise TokenError(f"not an {token_type} token")
        return Claims(
            int(payload["sub"]),
            token_type,
            uuid.UUID(payload["jti"]),
            datetime.fromtimestamp(payload["exp"], UTC),
        )
    except jwt.ExpiredSignatureError as exc:
        raise TokenError("the token has expired") from exc
    except (jwt.InvalidTokenError, ValueError, KeyError) as exc:
        raise TokenError("the token is not valid") from exc
