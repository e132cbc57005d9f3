"""The fine cells' per-fix bound: conservative metres per degree, and never a different relation.

A fine cell bounds a fix's signed distance by its centre's +- the fix's distance from the centre
(``geofence.grid``), which rests on ``geodesy.projected_metres_per_degree``. These properties
check that bound against PROJ itself, then the grid's relations against the exact test near real
boundaries (the Dongying city line, a corridor, a small polygon), with disk radii chosen to put
the decision within metres of its threshold, where a bound too small would show.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyproj
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from geofence.geodesy import local_projection, projected_metres_per_degree
from geofence.grid import REFINE, UNDECIDED, GridStack
from geofence.relation import CompiledArea
from geofence.zones import parse_zone
from tests.unit.geofence.helpers import offset, square

CITY_FILE = Path(__file__).parents[3] / "data" / "boundaries" / "dongying.geojson"


def _city() -> CompiledArea:
    data = json.loads(CITY_FILE.read_text(encoding="utf-8"))
    feature = data.get("features", [data])[0]
    return CompiledArea(parse_zone(1, feature, datum="wgs84", name="city"))


CORRIDOR = parse_zone(
    3,
    {
        "type": "LineString",
        "coordinates": [list(offset(-3000, -500)), list(offset(0, 400)), list(offset(2500, 0))],
    },
    datum="wgs84",
    width_m=200.0,
)
AREAS = [_city(), CompiledArea(CORRIDOR, refine=True), CompiledArea(square(4, 120), refine=True)]
STACK = GridStack([a.grid for a in AREAS])


def test_every_area_has_fine_cells():
    assert all(area.grid.fine_sd.size > 0 for area in AREAS)


@settings(max_examples=400, deadline=None)
@given(
    st.floats(-80.0, 80.0),
    st.floats(0.0, 2.0),
    st.floats(-3.0, 3.0),
    st.floats(0.0, 1.0),
    st.floats(-0.01, 0.01),
    st.floats(-0.01, 0.01),
)
def test_metres_per_degree_bound_the_projected_distance(lat_lo, span, east, at_lat, dlon, dlat):
    """Two points of a latitude band, up to 3 degrees from the central meridian: their projected
    distance is at most the bound times their degree offsets (checked against pyproj; to within
    a micrometre, PROJ's rounding, far below the grid's ``REACH_SLACK_M`` of a millimetre)."""
    lat_hi = lat_lo + span
    lon0, lat0 = 10.0, lat_lo + span / 2
    projection = local_projection(lon0, round(lat0, 3))
    lat_a = lat_lo + at_lat * span
    lat_b = min(max(lat_a + dlat, lat_lo), lat_hi)
    lon_a = lon0 + east
    lon_b = lon_a + dlon
    x, y = projection.forward(np.array([lon_a, lon_b]), np.array([lat_a, lat_b]))
    x_far = float(np.abs(x).max()) + 2_000.0
    m_lon, m_lat = projected_metres_per_degree(lat_lo, lat_hi, x_far)
    apart = float(np.hypot(x[1] - x[0], y[1] - y[0]))
    assert apart <= np.hypot(m_lon * (lon_b - lon_a), m_lat * (lat_b - lat_a)) + 1e-6


@settings(max_examples=200, deadline=None)
@given(st.floats(-85.0, 85.0), st.floats(-8.0, 8.0))
def test_scale_factor_is_below_the_small_sphere(lat, east):
    """PROJ's scale factor of the local transverse Mercator never exceeds the bound's k (to
    within 1e-9, PROJ's numerical derivatives; the grid adds ``LIPSCHITZ_MARGIN``, 1e-6)."""
    crs = "+proj=tmerc +lon_0=10 +lat_0=0 +k_0=1 +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs"
    factors = pyproj.Proj(crs).get_factors(10.0 + east, lat)
    x, _ = pyproj.Proj(crs)(10.0 + east, lat)
    m_lon, m_lat = projected_metres_per_degree(lat, lat, abs(x))
    m_lon0, m_lat0 = projected_metres_per_degree(lat, lat, 0.0)
    assert factors.meridional_scale <= m_lat / m_lat0 + 1e-9
    assert m_lon / m_lon0 == pytest.approx(m_lat / m_lat0)


def exact(area: CompiledArea, x: float, y: float, radius: float) -> int:
    return int(area.relate_xy(np.array([x]), np.array([y]), np.array([radius]))[0])


def check(which: int, x: float, y: float, radius: float) -> None:
    area = AREAS[which]
    lon, lat = area.projection.inverse(np.array([x]), np.array([y]))
    # relate_exact projects the degrees again: the definition the grid must agree with
    want = int(area.relate_exact(lon, lat, np.array([radius]))[0])
    single = int(area.grid.classify(lon, lat, np.array([radius]))[0])
    stacked = int(STACK.classify(np.array([which]), lon, lat, np.array([radius]))[0])
    assert single == stacked
    assert single in (want, UNDECIDED)


def near_boundary(which: int, along: float, dx: float, dy: float) -> tuple[float, float, float]:
    """A projected point ``dx``, ``dy`` metres off the boundary, and its signed distance."""
    area = AREAS[which]
    parts = shapely.get_parts(area.boundary)
    ring = parts[int(along * 1e6) % len(parts)]
    point = shapely.line_interpolate_point(ring, along, normalized=True)
    x, y = point.x + dx, point.y + dy
    lon, lat = area.projection.inverse(np.array([x]), np.array([y]))
    px, py = area.project(lon, lat)
    dist = float(area.boundary.distance(shapely.Point(px[0], py[0])))
    inside = bool(shapely.contains_xy(area.area, px[0], py[0]))
    return x, y, dist if inside else -dist


@settings(max_examples=500, deadline=None)
@given(
    st.sampled_from(range(len(AREAS))),
    st.floats(0.0, 1.0),
    st.floats(-300.0, 300.0),
    st.floats(-300.0, 300.0),
    st.floats(-3.0, 3.0),
)
def test_grid_agrees_with_the_exact_test_at_the_threshold(which, along, dx, dy, shift):
    """Disks whose radius is within metres of the fix's own distance to the boundary: the
    relation flips there, so a bound that is too tight decides wrongly."""
    x, y, sd = near_boundary(which, along, dx, dy)
    check(which, x, y, max(abs(sd) + shift, 0.0))


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(range(len(AREAS))),
    st.floats(0.0, 1.0),
    st.floats(-300.0, 300.0),
    st.floats(-300.0, 300.0),
    st.one_of(st.floats(0.0, 100.0), st.floats(100.0, 3_000.0)),
)
def test_grid_agrees_with_the_exact_test_near_the_boundary(which, along, dx, dy, radius):
    x, y, _ = near_boundary(which, along, dx, dy)
    check(which, x, y, radius)


