"""Reading position data: the scope gate, the access-log entry every read writes, and loading."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg

from api.auth.models import Principal
from api.cases.service import get_visible
from api.metrics import TRACK_READS
from api.params import TimeRange
from api.tracks.analysis import RuleZone, Track, rule_zones, unpack_text
from store import audit, pings, rules

#: Rows per chunk of a streamed export.
EXPORT_CHUNK = 5_000


async def open_read(
    *,
    conn: asyncpg.Connection,
    principal: Principal,
    case_id: int,
    rng: TimeRange,
    purpose: str,
    action: str,
    detail: dict[str, Any],
) -> asyncpg.Record:
    """The case, after checking the caller may read its positions and logging why they do."""
    case = await get_visible(conn=conn, principal=principal, case_id=case_id, positions=True)
    await conn.execute(
        audit.INSERT_ACCESS, principal.name, principal.user_id, case_id, action, rng.start,
        rng.end, purpose.strip(), detail,
    )  # fmt: skip
    TRACK_READS.inc()
    return case


async def load_track(*, conn: asyncpg.Connection, case_id: int, rng: TimeRange) -> Track:
    """The case's fixes in ``rng`` with the ones alerts cite as evidence marked."""
    row = await conn.fetchrow(pings.SELECT_TRACK_PACKED, case_id, rng.start, rng.end)
    n = int(row["n"])
    device_id, src = unpack_text(row["device_id"], n), unpack_text(row["src"], n)
    if device_id is None or src is None:
        text = await conn.fetchrow(pings.SELECT_TRACK_TEXT, case_id, rng.start, rng.end)
        device_id, src = list(text["device_id"]), list(text["src"])
    keys = await conn.fetch(pings.SELECT_EVIDENCE_KEYS, case_id, rng.start, rng.end)
    return Track.from_packed(
        row, device_id=device_id, src=src, evidence_keys=[(k[0], k[1], k[2]) for k in keys]
    )


async def load_zones(*, conn: asyncpg.Connection, case_id: int) -> list[RuleZone]:
    return rule_zones(await conn.fetch(rules.SELECT_ZONED_RULES, case_id))


async def stream_rows(
    *, pool: asyncpg.Pool, case_id: int, rng: TimeRange
) -> AsyncIterator[list[asyncpg.Record]]:
    """The case's fixes in chunks from a server-side cursor (one pooled connection meanwhile)."""
    async with pool.acquire() as conn, conn.transaction():
        cursor = await conn.cursor(pings.SELECT_TRACK, case_id, rng.start, rng.end)
        while chunk := await cursor.fetch(EXPORT_CHUNK):
            yield chunk
