"""Datum conversions between WGS84 and the Chinese web-map datums GCJ-02 and BD-09.

Watches report WGS84 (EPSG:4326, longitude/latitude in degrees). Zones drawn on Chinese web maps
are in GCJ-02 (Amap/Gaode, Tencent) or BD-09 (Baidu), which are offset from WGS84 by a few hundred
metres by design. Zones are converted once, on input, to WGS84; a zone left in GCJ-02 is a false
alarm generator.

The algorithms are the published ones: the leaked GCJ-02 formula as implemented by the
eviltransform/coordtransform family (Krasovsky 1940 semi-major axis ``a = 6378245.0``,
``ee = 0.00669342162296594323``), and Baidu's BD-09 formula on top of GCJ-02. The forward
transforms are closed form; their inverses are solved by fixed-point iteration until the residual
is below ``1e-9`` degrees (~0.1 mm), not the usual one-step approximation (off by up to ~1-2 m for
GCJ-02).

Everything takes and returns ``(lon, lat)`` in degrees, in that order (GeoJSON order, not the
``(lat, lon)`` order of several reference implementations). Each function accepts Python floats or
numpy arrays of any equal shape and returns the same kind: floats in, floats out; arrays in, float64
arrays out.

Out-of-China test: GCJ-02 is applied only inside the rectangle CHINA_BOX, lon 72.004..137.8347,
lat 0.8293..55.8271 (bounds inclusive), the box used by eviltransform, coordTransform_py and
coord-convert. Outside it the GCJ-02 transforms return their input unchanged, as published. The box
is coarse (it includes e.g. parts of Mongolia and Korea, where real maps do not shift) and the
decision is taken on the input point, so within ~0.01 degrees of the box edges a round trip is not
guaranteed. The BD-09 step is applied everywhere, as in Baidu's published formula.

Pure: numpy and shapely only, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from enum import StrEnum
from typing import Any, TypeVar, cast

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

__all__ = [
    "CHINA_BOX",
    "Datum",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "from_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "geometry_from_wgs84",
    "geometry_to_wgs84",
    "in_china_box",
    "to_wgs84",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

FloatArray = npt.NDArray[np.float64]
Coord = TypeVar("Coord", float, FloatArray)
"""A coordinate in degrees: a float, or a float64 array of coordinates."""

CHINA_BOX = (72.004, 0.8293, 137.8347, 55.8271)
"""(min_lon, min_lat, max_lon, max_lat) in degrees inside which GCJ-02 is applied."""

_A = 6378245.0  # semi-major axis used by GCJ-02 (Krasovsky 1940), metres
_EE = 0.00669342162296594323  # first eccentricity squared used by GCJ-02
_X_PI = math.pi * 3000.0 / 180.0  # BD-09 constant

_TOLERANCE_DEG = 1e-9  # inverse iterations stop below this residual (~0.1 mm)
_MAX_ITERATIONS = 20  # convergence normally takes 2 to 4 iterations


class Datum(StrEnum):
    """The datum a zone was drawn in (stored with the zone; geometry itself is kept in WGS84)."""

    WGS84 = "wgs84"
    GCJ02 = "gcj02"
    BD09 = "bd09"


def _arrays(lon: Coord, lat: Coord) -> tuple[FloatArray, FloatArray, bool]:
    """Return float64 array copies of lon/lat and whether the inputs were scalars."""
    x = np.array(lon, dtype=np.float64)
    y = np.array(lat, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"lon and lat shapes differ: {x.shape} != {y.shape}")
    return x, y, x.ndim == 0


def _result(x: FloatArray, y: FloatArray, scalar: bool) -> tuple[Any, Any]:
    """Return floats for scalar input, arrays otherwise (typed by the public signatures)."""
    if scalar:
        return float(x), float(y)
    return x, y


def in_china_box(lon: Coord, lat: Coord) -> bool | npt.NDArray[np.bool_]:
    """True where (lon, lat) in degrees lies in CHINA_BOX, where GCJ-02 applies (NaN is outside)."""
    x = np.asarray(lon, dtype=np.float64)
    y = np.asarray(lat, dtype=np.float64)
    min_lon, min_lat, max_lon, max_lat = CHINA_BOX
    inside = (x >= min_lon) & (x <= max_lon) & (y >= min_lat) & (y <= max_lat)
    if inside.ndim == 0:
        return bool(inside)
    return inside


def _gcj02_offset(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """GCJ-02 minus WGS84, in degrees, at WGS84 (lon, lat); no out-of-China test."""
    x = lon - 105.0
    y = lat - 35.0
    common = (20.0 * np.sin(6.0 * x * math.pi) + 20.0 * np.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    dlat += common
    dlat += (20.0 * np.sin(y * math.pi) + 40.0 * np.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * math.pi) + 320.0 * np.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    dlon += common
    dlon += (20.0 * np.sin(x * math.pi) + 40.0 * np.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * math.pi) + 300.0 * np.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    rad_lat = lat / 180.0 * math.pi
    magic = 1.0 - _EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * math.pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * np.cos(rad_lat) * math.pi)
    return dlon, dlat


def _wgs84_to_gcj02(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    inside = np.asarray(in_china_box(lon, lat))
    dlon, dlat = _gcj02_offset(lon, lat)
    return np.where(inside, lon + dlon, lon), np.where(inside, lat + dlat, lat)


def _gcj02_to_wgs84(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    inside = np.asarray(in_china_box(lon, lat))
    # Solve wgs + offset(wgs) = gcj. The offset varies by well under 1e-3 of the distance moved,
    # so the fixed-point iteration wgs <- gcj - offset(wgs) contracts fast.
    wlon, wlat = lon.copy(), lat.copy()
    for _ in range(_MAX_ITERATIONS):
        dlon, dlat = _gcj02_offset(wlon, wlat)
        rlon = wlon + dlon - lon
        rlat = wlat + dlat - lat
        wlon = wlon - rlon
        wlat = wlat - rlat
        residual = np.maximum(np.abs(rlon), np.abs(rlat))
        if not np.any(residual[inside] >= _TOLERANCE_DEG):
            break
    return np.where(inside, wlon, lon), np.where(inside, wlat, lat)


def _gcj02_to_bd09(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    z = np.hypot(lon, lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def _bd09_to_gcj02(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    # Baidu's published inverse is a one-step approximation (off by up to ~0.5 m); start from it and
    # refine by fixed-point iteration on the forward formula.
    x = lon - 0.0065
    y = lat - 0.006
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    glon, glat = z * np.cos(theta), z * np.sin(theta)
    for _ in range(_MAX_ITERATIONS):
        blon, blat = _gcj02_to_bd09(glon, glat)
        rlon = blon - lon
        rlat = blat - lat
        glon = glon - rlon
        glat = glat - rlat
        residual = np.maximum(np.abs(rlon), np.abs(rlat))
        if not np.any(residual >= _TOLERANCE_DEG):
            break
    return glon, glat


def wgs84_to_gcj02(lon: Coord, lat: Coord) -> tuple[Coord, Coord]:
    """Convert WGS84 (lon, lat) in degrees to GCJ-02; points outside CHINA_BOX are unchanged."""
    x, y, scalar = _arrays(lon, lat)
    return _result(*_wgs84_to_gcj02(x, y), scalar)


def gcj02_to_wgs84(lon: Coord, lat: Coord) -> tuple[Coord, Coord]:
    """Convert GCJ-02 (lon, lat) in degrees to WGS84 by the precise iterative inverse.

    The residual ``|wgs84_to_gcj02(result) - input|`` is below 1e-9 degrees. Points outside
    CHINA_BOX are unchanged.
    """
    x, y, scalar = _arrays(lon, lat)
    return _result(*_gcj02_to_wgs84(x, y), scalar)


def gcj02_to_bd09(lon: Coord, lat: Coord) -> tuple[Coord, Coord]:
    """Convert GCJ-02 (lon, lat) in degrees to BD-09 (Baidu's formula, applied everywhere)."""
    x, y, scalar = _arrays(lon, lat)
    return _result(*_gcj02_to_bd09(x, y), scalar)


def bd09_to_gcj02(lon: Coord, lat: Coord) -> tuple[Coord, Coord]:
    """Convert BD-09 (lon, lat) in degrees to GCJ-02 by the precise iterative inverse.

    The residual ``|gcj02_to_bd09(result) - input|`` is below 1e-9 degrees.
    """
    x, y, scalar = _arrays(lon, lat)
    return _result(*_bd09_to_gcj02(x, y), scalar)


def wgs84_to_bd09(lon: Coord, lat: Coord) -> tuple[Coord, Coord]:
    """Convert WGS84 (lon, lat) in degrees to BD-09 (through GCJ-02)."""
    x, y, scalar = _arrays(lon, lat)
    return _result(*_gcj02_to_bd09(*_wgs84_to_gcj02(x, y)), scalar)


def bd09_to_wgs84(lon: Coord, lat: Coord) -> tuple[Coord, Coord]:
    """Convert BD-09 (lon, lat) in degrees to WGS84 (through GCJ-02, both inverses precise)."""
    x, y, scalar = _arrays(lon, lat)
    return _result(*_gcj02_to_wgs84(*_bd09_to_gcj02(x, y)), scalar)


def to_wgs84(datum: Datum | str, lon: Coord, lat: Coord) -> tuple[Coord, Coord]:
    """Convert (lon, lat) in degrees from ``datum`` to WGS84."""
    match Datum(datum):
        case Datum.WGS84:
            x, y, scalar = _arrays(lon, lat)
            return _result(x, y, scalar)
        case Datum.GCJ02:
            return gcj02_to_wgs84(lon, lat)
        case Datum.BD09:
            return bd09_to_wgs84(lon, lat)


def from_wgs84(datum: Datum | str, lon: Coord, lat: Coord) -> tuple[Coord, Coord]:
    """Convert WGS84 (lon, lat) in degrees to ``datum``."""
    match Datum(datum):
        case Datum.WGS84:
            x, y, scalar = _arrays(lon, lat)
            return _result(x, y, scalar)
        case Datum.GCJ02:
            return wgs84_to_gcj02(lon, lat)
        case Datum.BD09:
            return wgs84_to_bd09(lon, lat)


_G = TypeVar("_G", bound=BaseGeometry)
_Converter = Callable[[FloatArray, FloatArray], tuple[FloatArray, FloatArray]]


def _transform_geometry(geom: _G, convert: _Converter) -> _G:
    def apply(coords: FloatArray) -> FloatArray:
        lon, lat = convert(coords[:, 0], coords[:, 1])
        return np.column_stack((lon, lat))

    return cast(_G, shapely.transform(geom, apply))


def geometry_to_wgs84(datum: Datum | str, geom: _G) -> _G:
    """Return ``geom`` (a shapely 2 geometry with lon/lat degrees in ``datum``) converted to WGS84.

    Every vertex is converted (vectorised through ``shapely.transform``); the vertex count and the
    geometry type are kept; the result is 2D (Z values, if any, are dropped).
    """
    d = Datum(datum)
    return _transform_geometry(geom, lambda x, y: to_wgs84(d, x, y))


def geometry_from_wgs84(datum: Datum | str, geom: _G) -> _G:
    """Return ``geom`` (a shapely 2 geometry in WGS84 lon/lat degrees) converted to ``datum``."""
    d = Datum(datum)
    return _transform_geometry(geom, lambda x, y: from_wgs84(d, x, y))
