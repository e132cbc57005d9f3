"""Route of the latest positions: reading them states a purpose and writes one access-log entry
per case shown."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from api.auth.models import POSITION_READERS, Principal
from api.cases.service import scope_args
from api.deps import PoolDep, require
from api.errors import PROBLEM_RESPONSES
from api.metrics import TRACK_READS
from api.pagination import CursorQuery, LimitQuery, Page, decode, page
from api.params import MAX_ID, PurposeQuery
from api.positions.models import LatestPosition
from store import audit
from store import positions as sql

router = APIRouter(tags=["positions"], responses=PROBLEM_RESPONSES)

Reader = Annotated[Principal, Depends(require(POSITION_READERS))]


def _out(row: Any) -> LatestPosition:
    return LatestPosition(
        case_id=row["id"], case_number=row["case_number"], status=row["status"],
        supervising_unit_id=row["supervising_unit_id"], device_id=row["device_id"],
        fix_time=row["last_fix_time"], lon=row["last_lon"], lat=row["last_lat"],
        acc_m=row["last_acc"], src=row["last_src"], last_seen_at=row["last_seen_at"],
        battery_pct=row["battery_pct"], charging=row["charging"],
        strap_closed=row["strap_closed"],
    )  # fmt: skip


@router.get(
    "/positions/latest",
    summary="The newest position of each case in the caller's scope (not released)",
    description="Written to the access log (one entry per case returned) with the purpose.",
)
async def latest_positions(
    pool: PoolDep,
    principal: Reader,
    purpose: PurposeQuery,
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
    unit_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="only cases this unit supervises")
    ] = None,
) -> Page[LatestPosition]:
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            sql.LATEST_VISIBLE, *scope_args(principal), decode(cursor), limit + 1, unit_id
        )
        shown = [r["id"] for r in rows[:limit] if r["last_fix_time"] is not None]
        if shown:
            await conn.execute(
                audit.INSERT_ACCESS_MANY, principal.name, principal.user_id, shown,
                "positions.latest", None, None, purpose.strip(), {"cases": len(shown)},
            )  # fmt: skip
            TRACK_READS.inc()
    return page(rows, limit, _out)
