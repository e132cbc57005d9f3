"""Write stage: one transaction per batch, then (in the ack stage) the MQTT acknowledgements.

Fixes: COPY into the connection's temp staging table, then ``INSERT .. ON CONFLICT DO NOTHING``
on the natural key, so redelivery and re-sent buffers store nothing twice; the daily partitions
the batch needs are created first (cached per process once committed). Dead letters, status
history and events are inserted from arrays with their own natural keys; ``device_status``
moves only forwards in fix time and status time. Then, in the same transaction, the judge
(``ingest.judging``) evaluates the new rows or queues them for the sweeper, and the batch's
source records its part (a replayed batch, its dead letters' outcome).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, TypeVar

import asyncpg

from ingest.judging import Judge
from ingest.models import Ping, Reject, Status
from store import dead_letters, device_status
from store.pings import ENSURE_PARTITIONS, INSERT_FROM_STAGE, PING_COLUMNS

if TYPE_CHECKING:
    from ingest.pipeline import Batch

T = TypeVar("T")


def dedup_key(r: Reject) -> bytes:
    """sha256(topic NUL payload NUL element): one dead letter per bad message or element."""
    h = hashlib.sha256(r.topic.encode())
    h.update(b"\0")
    h.update(r.payload)
    h.update(b"\0" + str(r.index).encode())
    return h.digest()


class BatchWriter:
    """Writes a validated batch; remembers which daily partitions exist."""

    def __init__(self, judge: Judge | None = None) -> None:
        self._days: set[date] = set()
        self.judge = judge

    async def write(self, conn: asyncpg.Connection, batch: Batch) -> int:
        """Store the batch in one transaction; returns how many fixes were new rows."""
        if conn.is_in_transaction():
            # The judge tells new rows by their xmin, the id of this (top-level) transaction.
            raise RuntimeError("BatchWriter.write needs its own transaction")
        days = {p.fix_time.date() for p in batch.pings} - self._days
        stored = 0
        async with conn.transaction():
            if days:
                await conn.execute(ENSURE_PARTITIONS, min(days), max(days))
            if batch.pings:
                await conn.copy_records_to_table(
                    "pings_stage", records=batch.pings, columns=PING_COLUMNS
                )
                status = await conn.execute(INSERT_FROM_STAGE)
                stored = int(status.rsplit(" ", 1)[1])
            if batch.rejects:
                await conn.execute(
                    dead_letters.INSERT_DEAD_LETTERS, *_reject_columns(batch.rejects)
                )
            history = [s for s in batch.statuses if not s.derived]
            if history:
                await conn.execute(device_status.INSERT_STATUS_HISTORY, *_columns(history, 8))
            if batch.events:
                await conn.execute(device_status.INSERT_EVENTS, *_columns(batch.events, 6))
            rows = _status_rows(batch)
            if rows:
                await conn.copy_records_to_table(
                    "device_status_stage", records=rows, columns=device_status.STATUS_COLUMNS
                )
                await conn.execute(device_status.UPSERT_STATUS_FROM_STAGE)
            if self.judge is not None:
                await self.judge(conn, batch, stored)
            await batch.record_source(conn)
        self._days |= days
        return stored


def _columns(rows: Sequence[Sequence[object]], n: int) -> list[list[object]]:
    """Rows to ``n`` column arrays (for ``unnest`` inserts)."""
    cols: list[list[object]] = [[] for _ in range(n)]
    for row in rows:
        for i in range(n):
            cols[i].append(row[i])
    return cols


def _reject_columns(rejects: list[Reject]) -> list[list[object]]:
    return [
        [r.received_at for r in rejects],
        [r.topic for r in rejects],
        [r.payload for r in rejects],
        [",".join(r.reasons) for r in rejects],
        [r.device_id for r in rejects],
        [{**r.detail, "index": r.index} if r.index is not None else r.detail for r in rejects],
        [dedup_key(r) for r in rejects],
    ]


def _status_rows(batch: Batch) -> list[tuple[object, ...]]:
    """One device_status row per device touched: newest fix, newest status, skew, last seen."""
    seen: dict[str, datetime] = {}

    def saw(device_id: str, at: datetime) -> None:
        prev = seen.get(device_id)
        if prev is None or at > prev:
            seen[device_id] = at

    fix: dict[str, Ping] = {}
    for p in batch.pings:
        if p.device_id not in fix or p.fix_time > fix[p.device_id].fix_time:
            fix[p.device_id] = p
        saw(p.device_id, p.received_at)
    merged: dict[str, Status] = {}
    for s in sorted(batch.statuses, key=lambda s: s.at):
        old = merged.get(s.device_id)
        if old is not None:
            s = s._replace(
                battery_pct=_newer(s.battery_pct, old.battery_pct),
                charging=_newer(s.charging, old.charging),
                strap_closed=_newer(s.strap_closed, old.strap_closed),
                signal=_newer(s.signal, old.signal),
                firmware=_newer(s.firmware, old.firmware),
            )
        merged[s.device_id] = s
        saw(s.device_id, s.received_at)
    for e in batch.events:
        saw(e.device_id, e.received_at)
    rows: list[tuple[object, ...]] = []
    for device_id in sorted(seen):
        p_ = fix.get(device_id)
        s_ = merged.get(device_id)
        rows.append((
            device_id, seen[device_id],
            p_.fix_time if p_ else None, p_.lon if p_ else None, p_.lat if p_ else None,
            p_.acc if p_ else None, p_.src if p_ else None,
            s_.at if s_ else None, s_.battery_pct if s_ else None, s_.charging if s_ else None,
            s_.strap_closed if s_ else None, s_.signal if s_ else None,
            s_.firmware if s_ else None, batch.skew.get(device_id),
        ))  # fmt: skip
    return rows


def _newer(new: T | None, old: T | None) -> T | None:
    """The newer status's value where it has one, else the older one's."""
    return new if new is not None else old
