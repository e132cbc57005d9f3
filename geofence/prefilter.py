"""Conservative degree-space tests that let the engine skip exact geometry.

Each test answers "certainly so" or "cannot tell" from longitude/latitude differences, using
lower bounds of metres per degree on WGS84 (the smallest radii of curvature, a cos(latitude)
floor) and a small margin for rounding, so a "certainly" agrees with the exact computation it
stands in for (``relation.relate_circles``, ``relation.circle_crossings``, the projected area).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from geofence.geodesy import WGS84_A, WGS84_E2, FloatArray, wrap_degrees

BoolArray = npt.NDArray[np.bool_]
Box = tuple[FloatArray | float, FloatArray | float, FloatArray | float, FloatArray | float]
"""A degree box ``(lon_mid, lon_half, lat_mid, lat_half)``: one, or one per segment."""

BOX_SLACK_M = 0.05
"""Rounding and the bow of densified edges in bounding-box tests, metres."""
M_PER_DEG_LAT_MIN = 110_574.0  # meridian degree at the equator, the shortest on WGS84
M_PER_DEG_LON_EQ = 111_319.0  # equatorial degree; times cos(latitude) a lower bound elsewhere
_RAD = math.pi / 180.0
_M_PER_DEG_LAT_MIN_EXACT = _RAD * WGS84_A * (1.0 - WGS84_E2)  # a(1-e^2) per degree, ~110,574 m


def far_from_boxes(
    lon: FloatArray,
    lat: FloatArray,
    radius: FloatArray,
    box: Box,
    cos_floor: FloatArray | float,
) -> BoolArray:
    """``CompiledArea.far_from`` with the box and cos floor given per fix (or one for all)."""
    lon_mid, lon_half, lat_mid, lat_half = box
    dlon = np.maximum(np.abs(wrap_degrees(lon - lon_mid)) - lon_half, 0.0)
    dlat = np.maximum(np.abs(lat - lat_mid) - lat_half, 0.0)
    cos = np.minimum(np.cos(np.radians(lat)), cos_floor)
    lower = 0.99 * np.hypot(dlon * M_PER_DEG_LON_EQ * cos, dlat * M_PER_DEG_LAT_MIN)
    return np.asarray(lower - BOX_SLACK_M > radius, dtype=bool)


def segments_meet_boxes(
    lon0: FloatArray,
    lat0: FloatArray,
    lon1: FloatArray,
    lat1: FloatArray,
    box: Box,
) -> BoolArray:
    """True where a segment's degree bounding box meets its box (crossing candidates).

    ``box`` is ``(lon_mid, lon_half, lat_mid, lat_half)`` in degrees, one per segment (or one for
    all); longitudes are compared wrapped around ``lon_mid``.
    """
    lon_mid, lon_half, lat_mid, lat_half = box
    a = wrap_degrees(lon0 - lon_mid)
    b = wrap_degrees(lon1 - lon_mid)
    return np.asarray(
        (np.minimum(a, b) <= lon_half)
        & (np.maximum(a, b) >= -lon_half)
        & (np.minimum(lat0, lat1) <= lat_mid + lat_half)
        & (np.maximum(lat0, lat1) >= lat_mid - lat_half),
        dtype=bool,
    )


CIRCLE_BOX_LAT_DEG = 1.0
"""``circle_box`` holds for segments whose ends are within this many degrees of latitude of the
circle's centre (crossings keep every other segment as a candidate)."""


def circle_box(centre_lat: FloatArray, circle_m: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Half sizes (degrees of longitude, latitude) of a box no segment can skip to near a circle,
    for segments whose ends are within ``CIRCLE_BOX_LAT_DEG`` of the centre's latitude.

    A segment whose degree box misses the box ``centre +- halves`` stays ``circle_m`` metres or
    more from the centre in the plane of ``plane_offsets_m``, so ``circle_crossings`` (which needs
    it closer than ``circle_m - radius``) rejects it. There an end's east offset is at least
    |dlon| * a * cos(|centre latitude| + ``CIRCLE_BOX_LAT_DEG``) (``circle_lon_metres``) and its
    north offset at least |dlat| * a * (1 - e^2) (radians times the smallest radii of
    curvature); both vary linearly along the segment, so two ends beyond ``circle_m`` on one side
    keep the whole segment beyond. A 0.1% margin covers rounding. The box depends on the circle
    only, so it is computed once per rule (``RuleBook.cross_box``).
    """
    reach = 1.001 * circle_m
    per_deg_lon = np.maximum(circle_lon_metres(centre_lat), 1e-9)
    return reach / per_deg_lon, reach / _M_PER_DEG_LAT_MIN_EXACT


def circle_lon_metres(centre_lat: FloatArray) -> FloatArray:
    """Fewest metres per degree of longitude within ``CIRCLE_BOX_LAT_DEG`` (1 degree) of
    latitude of each centre.

    That is ``a * cos(|lat| + 1)`` in radians: the prime-vertical radius is at least ``a``.
    """
    steepest = np.minimum(np.abs(centre_lat) + CIRCLE_BOX_LAT_DEG, 90.0)
    return np.asarray(_RAD * WGS84_A * np.cos(np.radians(steepest)), dtype=np.float64)


def circles_far(
    lon: FloatArray,
    lat: FloatArray,
    radius: FloatArray,
    centre: tuple[FloatArray, FloatArray, FloatArray, FloatArray],
) -> BoolArray:
    """True where a fix disk is certainly outside its circle, from degree differences alone.

    ``centre`` is ``(lon, lat, circle_m, circle_lon_metres(lat))`` per fix. The distance of
    ``relate_circles`` is at least |dlat| * a(1 - e^2) (radians) and, within 1 degree of latitude
    of the centre, at least |dlon| times the fewest metres per degree there; 0.1% off covers
    rounding. Where this says True, ``relate_circles`` says OUTSIDE, without sin, cos or hypot.
    """
    centre_lon, centre_lat, circle_m, lon_metres = centre
    dlat = np.abs(lat - centre_lat)
    east = np.abs(wrap_degrees(lon - centre_lon)) * np.where(dlat <= 1.0, lon_metres, 0.0)
    lower = 0.999 * np.maximum(east, dlat * _M_PER_DEG_LAT_MIN_EXACT)
    return np.asarray(lower > circle_m + radius, dtype=bool)
