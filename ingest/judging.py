"""Judging a batch's stored fixes exactly once, inside the transaction that stores them.

The write stage calls :class:`Judge` after the fixes are inserted. It hands the evaluation hooks
only the fixes that are new rows (a redelivered or re-sent fix was judged, or queued, when it was
first stored), in arrival order, under the per-device advisory locks. A fix that cannot be judged
now is queued in ``unjudged_fixes`` by the same transaction, so it commits with the fix or not at
all: when a hook fails (its savepoint is rolled back, the failure logged and counted), and when
its device already has fixes waiting (they are judged first, by the sweeper, in arrival order).
An evaluation failure therefore delays an alert; it never drops it. Transient database errors
propagate, so the whole batch is retried.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

import asyncpg
from prometheus_client import CollectorRegistry, Counter, Gauge

from ingest.db import TRANSIENT
from ingest.models import Event, Ping, Reject, Status
from store import judging as sql
from store.evaluation import LOCK_DEVICES

if TYPE_CHECKING:
    from ingest.pipeline import Batch

log = logging.getLogger(__name__)

FixKey = tuple[str, datetime, int]


class EvaluateHook(Protocol):
    """The seam for zone and alert evaluation (geofence/, alerts/): not implemented here.

    Called inside the batch's write transaction, under a savepoint and with the devices locked,
    with the fixes to judge (new rows only, in arrival order) and the batch's statuses, events and
    rejects (an impossible-speed reject is evidence too). It writes its results (states, alerts,
    outbox) on ``conn``; raising means "not judged": the fixes are queued for the sweeper.
    """

    __name__: str

    async def __call__(
        self,
        conn: asyncpg.Connection,
        pings: Sequence[Ping],
        *,
        statuses: Sequence[Status],
        events: Sequence[Event],
        rejects: Sequence[Reject],
    ) -> None: ...


class JudgeMetrics:
    """``bailwatch_fixes_*``: fixes queued unjudged (by reason), swept, and waiting."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.queued = Counter(
            "bailwatch_fixes_unjudged_queued_total",
            "Stored fixes queued for the sweeper instead of judged in their batch",
            ["reason"], registry=registry,
        )  # fmt: skip
        self.swept = Counter(
            "bailwatch_fixes_swept_total", "Queued fixes judged by the sweeper", registry=registry
        )
        self.sweep_errors = Counter(
            "bailwatch_fixes_sweep_errors_total",
            "Sweeper rounds whose evaluation failed (the fixes stay queued)",
            registry=registry,
        )
        self.unjudged = Gauge(
            "bailwatch_fixes_unjudged", "Stored fixes waiting to be judged", registry=registry
        )


def key(p: Ping) -> FixKey:
    return (p.device_id, p.fix_time, p.seq)


@dataclass
class Judge:
    """Runs the hooks on a batch's new fixes in its transaction; queues what is not judged."""

    hooks: list[EvaluateHook]
    metrics: JudgeMetrics

    async def __call__(self, conn: asyncpg.Connection, batch: Batch, stored: int) -> None:
        if not self.hooks:
            return
        fresh = await fresh_pings(conn, batch.pings, stored)
        records = {s.device_id for s in batch.statuses} | {e.device_id for e in batch.events}
        records |= {r.device_id for r in batch.rejects if r.device_id}
        devices = sorted({p.device_id for p in fresh} | records)
        if not devices:
            return
        await conn.execute(LOCK_DEVICES, devices)
        waiting: set[str] = set()
        if fresh and await conn.fetchval(sql.ANY_QUEUED):
            ids = sorted({p.device_id for p in fresh})
            waiting = {r["device_id"] for r in await conn.fetch(sql.QUEUED_DEVICES, ids)}
        judged = [p for p in fresh if p.device_id not in waiting]
        behind = [p for p in fresh if p.device_id in waiting]
        failed = await self._run_hooks(conn, judged, batch)
        if behind:
            await enqueue(conn, behind, "device has fixes waiting")
            self.metrics.queued.labels("device_waiting").inc(len(behind))
        if failed is not None and judged:
            await enqueue(conn, judged, failed)
            self.metrics.queued.labels("evaluation_failed").inc(len(judged))

    async def _run_hooks(
        self, conn: asyncpg.Connection, pings: Sequence[Ping], batch: Batch
    ) -> str | None:
        """Run every hook under its own savepoint; the first failure's text, or None."""
        failed: str | None = None
        for hook in self.hooks:
            try:
                async with conn.transaction():
                    await hook(
                        conn, pings, statuses=batch.statuses, events=batch.events,
                        rejects=batch.rejects,
                    )  # fmt: skip
            except TRANSIENT:
                raise
            except Exception as exc:
                log.exception(
                    "evaluation failed; its fixes are queued for the sweeper",
                    extra={"hook": hook.__name__, "fixes": len(pings)},
                )
                failed = failed or f"{hook.__name__}: {type(exc).__name__}: {exc}"[:500]
        return failed


async def fresh_pings(conn: asyncpg.Connection, pings: Sequence[Ping], stored: int) -> list[Ping]:
    """The pings (in their order) that the batch's insert stored as new rows: all of them when
    the insert stored as many as there are, else those the database says this transaction
    wrote (each key once, its first occurrence)."""
    if stored == len(pings):
        return list(pings)
    if not stored:
        return []
    new = {
        (r["device_id"], r["fix_time"], r["seq"]) for r in await conn.fetch(sql.FRESH_FROM_STAGE)
    }
    out: list[Ping] = []
    for p in pings:
        k = key(p)
        if k in new:
            new.discard(k)
            out.append(p)
    return out


async def enqueue(conn: asyncpg.Connection, pings: Sequence[Ping], why: str) -> None:
    """Queue ``pings`` (in their order) for the sweeper, in the caller's transaction."""
    await conn.execute(
        sql.ENQUEUE,
        [p.device_id for p in pings],
        [p.fix_time for p in pings],
        [p.seq for p in pings],
        why,
    )
