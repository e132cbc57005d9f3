"""Replay of dead letters: fixes refused as ``unassigned_device`` that an assignment's corrected
start now covers are fed through the ingest pipeline again (decode -> validate -> order ->
evaluate -> write), as a batch of their own with their original topic, payload and receive time.

The API marks the rows (``store.dead_letters.REQUEST_REPLAY``); this feed claims them with a
lease (``FOR UPDATE SKIP LOCKED``, claims serialised by an advisory lock: two ingesters never
take one row, nor rows of one device, at once; a device's rows go in fix-time order), and the
ingester's batch loop runs them between its MQTT batches, on the same writer, without the ack
stage (they owe the broker nothing). Each row's outcome is written in the batch's own
transaction: ``stored`` (its fix is in ``pings``, judged by the evaluation like any late fix), or
``rejected`` with its new reasons. A crash before the commit leaves the rows claimed until the
lease passes; then any ingester takes them again, and the fixes' natural key makes a repeat
harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from types import TracebackType

import asyncpg
from prometheus_client import Counter

from broker.client import Inbound
from ingest.db import Database
from ingest.directory import DeviceDirectory
from ingest.metrics import IngestMetrics
from ingest.pipeline import Batch
from ingest.writer import dedup_key
from store import dead_letters as sql

log = logging.getLogger(__name__)

#: Marks a replayed message: never acknowledged (QoS 0, no packet id, no connection).
REPLAY_QOS = 0
REPLAY_GENERATION = -1


@dataclass(frozen=True, slots=True)
class Claimed:
    """One claimed dead letter."""

    id: int
    device_id: str | None
    dedup_key: bytes


def messages_of(rows: Sequence[asyncpg.Record]) -> list[Inbound]:
    """One message per distinct (topic, payload, receive time): several refused elements of one
    array are replayed by one message, which re-presents all its fixes (stored ones are kept
    once by their natural key)."""
    seen: dict[tuple[str, bytes, float], Inbound] = {}
    for r in rows:
        key = (r["topic"], bytes(r["payload"]), r["received_at"].timestamp())
        if key not in seen:
            seen[key] = Inbound(
                topic=key[0], payload=key[1], mid=0, qos=REPLAY_QOS, received_at=key[2],
                generation=REPLAY_GENERATION,
            )  # fmt: skip
    return list(seen.values())


def outcomes(claimed: Sequence[Claimed], batch: Batch) -> tuple[list[int], list[str], list[str]]:
    """Per claimed row: ``rejected`` with the reasons of the batch's reject that has its dedup
    key (the same topic, payload and element), else ``stored``; as FINISH_REPLAY's arrays."""
    again = {dedup_key(r): r.reasons for r in batch.rejects}
    ids, results, reasons = [], [], []
    for c in claimed:
        new = again.get(c.dedup_key)
        ids.append(c.id)
        results.append("stored" if new is None else "rejected")
        reasons.append("" if new is None else ",".join(new))
    return ids, results, reasons


@dataclass
class ReplayBatch(Batch):
    """A batch of replayed dead letters, with the rows it answers for."""

    claimed: list[Claimed] = field(default_factory=list)

    async def record_source(self, conn: asyncpg.Connection) -> None:
        """Each replayed row's outcome (stored, or rejected with its new reasons), in the
        batch's own transaction."""
        ids, results, reasons = outcomes(self.claimed, self)
        await conn.execute(sql.FINISH_REPLAY, ids, results, reasons)


async def claim(conn: asyncpg.Connection, *, limit: int, lease_s: float) -> list[asyncpg.Record]:
    """Claim up to ``limit`` rows for ``lease_s`` seconds (claims serialised across ingesters)."""
    async with conn.transaction():
        await conn.execute(sql.LOCK_CLAIMS)
        rows: list[asyncpg.Record] = await conn.fetch(sql.CLAIM_REPLAY, limit, lease_s)
    return rows


async def _release(conn: asyncpg.Connection, *, ids: list[int]) -> None:
    await conn.execute(sql.RELEASE_CLAIMS, ids)


class ReplayMetrics:
    """``bailwatch_ingest_replayed_total{result}``: dead letters replayed, by outcome."""

    def __init__(self, metrics: IngestMetrics) -> None:
        self.replayed = Counter(
            "bailwatch_ingest_replayed", "Dead letters fed through the pipeline again, by outcome",
            ["result"], registry=metrics.registry,
        )  # fmt: skip


class ReplayFeed:
    """Claims rows marked for replay and hands them to the batch loop, one batch at a time.

    An async context manager: entering starts the supervised claim loop, leaving stops it and gives
    back a claimed batch the loop has not taken (rows lost in a crash wait for their lease).
    """

    def __init__(
        self,
        *,
        db: Database,
        directory: DeviceDirectory,
        metrics: IngestMetrics,
        batch_max: int,
        poll_s: float,
        lease_s: float,
    ) -> None:
        self.db = db
        self.directory = directory
        self.metrics = ReplayMetrics(metrics)
        self.batch_max = batch_max
        self.poll_s = poll_s
        self.lease_s = lease_s
        self._ready: asyncio.Queue[tuple[list[Claimed], list[Inbound]]] = asyncio.Queue(1)
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> ReplayFeed:
        self._task = asyncio.create_task(self._run(), name="replay-feed")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if not self._ready.empty():
            claimed, _ = self._ready.get_nowait()
            ids = [c.id for c in claimed]
            try:
                await asyncio.wait_for(self.db.run(partial(_release, ids=ids), dedicated=False), 2)
            except Exception:  # the lease gives them back anyway
                log.warning("claimed dead letters not given back", extra={"rows": len(ids)})

    async def _run(self) -> None:
        """Claim, wait for the loop to take the batch, repeat; on error log, wait, go on."""
        while True:
            try:
                rows = await self.db.run(self._claim, dedicated=False)
            except Exception:
                log.exception("claiming dead letters for replay failed; retrying")
                await asyncio.sleep(self.poll_s)
                continue
            if not rows:
                await asyncio.sleep(self.poll_s)
                continue
            claimed = [Claimed(r["id"], r["device_id"], bytes(r["dedup_key"])) for r in rows]
            await self._ready.put((claimed, messages_of(rows)))

    async def _claim(self, conn: asyncpg.Connection) -> list[asyncpg.Record]:
        return await claim(conn, limit=self.batch_max, lease_s=self.lease_s)

    def take(self) -> ReplayBatch | None:
        """A claimed batch ready to run through the stages (without ack), or None.

        The devices' cached assignments are dropped first, so validation reads the corrected
        ones; the batch records each row's outcome in its write transaction.
        """
        try:
            claimed, messages = self._ready.get_nowait()
        except asyncio.QueueEmpty:
            return None
        self.directory.forget({c.device_id for c in claimed if c.device_id is not None})
        return ReplayBatch(messages, claimed=claimed)

    async def report(self, batch: Batch) -> None:
        """Stage after the write (in place of the ack): count and log the committed outcomes."""
        if not isinstance(batch, ReplayBatch):
            return
        _, results, reasons = outcomes(batch.claimed, batch)
        stored = results.count("stored")
        self.metrics.replayed.labels("stored").inc(stored)
        self.metrics.replayed.labels("rejected").inc(len(results) - stored)
        log.info(
            "dead letters replayed",
            extra={
                "stored": stored, "rejected": len(results) - stored, "fixes": batch.stored,
                "rejected_reasons": sorted(set(reasons) - {""}),
            },
        )  # fmt: skip