def test_fixes_near_a_fine_cell_centre_are_decided_almost_exactly():
    """Where the bound is the fix's own offset, a disk 0.5 m short of (or beyond) the boundary
    is decided, although the fine cell's reach (tens of metres) could not decide it."""
    grid = AREAS[0].grid
    cells = np.flatnonzero(grid.fine_base >= 0)[:50]
    decided = 0
    for cell in cells:
        iy, ix = divmod(int(cell), grid.nx + 2)
        sub = 27  # row 3, column 3 of the fine cells: its centre
        lon = grid.lon0 + (ix - 1 + (3.5 / REFINE)) * grid.dlon
        lat = grid.lat0 + (iy - 1 + (sub // REFINE + 0.5) / REFINE) * grid.dlat
        sd = grid.fine_sd[grid.fine_base[cell] + sub]
        for radius in (abs(sd) - 0.5, abs(sd) + 0.5):
            if radius < 0:
                continue
            got = int(grid.classify(np.array([lon]), np.array([lat]), np.array([radius]))[0])
            want = int(
                AREAS[0].relate_exact(np.array([lon]), np.array([lat]), np.array([radius]))[0]
            )
            assert got in (want, UNDECIDED)
            decided += got != UNDECIDED
    assert decided >= 0.9 * 2 * len(cells) - 5
