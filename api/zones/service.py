"""Zones: validated and converted to WGS84 by ``geofence.zones.parse_zone`` on input; served
converted back to the datum a client asks for."""

from __future__ import annotations

from typing import Any

import asyncpg
import shapely
from shapely.geometry import mapping, shape

from api.auth.models import Principal
from api.cases.service import may_manage_unit, scope_args
from api.errors import BadRequestError, NotFoundError
from api.zones.models import ZoneIn, ZoneOut
from geofence.datum import Datum, geometry_from_wgs84
from geofence.errors import ZoneError
from geofence.zones import parse_zone
from store import zones as sql


class InvalidZoneError(BadRequestError):
    """The geometry was refused by the geofence package (422 with its reason)."""

    status = 422
    title = "Invalid zone"


async def get_visible(
    *, conn: asyncpg.Connection, principal: Principal, zone_id: int
) -> asyncpg.Record:
    row: asyncpg.Record | None = await conn.fetchrow(
        sql.SELECT_VISIBLE, zone_id, *scope_args(principal)
    )
    if row is None:
        raise NotFoundError(f"no zone {zone_id}")
    return row


def out(row: Any, datum: Datum) -> ZoneOut:
    """A stored zone with its geometry converted from WGS84 to ``datum``."""
    geometry = row["geometry"]
    if datum is not Datum.WGS84:
        geometry = mapping(geometry_from_wgs84(datum, shape(geometry)))
    return ZoneOut.model_validate({**dict(row), "geometry": geometry, "datum": datum})


async def create(*, conn: asyncpg.Connection, principal: Principal, zone: ZoneIn) -> asyncpg.Record:
    """Validate (422 with the reason), convert to WGS84 and store a zone for a unit the caller
    manages."""
    unit_id = zone.unit_id or principal.unit_id
    if not await may_manage_unit(conn=conn, principal=principal, unit_id=unit_id):
        raise BadRequestError(f"you do not manage unit {unit_id}")
    try:
        parsed = parse_zone(
            0, zone.geojson, datum=zone.datum, radius_m=zone.radius_m, width_m=zone.width_m,
            name=zone.name,
        )  # fmt: skip
    except ZoneError as exc:
        raise InvalidZoneError(exc.reason) from exc
    except (TypeError, ValueError, shapely.errors.GEOSException) as exc:
        raise InvalidZoneError(f"the geometry cannot be read: {exc}") from exc
    if parsed.kind is not zone.kind:
        raise InvalidZoneError(
            f"kind {zone.kind.value} does not match the geometry (a {parsed.kind.value})"
        )
    row: asyncpg.Record = await conn.fetchrow(
        sql.INSERT_ZONE, unit_id, zone.name, zone.kind.value, mapping(parsed.geometry),
        parsed.radius_m, parsed.width_m, zone.datum.value, zone.geojson, zone.properties,
    )  # fmt: skip
    return row
