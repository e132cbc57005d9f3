"""The ingester's database access: one dedicated connection, and retry until the database answers.

The batch writer is a single sequential consumer, so it holds one pooled connection (its temp
staging table lives with it). When a call fails because the database is unreachable, restarting
or refuses the transaction (deadlock, serialization), the connection is dropped and the call is
retried with exponential backoff up to ``retry_max_s``, forever: the batch stays in memory,
unacknowledged, and the broker holds the rest (Receive Maximum). Other database errors are
retried the same way but logged as errors: the input is bounded by the decoder so that no value
can be refused by a column; an error here is a bug to see, and nothing is acknowledged meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg

from ingest.metrics import IngestMetrics
from store.device_status import CREATE_STATUS_STAGE
from store.pings import CREATE_STAGE

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Errors that mean "the database is not there right now" (or asked us to try again).
TRANSIENT = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.SerializationError,
)


class Database:
    """A retrying runner over one connection taken from ``pool``."""

    def __init__(self, pool: asyncpg.Pool, *, metrics: IngestMetrics, retry_max_s: float) -> None:
        self.pool = pool
        self.metrics = metrics
        self.retry_max_s = retry_max_s
        self._conn: asyncpg.pool.PoolConnectionProxy | None = None

    async def _connection(self) -> asyncpg.Connection:
        if self._conn is None or self._conn.is_closed():
            conn = await self.pool.acquire()
            try:
                await conn.execute(CREATE_STAGE)
                await conn.execute(CREATE_STATUS_STAGE)
            except BaseException:
                await self.pool.release(conn)
                raise
            self._conn = conn
        return self._conn

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await self.pool.release(conn, timeout=1)
            except Exception:
                conn.terminate()

    async def run(
        self, fn: Callable[[asyncpg.Connection], Awaitable[T]], *, dedicated: bool = True
    ) -> T:
        """``fn(conn)``, retried with backoff until it succeeds (cancellation stops it).

        ``dedicated``: on the writer's own connection (sequential writes); otherwise on a pooled
        connection, so a look-up can run while a batch commits.
        """
        delay = 0.05
        while True:
            try:
                if not dedicated:
                    async with self.pool.acquire() as conn:
                        return await fn(conn)
                return await fn(await self._connection())
            except Exception as exc:
                transient = isinstance(exc, TRANSIENT)
                self.metrics.write_retries.labels(type(exc).__name__).inc()
                (log.warning if transient else log.error)(
                    "database call failed; retrying",
                    extra={"error": repr(exc), "retry_in_s": round(delay, 3)},
                    exc_info=not transient,
                )
                if dedicated:
                    await self._drop()
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.retry_max_s)

    async def close(self) -> None:
        await self._drop()
