"""Routes of the zones domain: administrators and supervisors draw zones; the readers of a
unit's cases see them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.auth.models import CASE_READERS, MANAGERS, Principal
from api.cases.service import scope_args
from api.deps import PoolDep, require
from api.errors import PROBLEM_RESPONSES
from api.pagination import CursorQuery, LimitQuery, Page, decode, page
from api.params import Id
from api.zones import service
from api.zones.models import ZoneIn, ZoneOut
from geofence.datum import Datum
from geofence.models import ZoneKind
from store import zones as sql

router = APIRouter(prefix="/zones", tags=["zones"], responses=PROBLEM_RESPONSES)

Reader = Annotated[Principal, Depends(require(CASE_READERS))]
Manager = Annotated[Principal, Depends(require(MANAGERS))]
DatumQuery = Annotated[
    Datum, Query(description="datum of the geometry in the response (stored: wgs84)")
]


@router.post(
    "", status_code=201, summary="Create a zone from GeoJSON drawn in a declared datum",
    responses={422: {"description": "the geometry was refused; the reason is in detail"}},
)  # fmt: skip
async def create_zone(body: ZoneIn, pool: PoolDep, principal: Manager) -> ZoneOut:
    async with pool.acquire() as conn:
        row = await service.create(conn=conn, principal=principal, zone=body)
    return service.out(row, Datum.WGS84)


@router.get("", summary="Zones in the caller's scope, newest first")
async def list_zones(
    pool: PoolDep,
    principal: Reader,
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
    kind: Annotated[ZoneKind | None, Query()] = None,
    datum: DatumQuery = Datum.WGS84,
) -> Page[ZoneOut]:
    rows = await pool.fetch(
        sql.LIST_VISIBLE, *scope_args(principal), decode(cursor), limit + 1,
        kind.value if kind else None,
    )  # fmt: skip
    return page(rows, limit, lambda r: service.out(r, datum))


@router.get("/{zone_id}", summary="One zone, its geometry in the datum asked for")
async def get_zone(
    zone_id: Id, pool: PoolDep, principal: Reader, datum: DatumQuery = Datum.WGS84
) -> ZoneOut:
    async with pool.acquire() as conn:
        row = await service.get_visible(conn=conn, principal=principal, zone_id=zone_id)
    return service.out(row, datum)
