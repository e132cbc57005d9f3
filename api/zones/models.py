"""Schemas of the zones domain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from geofence.datum import Datum
from geofence.models import ZoneKind


class ZoneIn(BaseModel):
    """A zone drawn on a map: a GeoJSON geometry or Feature in ``datum``.

    polygon: Polygon or MultiPolygon; circle: the centre Point with ``radius_m``; corridor: a
    LineString buffered by ``width_m`` (metres). Maps in China draw in GCJ-02 (Amap, Tencent) or
    BD-09 (Baidu): declare it, or the zone is ~600 m off.
    """

    name: str = Field(min_length=1, max_length=200)
    kind: ZoneKind
    datum: Datum
    geojson: dict[str, Any] = Field(description="GeoJSON geometry or Feature, [lon, lat]")
    radius_m: float | None = Field(default=None, description="circle radius, metres")
    width_m: float | None = Field(default=None, description="corridor width, metres")
    unit_id: int | None = Field(default=None, ge=1, le=2**62, description="default: yours")
    properties: dict[str, Any] = Field(default_factory=dict, description="free annotations")


class ZoneOut(BaseModel):
    """A zone as a GeoJSON Feature-like record; ``geometry`` is in ``datum``."""

    id: int
    unit_id: int
    name: str
    kind: ZoneKind
    datum: Datum = Field(description="datum of ``geometry`` in this response")
    geometry: dict[str, Any]
    radius_m: float | None
    width_m: float | None
    source_datum: Datum = Field(description="datum it was drawn in")
    properties: dict[str, Any]
    created_at: datetime
