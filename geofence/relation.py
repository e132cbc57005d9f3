"""Vectorised relation of fix disks to zones: inside, outside or uncertain.

A fix is a disk of radius ``K_SIGMA * acc`` around its reported position. ``acc`` is the 68% radius
of the fix; for a circular Gaussian error the 68% radius is 1.51 sigma and twice it is 3.0 sigma, a
radius that holds ~99% of positions; real errors have heavier tails (multipath, cell towers), for
which the same radius holds ~95%. So with ``K_SIGMA = 2`` a fix called *outside* is outside with
~95% confidence or better, which keeps wrong alarms rare while a GNSS fix (acc 5-20 m) is still
certain anywhere but within tens of metres of a boundary.

Relation of a disk of radius r centred at p to an area A, with sd(p) the signed distance from p
to A's boundary (positive inside): *inside* if sd(p) > r, *outside* if -sd(p) > r, else
*uncertain*.

Polygons and corridors are compiled once (``CompiledArea``): projected to a local transverse
Mercator, prepared, and given a signed-distance grid over longitude/latitude (``geofence.grid``).
The grid answers most fixes with array lookups and no projection (sd is 1-Lipschitz, so the cell
centre's value +- the cell's reach bounds it, and in the fine cells near the boundary +- the fix's
own distance from the centre); only fixes near the boundary are projected and go to one
vectorised exact shapely call (``contains_xy`` + ``dwithin``), so results equal the exact test.
Circles are evaluated in numpy directly.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

from geofence.geodesy import (
    FloatArray,
    local_projection,
    plane_offsets_m,
)
from geofence.grid import UNDECIDED, DegreeGrid
from geofence.models import Zone, ZoneKind
from geofence.prefilter import Box, far_from_boxes, segments_meet_boxes

K_SIGMA = 2.0
"""Fix disk radius in units of the reported 68% accuracy radius (see module docstring)."""

INSIDE = np.int8(0)
OUTSIDE = np.int8(1)
UNCERTAIN = np.int8(2)

RelArray = npt.NDArray[np.int8]
BoolArray = npt.NDArray[np.bool_]

_GRID_CELLS = 256
_SMALL_GRID_CELLS = 64
_SMALL_ZONE_VERTICES = 256
_GRID_MARGIN_M = 3_000.0  # how far the degree grid reaches beyond a zone, at most (metres)
_GRID_MARGIN_MIN_M = 200.0
_CORRIDOR_QUAD_SEGS = 16
_EROSION_LADDER_M = (0.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0)


def disk_radius(acc: FloatArray) -> FloatArray:
    """Radius in metres of the fix disk for 68% accuracy radii ``acc`` (metres)."""
    return np.asarray(K_SIGMA * np.maximum(acc, 0.0), dtype=np.float64)


def classify(signed_distance: FloatArray, radius: FloatArray) -> RelArray:
    """Relation codes from exact signed distances (m, positive inside) and disk radii (m)."""
    out = np.full(signed_distance.shape, UNCERTAIN, dtype=np.int8)
    out[signed_distance > radius] = INSIDE
    out[-signed_distance > radius] = OUTSIDE
    return out


class CompiledArea:
    """A polygon or corridor zone ready for vectorised relation and crossing tests."""

    def __init__(self, zone: Zone, *, refine: bool | None = None) -> None:
        """Compile ``zone``; ``refine`` forces the grid's refinement on or off (default: on for
        zones of more than ``_SMALL_ZONE_VERTICES`` vertices)."""
        if zone.kind is ZoneKind.CIRCLE:
            raise ValueError("circles are evaluated by relate_circles, not compiled as areas")
        self.zone_id = zone.zone_id
        centroid = zone.geometry.centroid
        self.projection = local_projection(round(centroid.x, 3), round(centroid.y, 3))
        projected = shapely.transform(zone.geometry, self._project_coords)
        if zone.kind is ZoneKind.CORRIDOR:
            assert zone.width_m is not None
            projected = shapely.buffer(projected, zone.width_m / 2.0, quad_segs=_CORRIDOR_QUAD_SEGS)
        self.area: BaseGeometry = projected
        self.boundary: BaseGeometry = shapely.boundary(projected)
        shapely.prepare(self.area)
        shapely.prepare(self.boundary)
        self.bounds = np.asarray(shapely.bounds(projected), dtype=np.float64)
        # The degree box must hold the projected area's preimage, whose straight edges bow out of
        # the box of the vertices (by metres on long edges): densify, map back, take the bounds.
        step = max(float(np.max(self.bounds[2:] - self.bounds[:2])) / 2000.0, 1.0)
        dense = shapely.get_coordinates(shapely.segmentize(projected, step))
        lons, lats = self.projection.inverse(dense[:, 0], dense[:, 1])
        min_lon, min_lat, max_lon, max_lat = shapely.bounds(zone.geometry)
        min_lon, max_lon = min(min_lon, float(lons.min())), max(max_lon, float(lons.max()))
        min_lat, max_lat = min(min_lat, float(lats.min())), max(max_lat, float(lats.max()))
        self.lon_mid, self.lon_half = (min_lon + max_lon) / 2, (max_lon - min_lon) / 2
        self.lat_mid, self.lat_half = (min_lat + max_lat) / 2, (max_lat - min_lat) / 2
        self.box: Box = (self.lon_mid, self.lon_half, self.lat_mid, self.lat_half)
        self.cos_floor = math.cos(math.radians(max(abs(min_lat), abs(max_lat))))
        self._eroded: dict[float, BaseGeometry] = {}
        self._build_grid(shapely.get_num_coordinates(self.boundary), refine)

    def _project_coords(self, coords: FloatArray) -> FloatArray:
        x, y = self.projection.forward(coords[:, 0], coords[:, 1])
        return np.column_stack((x, y))

    def _build_grid(self, vertices: int, refine: bool | None) -> None:
        large = vertices > _SMALL_ZONE_VERTICES
        cells = _GRID_CELLS if large else _SMALL_GRID_CELLS
        minx, miny, maxx, maxy = self.bounds
        margin = min(max(0.25 * max(maxx - minx, maxy - miny), _GRID_MARGIN_MIN_M), _GRID_MARGIN_M)
        lon_lat_bounds = (
            self.lon_mid - self.lon_half,
            self.lat_mid - self.lat_half,
            self.lon_mid + self.lon_half,
            self.lat_mid + self.lat_half,
        )
        self.grid = DegreeGrid(
            lon_lat_bounds,
            cells,
            margin,
            self.project,
            self._signed_distance,
            refine=large if refine is None else refine,
        )

    def _signed_distance(self, x: FloatArray, y: FloatArray) -> FloatArray:
        """Exact signed distances (m, positive inside) of projected points to the boundary."""
        tree = shapely.STRtree(_segments(self.boundary))
        _, dist = tree.query_nearest(shapely.points(x, y), return_distance=True, all_matches=False)
        inside = shapely.contains_xy(self.area, x, y)
        return np.asarray(np.where(inside, dist, -dist), dtype=np.float64)

    def project(self, lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Fix positions in this zone's local projection, metres."""
        return self.projection.forward(lon, lat)

    def relate_xy(self, x: FloatArray, y: FloatArray, radius: FloatArray) -> RelArray:
        """Relation codes of disks of ``radius`` metres centred at projected (x, y), exactly:
        one vectorised ``contains_xy`` and one ``dwithin`` against the boundary.

        No box test comes first: the disks that get here are the few that the degree grid and
        ``far_from`` left, near the boundary, which a projected box test would not settle.
        """
        # points from one (n, 2) array: half the cost of shapely.points(x, y) on a few points
        near = shapely.dwithin(self.boundary, shapely.points(np.column_stack((x, y))), radius)
        outside = np.logical_not(shapely.contains_xy(self.area, x, y))
        out: RelArray = outside.view(np.int8)  # INSIDE 0, OUTSIDE 1
        out[near] = UNCERTAIN
        return out

    def relate(self, lon: FloatArray, lat: FloatArray, radius: FloatArray) -> RelArray:
        """Relation codes of fix disks (degrees, radius in metres) to this zone.

        The degree grid settles most disks with two array lookups, ``far_from`` those it left
        that are wider than its reach beyond the zone, ``relate_exact`` the rest. Both
        prefilters are conservative, so the result equals the exact test's.
        """
        out = self.grid.classify(lon, lat, radius)
        idx = (out == UNDECIDED).nonzero()[0]
        if idx.size:
            far = self.far_from(lon[idx], lat[idx], radius[idx])
            out[idx[far]] = OUTSIDE
            idx = idx[~far]
            out[idx] = self.relate_exact(lon[idx], lat[idx], radius[idx])
        return out

    def relate_exact(self, lon: FloatArray, lat: FloatArray, radius: FloatArray) -> RelArray:
        """``relate`` without the prefilters: the disks are projected and tested exactly
        (``relate_xy``). For the disks that the grid and ``far_from`` leave undecided."""
        x, y = self.project(lon, lat)
        return self.relate_xy(x, y, radius)

    def far_from(self, lon: FloatArray, lat: FloatArray, radius: FloatArray) -> BoolArray:
        """True where a fix disk is certainly outside, judged on the zone's degree bounding box.

        The box holds the preimage of the projected area (edges densified, so the bow of a long
        straight edge is inside it). The distance to the box is bounded from below with the
        smallest metres per degree the ellipsoid has there (a cos(latitude) floor for longitude),
        less 1% for the flat-plane approximation and ``BOX_SLACK_M`` for the bow of the densified
        pieces, so this prefilter never calls a disk outside that is not.
        """
        return far_from_boxes(lon, lat, radius, self.box, self.cos_floor)

    def segments_near(
        self, lon0: FloatArray, lat0: FloatArray, lon1: FloatArray, lat1: FloatArray
    ) -> BoolArray:
        """True where a segment's degree bounding box meets the zone's (crossing candidates)."""
        return segments_meet_boxes(lon0, lat0, lon1, lat1, self.box)

    def crosses_xy(
        self, x0: FloatArray, y0: FloatArray, x1: FloatArray, y1: FloatArray, radius: FloatArray
    ) -> BoolArray:
        """True where the segment (x0, y0)-(x1, y1) certainly passes through the area.

        Certain means it meets the area eroded by ``radius`` (rounded up to a ladder of cached
        erosions), so the crossing holds wherever within their disks the two fixes really were.
        """
        minx, miny, maxx, maxy = self.bounds
        out = np.zeros(x0.shape, dtype=bool)
        near = (
            (np.minimum(x0, x1) <= maxx)
            & (np.maximum(x0, x1) >= minx)
            & (np.minimum(y0, y1) <= maxy)
            & (np.maximum(y0, y1) >= miny)
        )
        ladder = np.asarray(_EROSION_LADDER_M)
        step = np.searchsorted(ladder, radius, side="left")
        for level in np.unique(step[near]):
            if level >= len(ladder):
                continue
            idx = (near & (step == level)).nonzero()[0]
            eroded = self._eroded_by(float(ladder[level]))
            if eroded.is_empty:
                continue
            lines = shapely.linestrings(
                np.stack(
                    [np.column_stack((x0[idx], y0[idx])), np.column_stack((x1[idx], y1[idx]))],
                    axis=1,
                )
            )
            out[idx] = shapely.intersects(eroded, lines)
        return out

    def _eroded_by(self, metres: float) -> BaseGeometry:
        if metres not in self._eroded:
            eroded = self.area if metres == 0.0 else shapely.buffer(self.area, -metres)
            shapely.prepare(eroded)
            self._eroded[metres] = eroded
        return self._eroded[metres]


