"""Route of the latest positions: reading them states a purpose and writes one access-log entry
per case shown."""

from __future__ import annotations

from collections.abc import Sequence
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
from api.tracks.datums import Datum, DatumQuery, convert
from store import audit
from store import positions as sql

router = APIRouter(tags=["positions"], responses=PROBLEM_RESPONSES)

Reader = Annotated[Principal, Depends(require(POSITION_READERS))]


def _in_datum(rows: Sequence[Any], datum: Datum) -> dict[int, tuple[float, float]]:
    """Each shown case's (lon, lat) converted to ``datum`` in one vectorised call, by case id."""
    placed = [r for r in rows if r["last_lon"] is not None and r["last_lat"] is not None]
    lon, lat = convert(datum, [r["last_lon"] for r in placed], [r["last_lat"] for r in placed])
    return {r["id"]: (x, y) for r, x, y in zip(placed, lon.tolist(), lat.tolist(), strict=True)}


def _out(row: Any, where: dict[int, tuple[float, float]], datum: Datum) -> LatestPosition:
    lon, lat = where.get(row["id"], (None, None))
    return LatestPosition(
        case_id=row["id"], case_number=row["case_number"], status=row["status"],
        supervising_unit_id=row["supervising_unit_id"], device_id=row["device_id"],
        fix_time=row["last_fix_time"], lon=lon, lat=lat, datum=datum,
        acc_m=row["last_acc"], src=row["last_src"], last_seen_at=row["last_seen_at"],
        battery_pct=row["battery_pct"], charging=row["charging"],
        strap_closed=row["strap_closed"],
    )  # fmt: skip


@router.get(
    "/positions/latest",
    summary="The newest position of each case in the caller's scope (not released)",
    description=(
        "Written to the access log (one entry per case returned) with the purpose. With "
        "``datum`` (default wgs84) lon/lat are converted for a Chinese web map; each item's "
        "``datum`` says which; accuracy radii are unchanged."
    ),
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
    datum: DatumQuery = Datum.WGS84,
) -> Page[LatestPosition]:
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            sql.LATEST_VISIBLE, *scope_args(principal), decode(cursor), limit + 1, unit_id
        )
        shown = [r["id"] for r in rows[:limit] if r["last_fix_time"] is not None]
        if shown:
            await conn.execute(
                audit.INSERT_ACCESS_MANY, principal.name, principal.user_id, shown,
                "positions.latest", None, None, purpose.strip(),
                {"cases": len(shown), "datum": datum.value},
            )  # fmt: skip
            TRACK_READS.inc()
    where = _in_datum(rows[:limit], datum)
    return page(rows, limit, lambda row: _out(row, where, datum))
