"""Zone input: GeoJSON with a declared datum in, a validated WGS84 ``Zone`` out, or a ``ZoneError``.

Accepted input (a geometry or a Feature whose ``properties`` may carry the size):

* ``Polygon`` / ``MultiPolygon``: a city, county or any area. Rings must be closed with at least
  four positions. Ring orientation is normalised (exteriors counter-clockwise, holes clockwise).
  A self-intersecting boundary is repaired only when the repair keeps the area (a spike or a
  touching ring, within 0.5%); otherwise it is refused, since guessing which side is inside could
  turn a whole county into a violation.
* ``Point`` with ``radius_m``: a circle (e.g. a victim's home), 1 m to 100 km.
* ``LineString`` with ``width_m``: a corridor (the full width, centred on the line), 1 m to 10 km.

Coordinates must be finite, longitude in [-180, 180] and latitude within 85 degrees of the equator.
They are converted once from the declared datum (wgs84, gcj02, bd09) to WGS84. A zone crossing the
antimeridian (given wrapped, or split into parts at +-180) is unwrapped into continuous longitudes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from geofence.datum import Datum, to_wgs84
from geofence.errors import ZoneError
from geofence.models import Zone, ZoneKind

MAX_LATITUDE = 85.0
MAX_EXTENT_DEG = 20.0
"""Largest extent of a zone in latitude or longitude: a province fits, a continent does not."""
REPAIR_AREA_TOLERANCE = 0.005
MAX_RADIUS_M = 100_000.0
MAX_WIDTH_M = 10_000.0


def _coords(raw: Any, where: str) -> np.ndarray:
    """An (n, 2) float array of positions; altitude is dropped; malformed input is refused."""
    if not isinstance(raw, Sequence) or not raw:
        raise ZoneError(f"{where}: expected a non-empty list of positions")
    rows = []
    for pos in raw:
        if not isinstance(pos, Sequence) or len(pos) not in (2, 3):
            raise ZoneError(f"{where}: a position must be [lon, lat] or [lon, lat, alt]")
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in pos):
            raise ZoneError(f"{where}: coordinates must be numbers")
        rows.append((float(pos[0]), float(pos[1])))
    arr = np.asarray(rows, dtype=np.float64)
    if not np.isfinite(arr).all():
        raise ZoneError(f"{where}: coordinates must be finite")
    if (np.abs(arr[:, 0]) > 180.0).any():
        raise ZoneError(f"{where}: longitude out of range [-180, 180]")
    if (np.abs(arr[:, 1]) > MAX_LATITUDE).any():
        raise ZoneError(f"{where}: latitude beyond {MAX_LATITUDE} degrees is not supported")
    return arr


def _ring(raw: Any, where: str) -> np.ndarray:
    arr = _coords(raw, where)
    if len(arr) < 4:
        raise ZoneError(f"{where}: a ring needs at least 4 positions (closed triangle)")
    if not np.array_equal(arr[0], arr[-1]):
        raise ZoneError(f"{where}: ring is not closed (first and last positions differ)")
    return arr


def _polygons(geometry: Mapping[str, Any]) -> list[list[np.ndarray]]:
    kind = geometry.get("type")
    coords = geometry.get("coordinates")
    if kind == "Polygon":
        parts = [coords]
    elif kind == "MultiPolygon":
        if not isinstance(coords, Sequence) or not coords:
            raise ZoneError("MultiPolygon: expected a non-empty list of polygons")
        parts = list(coords)
    else:
        raise ZoneError(f"unsupported geometry type {kind!r} for a polygon zone")
    out = []
    for i, poly in enumerate(parts):
        if not isinstance(poly, Sequence) or not poly:
            raise ZoneError(f"polygon {i}: expected a list of rings")
        out.append([_ring(r, f"polygon {i} ring {j}") for j, r in enumerate(poly)])
    return out


def _to_wgs84(arrays: list[np.ndarray], datum: Datum) -> list[np.ndarray]:
    out = []
    for arr in arrays:
        lon, lat = to_wgs84(datum, arr[:, 0], arr[:, 1])
        out.append(np.column_stack((lon, lat)))
    return out


def _unwrap(arrays: list[np.ndarray]) -> list[np.ndarray]:
    """Make longitudes continuous across the antimeridian relative to the first position."""
    ref = arrays[0][0, 0]
    out = []
    for arr in arrays:
        fixed = arr.copy()
        # Whole turns only, so a vertex given at -180 lands exactly on 180 (seams stay closed).
        fixed[:, 0] = arr[:, 0] + 360.0 * np.round((ref - arr[:, 0]) / 360.0)
        out.append(fixed)
    lons = np.concatenate([a[:, 0] for a in out])
    lats = np.concatenate([a[:, 1] for a in out])
    if np.ptp(lons) > MAX_EXTENT_DEG or np.ptp(lats) > MAX_EXTENT_DEG:
        raise ZoneError(f"zone is larger than {MAX_EXTENT_DEG} degrees across")
    if lons.min() < -180.0:
        for arr in out:
            arr[:, 0] += 360.0
    return out


def _polygon_geometry(rings: list[list[np.ndarray]], datum: Datum) -> BaseGeometry:
    flat = _unwrap(_to_wgs84([r for poly in rings for r in poly], datum))
    polys, i = [], 0
    for poly in rings:
        polys.append(shapely.Polygon(flat[i], flat[i + 1 : i + len(poly)]))
        i += len(poly)
    geom: BaseGeometry = polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)
    if not geom.is_valid:
        reason = shapely.is_valid_reason(geom)
        repaired = shapely.make_valid(geom)
        polygonal = shapely.union_all(
            [g for g in shapely.get_parts(repaired) if g.geom_type in ("Polygon", "MultiPolygon")]
        )
        area = geom.area
        if polygonal.is_empty or abs(polygonal.area - area) > REPAIR_AREA_TOLERANCE * max(
            polygonal.area, 1e-300
        ):
            raise ZoneError(
                f"boundary intersects itself ({reason}); repairing it would change the area, "
                "so which side is inside is ambiguous: redraw the boundary"
            )
        geom = polygonal
    # Parts split at the antimeridian (or merely touching) are merged into one area.
    geom = shapely.union_all(shapely.get_parts(geom)) if geom.geom_type == "MultiPolygon" else geom
    if geom.is_empty or geom.area <= 0.0:
        raise ZoneError("zone has no area")
    return shapely.orient_polygons(geom, exterior_cw=False)


def _size(name: str, value: Any, upper: float) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or not np.isfinite(value):
        raise ZoneError(f"{name} must be a number of metres")
    if not 1.0 <= value <= upper:
        raise ZoneError(f"{name} must be between 1 and {upper:g} m")
    return float(value)


def parse_zone(
    zone_id: int,
    geojson: Mapping[str, Any],
    *,
    datum: Datum | str,
    radius_m: float | None = None,
    width_m: float | None = None,
    name: str = "",
) -> Zone:
    """Validate a GeoJSON geometry or Feature drawn in ``datum`` and return it as a WGS84 ``Zone``.

    ``radius_m`` (circle) and ``width_m`` (corridor) may also come from the Feature's properties.
    Raises ``ZoneError`` with a human-readable reason when the input cannot be used safely.
    """
    try:
        declared = Datum(datum)
    except ValueError as exc:
        raise ZoneError(f"unknown datum {datum!r}: use wgs84, gcj02 or bd09") from exc
    props: Mapping[str, Any] = {}
    geometry: Any = geojson
    if geojson.get("type") == "Feature":
        geometry = geojson.get("geometry")
        props = geojson.get("properties") or {}
    if not isinstance(geometry, Mapping):
        raise ZoneError("missing geometry")
    kind = geometry.get("type")
    if kind == "Point":
        centre = _to_wgs84([_coords([geometry.get("coordinates")], "circle centre")], declared)[0]
        radius = _size(
            "radius_m", radius_m if radius_m is not None else props.get("radius_m"), MAX_RADIUS_M
        )
        return Zone(
            zone_id, ZoneKind.CIRCLE, shapely.Point(centre[0]), declared, radius_m=radius, name=name
        )
    if kind == "LineString":
        line = _unwrap(_to_wgs84([_coords(geometry.get("coordinates"), "corridor")], declared))[0]
        if len(np.unique(line, axis=0)) < 2:
            raise ZoneError("corridor: the line needs at least two distinct positions")
        width = _size(
            "width_m", width_m if width_m is not None else props.get("width_m"), MAX_WIDTH_M
        )
        return Zone(
            zone_id, ZoneKind.CORRIDOR, shapely.LineString(line), declared, width_m=width, name=name
        )
    return Zone(
        zone_id,
        ZoneKind.POLYGON,
        _polygon_geometry(_polygons(geometry), declared),
        declared,
        name=name,
    )
