"""The sweeper: judges stored fixes that their batch could not judge (``unjudged_fixes``).

It runs in the ingester between batches (so it never evaluates beside a batch on the same
engine), with the ingester's own evaluator. A round claims up to ``devices`` devices with fixes
waiting whose advisory lock is free (``pg_try_advisory_xact_lock``: a device being judged by a
batch or by another ingester's sweeper is left for a later round), evaluates their waiting fixes
in arrival order as one batch, and deletes them from the queue, all in one transaction. If the
evaluation fails again, the savepoint is rolled back, the attempt is counted on the rows (and in
``bailwatch_fixes_sweep_errors_total``) and they wait for the next round: an alert is delayed,
never dropped. Fixes no longer stored (dropped by retention) leave the queue.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import asyncpg

from alerts.evaluate import EvaluationInput, Evaluator
from ingest.db import TRANSIENT
from ingest.judging import JudgeMetrics
from ingest.models import Ping
from store import judging as sql

log = logging.getLogger(__name__)


@dataclass
class Sweeper:
    """One round per call of :meth:`sweep`."""

    evaluator: Evaluator
    metrics: JudgeMetrics
    #: Devices per round and fixes per round (the oldest arrivals first).
    devices: int = 64
    fixes: int = 5_000

    async def waiting(self, conn: asyncpg.Connection) -> bool:
        """Whether any fix waits (one index probe; it uses no evaluator, so it may run while a
        batch commits)."""
        if await conn.fetchval(sql.ANY_QUEUED):
            return True
        self.metrics.unjudged.set(0)
        return False

    async def sweep(self, conn: asyncpg.Connection) -> int:
        """Judge what is waiting (up to the round's limits); returns how many fixes were judged."""
        if not await self.waiting(conn):
            return 0
        judged = 0
        async with conn.transaction():
            devices = [r["device_id"] for r in await conn.fetch(sql.CLAIM_DEVICES, self.devices)]
            if devices:
                judged = await self._judge(conn, devices)
        self.metrics.unjudged.set(await conn.fetchval(sql.COUNT_QUEUED))
        return judged

    async def _judge(self, conn: asyncpg.Connection, devices: list[str]) -> int:
        rows = await conn.fetch(sql.SELECT_QUEUED, devices, self.fixes)
        ids = [r["id"] for r in rows]
        gone = [r["id"] for r in rows if r["fix_time"] is None]
        pings = [_ping(r) for r in rows if r["fix_time"] is not None]
        try:
            async with conn.transaction():
                await self.evaluator.run(conn, EvaluationInput(pings), locked=True)
        except TRANSIENT:
            raise
        except Exception as exc:
            self.evaluator.forget()
            self.metrics.sweep_errors.inc()
            log.exception(
                "sweeper evaluation failed; the fixes stay queued",
                extra={"devices": len(devices), "fixes": len(pings)},
            )
            await conn.execute(sql.MARK_ATTEMPT, ids, f"{type(exc).__name__}: {exc}"[:500])
            return 0
        await conn.execute(sql.DELETE_QUEUED, ids)
        self.metrics.swept.inc(len(pings))
        log.info(
            "swept unjudged fixes",
            extra={"devices": len(devices), "fixes": len(pings), "gone": len(gone)},
        )
        return len(pings)


def _ping(r: asyncpg.Record) -> Ping:
    return Ping(
        r["device_id"], r["fix_time"], r["seq"], r["received_at"], r["lon"], r["lat"], r["acc"],
        r["src"], r["alt"], r["spd"], r["hdg"], r["batt"], r["sat"],
    )  # fmt: skip
