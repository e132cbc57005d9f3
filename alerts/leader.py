"""Leadership among alerts processes: a session advisory lock on a dedicated connection.

Whoever holds the lock runs the watchdog and escalation; the others keep trying. When the
leader's connection drops, PostgreSQL releases the lock and another process (or the same one,
reconnected) takes it on its next check.
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Self

import asyncpg

from config.settings import DatabaseSettings

log = logging.getLogger(__name__)

#: Advisory lock key of the watchdog ("bwwd").
WATCHDOG_LOCK = 0x62777764


class Leadership:
    """``await check()`` says whether this process leads now (reconnecting when needed)."""

    def __init__(self, db: DatabaseSettings, *, key: int = WATCHDOG_LOCK) -> None:
        self.db = db
        self.key = key
        self._conn: asyncpg.Connection | None = None
        self.leading = False

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._drop()

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if self.leading:
            log.warning("watchdog leadership lost")
        self.leading = False
        if conn is not None and not conn.is_closed():
            try:
                await conn.close(timeout=2)
            except Exception:
                conn.terminate()

    async def check(self) -> bool:
        """True when this process holds the lock (tries to take it when it does not)."""
        try:
            if self._conn is None or self._conn.is_closed():
                self.leading = False
                self._conn = await asyncpg.connect(
                    self.db.dsn(),
                    timeout=self.db.connect_timeout_s,
                    server_settings={"application_name": "bailwatch-alerts-leader"},
                )
            if self.leading:
                await self._conn.fetchval("SELECT 1", timeout=self.db.connect_timeout_s)
                return True
            self.leading = bool(
                await self._conn.fetchval(
                    "SELECT pg_try_advisory_lock($1)", self.key, timeout=self.db.connect_timeout_s
                )
            )
            if self.leading:
                log.info("watchdog leadership taken")
            return self.leading
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("leadership check failed", extra={"error": repr(exc)})
            await self._drop()
            return False
