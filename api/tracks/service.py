"""Reading position data: the scope gate, the access-log entry every read writes, and loading."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Sequence
from typing import Any

import asyncpg

from api.auth.models import Principal
from api.cases.service import get_visible
from api.metrics import TRACK_READS
from api.params import TimeRange
from api.tracks.analysis import (
    CERTAIN_KINDS,
    UNCERTAIN_KINDS,
    RuleZone,
    Track,
    rule_zones,
    unpack_text,
)
from geofence.models import RuleKind
from store import audit, pings, positions, rules

#: The rule kinds that judge a fix by its position.
POSITIONAL_RULES = [k.value for k in RuleKind if k.positional]

#: Chunks of COPY output (as the server sends them, ~8-64 KiB) held for a slow client before the
#: copy waits.
EXPORT_BUFFER_CHUNKS = 16


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
    case, _ = await open_read_logged(
        conn=conn, principal=principal, case_id=case_id, rng=rng, purpose=purpose, action=action,
        detail=detail,
    )  # fmt: skip
    return case


async def open_read_logged(
    *,
    conn: asyncpg.Connection,
    principal: Principal,
    case_id: int,
    rng: TimeRange,
    purpose: str,
    action: str,
    detail: dict[str, Any],
) -> tuple[asyncpg.Record, int]:
    """``open_read`` that also gives the id of the access-log entry it wrote (a read that
    produces a document records the document's hash there, in the same transaction)."""
    case = await get_visible(conn=conn, principal=principal, case_id=case_id, positions=True)
    access_id = await conn.fetchval(
        audit.INSERT_ACCESS, principal.name, principal.user_id, case_id, action, rng.start,
        rng.end, purpose.strip(), detail,
    )  # fmt: skip
    TRACK_READS.inc()
    return case, int(access_id)


async def load_track(*, conn: asyncpg.Connection, case_id: int, rng: TimeRange) -> Track:
    """The case's fixes in ``rng``, each with the verdict it had (``analysis.Verdict``)."""
    row = await conn.fetchrow(pings.SELECT_TRACK_PACKED, case_id, rng.start, rng.end)
    n = int(row["n"])
    device_id, src = unpack_text(row["device_id"], n), unpack_text(row["src"], n)
    if device_id is None or src is None:
        text = await conn.fetchrow(pings.SELECT_TRACK_TEXT, case_id, rng.start, rng.end)
        device_id, src = list(text["device_id"]), list(text["src"])
    kinds, certain, positional = _verdict_args()
    cited = await conn.fetch(
        positions.SELECT_CITED_FIXES, case_id, rng.start, rng.end, kinds, certain
    )
    judged = await conn.fetch(positions.SELECT_JUDGED_WINDOWS, case_id, positional)
    return Track.from_packed(
        row, device_id=device_id, src=src,
        cited=[(c["device_id"], c["fix_time"], c["seq"], c["certain"]) for c in cited],
        judged=[(w["start"], w["stop"]) for w in judged],
    )  # fmt: skip


def _verdict_args() -> tuple[list[str], list[str], list[str]]:
    """The alert kinds that cite fixes, those of them that cite certain violations, and the
    positional rule kinds (the parameters of the verdict queries in ``store.positions``)."""
    certain = [k.value for k in CERTAIN_KINDS]
    return certain + [k.value for k in UNCERTAIN_KINDS], certain, POSITIONAL_RULES


async def load_zones(*, conn: asyncpg.Connection, case_id: int) -> list[RuleZone]:
    return rule_zones(await conn.fetch(rules.SELECT_ZONED_RULES, case_id))


def export_rows(
    *, pool: asyncpg.Pool, case_id: int, rng: TimeRange, timezone: str, fmt: str
) -> AsyncGenerator[bytes, None]:
    """The case's fixes in ``rng`` as the rows of the ``fmt`` export ("csv": with its header;
    "gpx": ``trkpt`` lines), local times in ``timezone``, streamed (see ``copy_out``)."""
    if fmt == "csv":
        query, options = positions.EXPORT_CSV, {"format": "csv", "header": True}
    else:
        query, options = positions.EXPORT_GPX, {"format": "text"}
    args = (case_id, rng.start, rng.end, *_verdict_args())
    return copy_out(pool=pool, query=query, args=args, timezone=timezone, **options)


async def copy_out(
    *, pool: asyncpg.Pool, query: str, args: Sequence[Any], timezone: str, **options: Any
) -> AsyncGenerator[bytes, None]:
    """The rows of ``query`` as PostgreSQL's COPY writes them (``options``: ``format``,
    ``header``), streamed from one pooled connection whose session time zone is ``timezone``.

    The server formats every row, so no Python object is made per row. Chunks go to the caller
    as they arrive, joined when several are waiting; at most ``EXPORT_BUFFER_CHUNKS`` wait before
    the copy does. Closing the iterator (the client went away) cancels the copy; a failed copy
    raises once the chunks before the failure are out.
    """
    chunks: asyncio.Queue[bytes] = asyncio.Queue(EXPORT_BUFFER_CHUNKS)

    async def copy() -> None:
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(pings.SET_LOCAL_TIMEZONE, timezone)
            await conn.copy_from_query(query, *args, output=chunks.put, **options)

    task = asyncio.create_task(copy())
    try:
        while True:
            getter = asyncio.ensure_future(chunks.get())
            await asyncio.wait((getter, task), return_when=asyncio.FIRST_COMPLETED)
            if not getter.done():
                getter.cancel()
                break
            yield _with_waiting(getter.result(), chunks)
        if not chunks.empty():
            yield _with_waiting(chunks.get_nowait(), chunks)
        task.result()
    finally:
        task.cancel()
        await asyncio.wait((task,))
        if not task.cancelled():
            task.exception()  # retrieved: raised above, or moot once the client has gone


def _with_waiting(first: bytes, chunks: asyncio.Queue[bytes]) -> bytes:
    """``first`` and every chunk already waiting in ``chunks``, in order, as one."""
    parts = [first]
    while not chunks.empty():
        parts.append(chunks.get_nowait())
    return b"".join(parts)
