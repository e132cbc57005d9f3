"""Factories for geofence tests: fixes along a timeline, zones around a town, a driven engine."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np

from geofence.engine import GeofenceEngine
from geofence.events import EventKind, GeofenceEvent
from geofence.models import Fix, Grace, Rule, RuleKind, Zone
from geofence.zones import parse_zone

T0 = datetime(2024, 5, 6, 2, 0, tzinfo=UTC)  # Monday 10:00 in Asia/Shanghai
LON0, LAT0 = 118.67, 37.43  # Dongying
M_PER_DEG_LAT = 111_000.0


def at(seconds: float) -> datetime:
    """T0 plus ``seconds``."""
    return T0 + timedelta(seconds=seconds)


def offset(
    east_m: float, north_m: float, lon0: float = LON0, lat0: float = LAT0
) -> tuple[float, float]:
    """(lon, lat) about ``east_m``/``north_m`` metres from (lon0, lat0) (sphere approximation)."""
    lat = lat0 + north_m / M_PER_DEG_LAT
    lon = lon0 + east_m / (M_PER_DEG_LAT * np.cos(np.radians(lat0)))
    return float(lon), float(lat)


def fix(
    east_m: float,
    north_m: float = 0.0,
    *,
    t: float = 0.0,
    acc: float = 10.0,
    seq: int | None = None,
    device: str = "w1",
    case: int = 1,
    lon0: float = LON0,
    lat0: float = LAT0,
) -> Fix:
    """A fix ``east_m``/``north_m`` metres from (lon0, lat0) at T0 + ``t`` seconds."""
    lon, lat = offset(east_m, north_m, lon0, lat0)
    when = at(t)
    return Fix(device, case, when, int(t) if seq is None else seq, lon, lat, acc, "gnss", when)


def square(zone_id: int, half_m: float, *, hole_m: float | None = None) -> Zone:
    """A square zone of half-side ``half_m`` metres centred on (LON0, LAT0), optionally holed."""

    def ring(h: float, ccw: bool = True) -> list[list[float]]:
        pts = [offset(-h, -h), offset(h, -h), offset(h, h), offset(-h, h)]
        if not ccw:
            pts.reverse()
        return [list(p) for p in [*pts, pts[0]]]

    rings = [ring(half_m)] + ([ring(hole_m, ccw=False)] if hole_m else [])
    return parse_zone(zone_id, {"type": "Polygon", "coordinates": rings}, datum="wgs84")


def circle(zone_id: int, radius_m: float, east_m: float = 0.0) -> Zone:
    """A circle of ``radius_m`` centred ``east_m`` east of (LON0, LAT0)."""
    lon, lat = offset(east_m, 0.0)
    point = {"type": "Point", "coordinates": [lon, lat]}
    return parse_zone(zone_id, point, datum="wgs84", radius_m=radius_m)


def rule(
    rule_id: int,
    kind: RuleKind,
    zone_id: int | None = 1,
    *,
    case: int = 1,
    n: int = 2,
    secs: float = 0.0,
    **kwargs: object,
) -> Rule:
    """A rule with a count grace of ``n`` fixes (and ``secs`` seconds) to open and to clear."""
    grace = Grace(n, secs, n, secs)
    return Rule(rule_id, case, kind, zone_id, grace, **kwargs)  # type: ignore[arg-type]


def engine(rules: Sequence[Rule], zones: Sequence[Zone]) -> GeofenceEngine:
    """An engine with ``rules`` and ``zones`` installed."""
    e = GeofenceEngine()
    e.set_rules(rules, zones)
    return e


def kinds(events: Sequence[GeofenceEvent]) -> list[EventKind]:
    """The kinds of ``events`` in order."""
    return [e.kind for e in events]


def run(e: GeofenceEngine, fixes: Sequence[Fix], batch: int = 1) -> list[GeofenceEvent]:
    """Feed ``fixes`` to ``e`` in batches of ``batch`` (in the given order); all events."""
    events: list[GeofenceEvent] = []
    for i in range(0, len(fixes), batch):
        events.extend(e.evaluate(fixes[i : i + batch]).events)
    return events
