"""Routes of the tracks domain. Every read states a purpose and is written to ``access_log``."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import msgspec
from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response, StreamingResponse

from api.auth.models import POSITION_READERS, Principal
from api.deps import PoolDep, require
from api.errors import PROBLEM_RESPONSES
from api.params import CaseId, FromQuery, PurposeQuery, ToQuery, time_range
from api.tracks import analysis, datums, exports, service
from api.tracks.datums import Datum, DatumQuery
from api.tracks.geojson import track_feature_collection

router = APIRouter(tags=["tracks"], responses=PROBLEM_RESPONSES)

Reader = Annotated[Principal, Depends(require(POSITION_READERS))]
GEOJSON = "application/geo+json"


def _filename(case_number: str, ext: str) -> str:
    """An ASCII file name for Content-Disposition (case numbers may hold CJK characters)."""
    return "track-" + re.sub(r"[^A-Za-z0-9_.-]", "_", case_number) + "." + ext


@router.get(
    "/cases/{case_id}/track",
    summary="A case's fixes in [from, to) as a GeoJSON FeatureCollection",
    description=(
        "Each point carries the ``verdict`` it had: ``violation`` (cited by a violation "
        "alert), ``uncertain`` (cited only by a location-uncertain alert), ``compliant`` or "
        "``not_judged`` (no positional rule in force at its time). With ``simplify`` (metres), "
        "Douglas-Peucker in a local projection; violating and uncertain fixes and those "
        "certainly on the wrong side of a zone are always kept. With ``datum`` (default "
        "wgs84) the coordinates are converted for a Chinese web map and the collection's "
        "foreign member ``datum`` says which; accuracy radii are unchanged."
    ),
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}, "description": "GeoJSON FeatureCollection"}},
)
async def get_track(
    case_id: CaseId,
    pool: PoolDep,
    principal: Reader,
    range_from: FromQuery,
    range_to: ToQuery,
    purpose: PurposeQuery,
    simplify: Annotated[
        float | None, Query(ge=0, le=5000, description="tolerance in metres (0 or absent: all)")
    ] = None,
    datum: DatumQuery = Datum.WGS84,
) -> Response:
    rng = time_range(range_from, range_to)
    async with pool.acquire() as conn, conn.transaction():
        case = await service.open_read(
            conn=conn, principal=principal, case_id=case_id, rng=rng, purpose=purpose,
            action="track.read",
            detail={"format": "geojson", "simplify_m": simplify, "datum": datum.value},
        )  # fmt: skip
        track = await service.load_track(conn=conn, case_id=case_id, rng=rng)
        zones = await service.load_zones(conn=conn, case_id=case_id) if simplify else []
    keep = analysis.keep_mask(track, zones)
    indices = analysis.simplify(track, simplify or 0.0, keep)
    body = track_feature_collection(
        track, indices, case_id=case_id, tz=ZoneInfo(case["timezone"]),
        range_from=rng.start, range_to=rng.end, tolerance_m=simplify, datum=datum,
    )  # fmt: skip
    return Response(msgspec.json.encode(body), media_type=GEOJSON)


async def _export(
    *,
    pool: PoolDep,
    principal: Principal,
    case_id: int,
    range_from: datetime,
    range_to: datetime,
    purpose: str,
    fmt: str,
    media_type: str,
    datum: Datum,
) -> StreamingResponse:
    """Audit the read, then stream the range's fixes as ``fmt`` (csv or gpx) in chunks, their
    coordinates in ``datum``."""
    rng = time_range(range_from, range_to)
    async with pool.acquire() as conn, conn.transaction():
        case = await service.open_read(
            conn=conn, principal=principal, case_id=case_id, rng=rng, purpose=purpose,
            action="track.export", detail={"format": fmt, "datum": datum.value},
        )  # fmt: skip
    chunks = service.export_rows(
        pool=pool, case_id=case_id, rng=rng, timezone=case["timezone"], fmt=fmt
    )
    body = (
        exports.csv_body(datums.csv_in_datum(chunks, datum))
        if fmt == "csv"
        else exports.gpx_body(datums.gpx_in_datum(chunks, datum), case["case_number"], datum)
    )
    name = _filename(case["case_number"], fmt)
    return StreamingResponse(
        body,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get(
    "/cases/{case_id}/track.csv",
    summary="A case's fixes in [from, to) as CSV, streamed",
    description="The last column, ``datum``, names the datum of ``lat``/``lon`` (``datum``).",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "CSV, one fix per row"}},
)
async def export_csv(
    case_id: CaseId,
    pool: PoolDep,
    principal: Reader,
    range_from: FromQuery,
    range_to: ToQuery,
    purpose: PurposeQuery,
    datum: DatumQuery = Datum.WGS84,
) -> StreamingResponse:
    return await _export(
        pool=pool, principal=principal, case_id=case_id, range_from=range_from,
        range_to=range_to, purpose=purpose, fmt="csv", media_type="text/csv; charset=utf-8",
        datum=datum,
    )  # fmt: skip


@router.get(
    "/cases/{case_id}/track.gpx",
    summary="A case's fixes in [from, to) as GPX 1.1, streamed",
    description="``metadata/keywords`` holds ``datum=...``, the datum of the coordinates.",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/gpx+xml": {}}, "description": "GPX 1.1 track"}},
)
async def export_gpx(
    case_id: CaseId,
    pool: PoolDep,
    principal: Reader,
    range_from: FromQuery,
    range_to: ToQuery,
    purpose: PurposeQuery,
    datum: DatumQuery = Datum.WGS84,
) -> StreamingResponse:
    return await _export(
        pool=pool, principal=principal, case_id=case_id, range_from=range_from,
        range_to=range_to, purpose=purpose, fmt="gpx", media_type="application/gpx+xml",
        datum=datum,
    )  # fmt: skip
