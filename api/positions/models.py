"""Schemas of the latest positions domain."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from geofence.datum import Datum


class LatestPosition(BaseModel):
    """A case and the newest fix of its watch (``lon``/``lat`` in ``datum``; null fields: no
    watch or no fix yet)."""

    case_id: int
    case_number: str
    status: str
    supervising_unit_id: int
    device_id: str | None
    fix_time: datetime | None = Field(description="device time of the newest fix (UTC)")
    lon: float | None
    lat: float | None
    datum: Datum = Field(description="datum of lon/lat: wgs84 (stored), gcj02 or bd09")
    acc_m: float | None = Field(description="68% accuracy radius, metres")
    src: str | None = Field(description="gnss|bds|lbs|wifi")
    last_seen_at: datetime | None = Field(description="last message of any kind from the watch")
    battery_pct: int | None
    charging: bool | None
    strap_closed: bool | None
