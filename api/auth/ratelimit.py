"""Login throttling: failed attempts per key in a sliding window, counted in PostgreSQL
(``login_failures``, ``store.login_throttle``) so that every API process shares one count.

Three keys per attempt, each with its own limit (``ApiSettings.login_max_failures*``):

- ``pair:<username>@<address>`` (default 5): an officer's typos lock only their own account, and
  only from where they typed;
- ``user:<username>`` (default 10): a guesser who spreads over many addresses;
- ``addr:<address>`` (default 50): a sprayer trying many usernames from one address. High on
  purpose: a whole station may log in from one NAT address, and one officer's failures are
  capped by the username limit far below it.

An attempt is counted before its password is checked, under a lock on its keys, and refunded if
it succeeds: however many processes serve logins and however many attempts run at once, a key
gets at most its limit of failed tries per window. A good login also forgets the username's
failures (alone and from this address), not the address's (one account's success must not
reopen an address that tries many).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Self

import asyncpg

from config.settings import ApiSettings
from store import login_throttle as sql

USER_PREFIX = "user:"
PAIR_PREFIX = "pair:"
ADDRESS_PREFIX = "addr:"


@dataclass(frozen=True)
class ThrottleKey:
    """One key an attempt counts against and the failures it may have per window."""

    key: str
    limit: int


@dataclass(frozen=True)
class Admission:
    """The answer to "may this login be tried?": ``retry_after_s`` is 0 when it may (and the
    attempt is counted as the rows ``attempt_ids``), else the seconds to wait (at least 1)."""

    retry_after_s: int
    attempt_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class LoginThrottle:
    """At most ``per_pair`` failed logins per username and address, ``per_account`` per
    username and ``per_address`` per address within ``window_s`` seconds."""

    per_pair: int
    per_account: int
    per_address: int
    window_s: float

    @classmethod
    def from_settings(cls, api: ApiSettings) -> Self:
        return cls(
            per_pair=api.login_max_failures,
            per_account=api.login_max_failures_account,
            per_address=api.login_max_failures_address,
            window_s=api.login_window_s,
        )

    def keys(self, username: str, client: str) -> list[ThrottleKey]:
        """The keys one attempt counts against (usernames are case-insensitive)."""
        user = username.lower()
        return [
            ThrottleKey(f"{PAIR_PREFIX}{user}@{client}", self.per_pair),
            ThrottleKey(f"{USER_PREFIX}{user}", self.per_account),
            ThrottleKey(f"{ADDRESS_PREFIX}{client}", self.per_address),
        ]

    async def admit(self, conn: asyncpg.Connection, keys: Sequence[ThrottleKey]) -> Admission:
        """Count an attempt against ``keys``, or refuse it while one of them is at its limit.
        Also purges failures that have left the window."""
        names = [k.key for k in keys]
        async with conn.transaction():
            await conn.execute(sql.LOCK_KEYS, names)
            wait_s: float = await conn.fetchval(
                sql.SELECT_WAIT_S, names, [k.limit for k in keys], self.window_s
            )
            if wait_s > 0:
                return Admission(max(1, math.ceil(wait_s)))
            rows = await conn.fetch(sql.INSERT_ATTEMPT, names, self.window_s)
        return Admission(0, tuple(int(r["id"]) for r in rows))

    async def succeeded(
        self, conn: asyncpg.Connection, keys: Sequence[ThrottleKey], admission: Admission
    ) -> None:
        """After a good login: forget the username's failures and refund the attempt."""
        forget = [k.key for k in keys if k.key.startswith((USER_PREFIX, PAIR_PREFIX))]
        await conn.execute(sql.DELETE_AFTER_SUCCESS, forget, list(admission.attempt_ids))