def _segments(boundary: BaseGeometry) -> npt.NDArray[np.object_]:
    """The boundary's straight segments as separate LineStrings (for a nearest-segment index).

    Rings are taken part by part, so no segment joins the end of one ring to the next: the
    grid's upper bounds of the distance to the boundary rely on that.
    """
    coords, index = shapely.get_coordinates(shapely.get_parts(boundary), return_index=True)
    same = index[:-1] == index[1:]
    starts = coords[:-1][same]
    ends = coords[1:][same]
    return np.asarray(shapely.linestrings(np.stack([starts, ends], axis=1)))


def relate_circles(
    lon: FloatArray,
    lat: FloatArray,
    radius: FloatArray,
    centre_lon: FloatArray,
    centre_lat: FloatArray,
    circle_m: FloatArray,
) -> RelArray:
    """Relation codes of fix disks to circles, one circle per fix (all arrays of equal length)."""
    dx, dy = plane_offsets_m(lon, lat, centre_lon, centre_lat)
    return classify(circle_m - np.hypot(dx, dy), radius)


def circle_crossings(
    lon0: FloatArray,
    lat0: FloatArray,
    lon1: FloatArray,
    lat1: FloatArray,
    radius: FloatArray,
    centre_lon: FloatArray,
    centre_lat: FloatArray,
    circle_m: FloatArray,
) -> BoolArray:
    """True where the segment between two fixes certainly passes through its circle.

    The segment must come within ``circle_m - radius`` of the centre (``radius`` being the larger
    of the two fix disks), in the plane tangent at the centre.
    """
    ax, ay = plane_offsets_m(lon0, lat0, centre_lon, centre_lat)
    bx, by = plane_offsets_m(lon1, lat1, centre_lon, centre_lat)
    vx, vy = bx - ax, by - ay
    length2 = vx * vx + vy * vy
    t = np.clip(-(ax * vx + ay * vy) / np.where(length2 > 0, length2, 1.0), 0.0, 1.0)
    closest = np.hypot(ax + t * vx, ay + t * vy)
    return np.asarray(closest < circle_m - radius, dtype=bool)


def relate_distance(
    lon: FloatArray,
    lat: FloatArray,
    radius: FloatArray,
    other_lon: FloatArray,
    other_lat: FloatArray,
    other_radius: FloatArray,
    min_distance_m: FloatArray,
) -> RelArray:
    """Relation codes of fixes to "closer than ``min_distance_m`` to another fix".

    INSIDE means certainly too close (even at the far edges of both disks), OUTSIDE certainly far
    enough, UNCERTAIN otherwise. Uses the tangent plane at the other fix (accurate to centimetres
    within 10 km, where the decision is taken).
    """
    dx, dy = plane_offsets_m(lon, lat, other_lon, other_lat)
    return classify(min_distance_m - np.hypot(dx, dy), radius + other_radius)
