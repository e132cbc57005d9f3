"""Tests of geofence.datum: published reference points, round trips, offsets, vectorisation."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from pyproj import Geod
from shapely.geometry import MultiPolygon, Polygon

from geofence import datum
from geofence.datum import Datum

GEOD = Geod(ellps="WGS84")

Convert = Callable[[float, float], tuple[float, float]]


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Geodesic distance on WGS84 in metres between two (lon, lat) points in degrees."""
    return float(GEOD.inv(a[0], a[1], b[0], b[1])[2])


# Reference points, (lon, lat) in degrees. Forward transforms are closed form, so published values
# must match to well under a millimetre. The published inverses are one-step approximations (ours is
# the precise iterative inverse), so for inverses the tolerance is 0.5 m.
# Sources:
#   EVT: googollee/eviltransform python/test.py (TESTS: shanghai, shenzhen, beijing; given lat, lon)
#   CT:  wandergis/coordtransform README values at (116.404, 39.915), also the tests of
#        athxx/coordtransform-rs (same values)
#   GC:  hujiulong/gcoord test/unit/crs/GCJ02.spec.js (values given to 8 decimals)
# Cross-checked in a throwaway venv against the PyPI packages coord-convert 0.2.1 (forward max
# difference 0.0 m over 20,000 random points in China) and eviltransform 0.1.1 (which uses
# a = 6378137 instead of 6378245: differences below 1.2 cm).
EXACT = 1e-3  # metres
APPROX_INVERSE = 0.5  # metres
TRUNCATED_8 = 0.002  # metres: values truncated to 8 decimals (1e-8 degree is ~1 mm)

REFERENCE: list[tuple[str, Convert, tuple[float, float], tuple[float, float], float]] = [
    # name, function, input, expected, tolerance in metres
    (
        "EVT shanghai wgs->gcj",
        datum.wgs84_to_gcj02,
        (121.5272106, 31.1774276),
        (121.531541859215, 31.17530398364597),
        EXACT,
    ),
    (
        "EVT shenzhen wgs->gcj",
        datum.wgs84_to_gcj02,
        (113.912316, 22.543847),
        (113.9171764808363, 22.540796131694766),
        EXACT,
    ),
    (
        "EVT beijing wgs->gcj",
        datum.wgs84_to_gcj02,
        (116.377817, 39.911954),
        (116.38404722455657, 39.91334545536069),
        EXACT,
    ),
    (
        "EVT shanghai gcj->wgs",
        datum.gcj02_to_wgs84,
        (121.531541859215, 31.17530398364597),
        (121.5272106, 31.1774276),
        EXACT,
    ),
    (
        "EVT beijing gcj->wgs",
        datum.gcj02_to_wgs84,
        (116.38404722455657, 39.91334545536069),
        (116.377817, 39.911954),
        EXACT,
    ),
    (
        "CT wgs->gcj",
        datum.wgs84_to_gcj02,
        (116.404, 39.915),
        (116.41024449916938, 39.91640428150164),
        EXACT,
    ),
    (
        "CT gcj->bd",
        datum.gcj02_to_bd09,
        (116.404, 39.915),
        (116.41036949371029, 39.92133699351021),
        EXACT,
    ),
    (
        "CT wgs->bd",
        datum.wgs84_to_bd09,
        (116.404, 39.915),
        (116.41662724378733, 39.922699552216216),
        EXACT,
    ),
    (
        "CT gcj->wgs (one-step published)",
        datum.gcj02_to_wgs84,
        (116.404, 39.915),
        (116.39775550083061, 39.91359571849836),
        APPROX_INVERSE,
    ),
    (
        "CT bd->gcj (one-step published)",
        datum.bd09_to_gcj02,
        (116.404, 39.915),
        (116.39762729119315, 39.90865673957631),
        APPROX_INVERSE,
    ),
    (
        "CT bd->wgs (one-step published)",
        datum.bd09_to_wgs84,
        (116.404, 39.915),
        (116.3913836995125, 39.907253214522164),
        APPROX_INVERSE,
    ),
    (
        "GC gcj->bd",
        datum.gcj02_to_bd09,
        (123.0, 45.0),
        (123.00636499, 45.00636899),
        TRUNCATED_8,
    ),
    (
        "GC gcj->wgs",
        datum.gcj02_to_wgs84,
        (123.0, 45.0),
        (122.99395597, 44.99804071),
        APPROX_INVERSE,
    ),
    (
        "GC outside China unchanged",
        datum.gcj02_to_wgs84,
        (183.0, 45.0),
        (183.0, 45.0),
        EXACT,
    ),
]


