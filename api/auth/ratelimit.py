"""Login throttling: failed attempts per key (username, client address) in a sliding window,
counted in PostgreSQL (``login_failures``, ``store.login_throttle``) so that every API process
shares one count.

An attempt is counted before its password is checked, under a lock on its keys, and refunded if
it succeeds: however many processes serve logins and however many attempts run at once, a key
gets at most ``max_failures`` failed tries per window. A good login also forgets the username's
failures, not the address's (one account's success must not reopen an address that tries many).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from store import login_throttle as sql

USER_PREFIX = "user:"
ADDRESS_PREFIX = "addr:"


def throttle_keys(username: str, client: str) -> list[str]:
    """The keys one login attempt counts against: its username (case-insensitive) and address."""
    return [f"{USER_PREFIX}{username.lower()}", f"{ADDRESS_PREFIX}{client}"]


@dataclass(frozen=True)
class Admission:
    """The answer to "may this login be tried?": ``retry_after_s`` is 0 when it may (and the
    attempt is counted as the rows ``attempt_ids``), else the seconds to wait (at least 1)."""

    retry_after_s: int
    attempt_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class LoginThrottle:
    """At most ``max_failures`` failed logins per key within ``window_s`` seconds."""

    max_failures: int
    window_s: float

    async def admit(self, conn: asyncpg.Connection, keys: Sequence[str]) -> Admission:
        """Count an attempt against ``keys``, or refuse it while one of them is at the limit.
        Also purges failures that have left the window."""
        async with conn.transaction():
            await conn.execute(sql.LOCK_KEYS, list(keys))
            wait_s: float = await conn.fetchval(
                sql.SELECT_WAIT_S, list(keys), self.max_failures, self.window_s
            )
            if wait_s > 0:
                return Admission(max(1, math.ceil(wait_s)))
            rows = await conn.fetch(sql.INSERT_ATTEMPT, list(keys), self.window_s)
        return Admission(0, tuple(int(r["id"]) for r in rows))

    async def succeeded(
        self, conn: asyncpg.Connection, keys: Sequence[str], admission: Admission
    ) -> None:
        """After a good login: forget the username's failures and refund the attempt."""
        users = [k for k in keys if k.startswith(USER_PREFIX)]
        await conn.execute(sql.DELETE_AFTER_SUCCESS, users, list(admission.attempt_ids))