@pytest.mark.parametrize(
    ("func", "given_point", "expected", "tolerance"),
    [pytest.param(f, p, e, t, id=name) for name, f, p, e, t in REFERENCE],
)
def test_reference_points(
    func: Convert,
    given_point: tuple[float, float],
    expected: tuple[float, float],
    tolerance: float,
) -> None:
    assert metres(func(*given_point), expected) <= tolerance


def test_scalar_in_scalar_out() -> None:
    lon, lat = datum.wgs84_to_gcj02(118.674, 37.434)
    assert type(lon) is float
    assert type(lat) is float


def test_shape_mismatch_is_refused() -> None:
    with pytest.raises(ValueError, match="shapes differ"):
        datum.wgs84_to_gcj02(np.zeros(3), np.zeros(2))


# Mainland China's usual box (lat from 18, Hainan, rather than the South China Sea's 3.86).
china_lon = st.floats(73.66, 135.05)
china_lat = st.floats(18.0, 53.55)
# East of 100E (where nearly everyone lives) the published offset is 100..720 m. West of it, in
# Qinghai/Tibet, the formula's offset drops to ~20 m (e.g. ~22 m at 96.56E 37.1N).
east_lon = st.floats(100.0, 135.05)

min_lon, min_lat, max_lon, max_lat = datum.CHINA_BOX
outside_china = st.one_of(
    st.tuples(st.floats(-180.0, min_lon - 1e-6), st.floats(-90.0, 90.0)),
    st.tuples(st.floats(max_lon + 1e-6, 180.0), st.floats(-90.0, 90.0)),
    st.tuples(st.floats(-180.0, 180.0), st.floats(-90.0, min_lat - 1e-6)),
    st.tuples(st.floats(-180.0, 180.0), st.floats(max_lat + 1e-6, 90.0)),
)


@given(china_lon, china_lat)
def test_gcj02_round_trip(lon: float, lat: float) -> None:
    there = datum.wgs84_to_gcj02(lon, lat)
    back = datum.gcj02_to_wgs84(*there)
    assert metres((lon, lat), back) < 0.01


@given(china_lon, china_lat)
def test_gcj02_inverse_round_trip(lon: float, lat: float) -> None:
    back = datum.wgs84_to_gcj02(*datum.gcj02_to_wgs84(lon, lat))
    assert metres((lon, lat), back) < 0.01


@given(china_lon, china_lat)
def test_bd09_round_trips(lon: float, lat: float) -> None:
    assert metres((lon, lat), datum.bd09_to_gcj02(*datum.gcj02_to_bd09(lon, lat))) < 0.01
    assert metres((lon, lat), datum.gcj02_to_bd09(*datum.bd09_to_gcj02(lon, lat))) < 0.01
    assert metres((lon, lat), datum.bd09_to_wgs84(*datum.wgs84_to_bd09(lon, lat))) < 0.01


@given(st.sampled_from(list(Datum)), china_lon, china_lat)
def test_dispatchers_round_trip(d: Datum, lon: float, lat: float) -> None:
    assert metres((lon, lat), datum.to_wgs84(d, *datum.from_wgs84(d, lon, lat))) < 0.01


@given(east_lon, china_lat)
def test_gcj02_offset_east_of_100e_is_100_to_720_m(lon: float, lat: float) -> None:
    offset = metres((lon, lat), datum.wgs84_to_gcj02(lon, lat))
    assert 100.0 < offset < 720.0


@given(china_lon, china_lat)
def test_gcj02_offset_anywhere_in_china_is_15_to_750_m(lon: float, lat: float) -> None:
    offset = metres((lon, lat), datum.wgs84_to_gcj02(lon, lat))
    assert 15.0 < offset < 750.0


@given(outside_china)
def test_outside_china_is_unchanged(point: tuple[float, float]) -> None:
    lon, lat = point
    assert datum.wgs84_to_gcj02(lon, lat) == (lon, lat)
    assert datum.gcj02_to_wgs84(lon, lat) == (lon, lat)
    assert not datum.in_china_box(lon, lat)


def test_outside_china_examples() -> None:
    for lon, lat in [(2.3522, 48.8566), (-74.006, 40.7128), (139.6917, 35.6895), (151.2, -33.9)]:
        assert datum.wgs84_to_gcj02(lon, lat) == (lon, lat)


CONVERSIONS = [
    datum.wgs84_to_gcj02,
    datum.gcj02_to_wgs84,
    datum.gcj02_to_bd09,
    datum.bd09_to_gcj02,
    datum.wgs84_to_bd09,
    datum.bd09_to_wgs84,
]

lon_arrays = arrays(np.float64, st.integers(1, 12), elements=st.floats(60.0, 150.0))


@settings(max_examples=50)
@given(st.sampled_from(CONVERSIONS), lon_arrays, st.data())
def test_vectorised_equals_scalar(func: Convert, lons: np.ndarray, data: st.DataObject) -> None:
    lats = data.draw(arrays(np.float64, lons.shape, elements=st.floats(-5.0, 60.0)))
    vec_lon, vec_lat = func(lons, lats)  # type: ignore[arg-type]
    assert isinstance(vec_lon, np.ndarray)
    assert vec_lon.shape == lons.shape
    scalar = np.array([func(float(x), float(y)) for x, y in zip(lons, lats, strict=True)])
    # Inverses iterate until the worst point of the array is below 1e-9 degrees, so an array can
    # take one more iteration than a lone point: results agree to 1e-9 degrees (~0.1 mm).
    np.testing.assert_allclose(vec_lon, scalar[:, 0], rtol=0, atol=1e-9)
    np.testing.assert_allclose(vec_lat, scalar[:, 1], rtol=0, atol=1e-9)


def test_vectorised_keeps_2d_shape() -> None:
    lon = np.array([[118.5, 118.6], [118.7, 2.0]])
    lat = np.array([[37.4, 37.5], [37.6, 48.0]])
    out_lon, out_lat = datum.gcj02_to_wgs84(lon, lat)
    assert out_lon.shape == (2, 2)
    assert out_lat.shape == (2, 2)
    assert (out_lon[1, 1], out_lat[1, 1]) == (2.0, 48.0)


def test_wgs84_dispatch_is_identity() -> None:
    assert datum.to_wgs84("wgs84", 118.674, 37.434) == (118.674, 37.434)
    assert datum.from_wgs84(Datum.WGS84, 118.674, 37.434) == (118.674, 37.434)


def test_unknown_datum_is_refused() -> None:
    with pytest.raises(ValueError, match="cgcs2000"):
        datum.to_wgs84("cgcs2000", 118.674, 37.434)


# A zone as drawn on Amap around central Dongying (GCJ-02), with a hole.
DRAWN = Polygon(
    [(118.45, 37.35), (118.85, 37.35), (118.85, 37.55), (118.45, 37.55)],
    holes=[[(118.6, 37.42), (118.7, 37.42), (118.7, 37.48), (118.6, 37.48)]],
)


@pytest.mark.parametrize("d", [Datum.GCJ02, Datum.BD09])
def test_geometry_to_wgs84_keeps_vertices_and_validity(d: Datum) -> None:
    converted = datum.geometry_to_wgs84(d, DRAWN)
    assert isinstance(converted, Polygon)
    assert converted.is_valid
    assert shapely.get_num_coordinates(converted) == shapely.get_num_coordinates(DRAWN)
    original = shapely.get_coordinates(DRAWN)
    expected = np.column_stack(datum.to_wgs84(d, original[:, 0], original[:, 1]))
    np.testing.assert_array_equal(shapely.get_coordinates(converted), expected)
    # The shift is the datum offset: a few hundred metres, south-west in Dongying.
    shift = metres(DRAWN.exterior.coords[0], converted.exterior.coords[0])
    assert 300.0 < shift < 1500.0
    back = datum.geometry_from_wgs84(d, converted)
    np.testing.assert_allclose(shapely.get_coordinates(back), original, rtol=0, atol=1e-9)


def test_geometry_multipolygon() -> None:
    multi = MultiPolygon([DRAWN, Polygon([(118.9, 37.6), (119.0, 37.6), (119.0, 37.7)])])
    converted = datum.geometry_to_wgs84("gcj02", multi)
    assert isinstance(converted, MultiPolygon)
    assert converted.is_valid
    assert len(converted.geoms) == 2
    assert shapely.get_num_coordinates(converted) == shapely.get_num_coordinates(multi)
