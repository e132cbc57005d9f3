"""The engine's shortcuts agree with the slow, exact computations they stand in for."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from geofence.geodesy import wrap_degrees
from geofence.grid import UNDECIDED, GridStack
from geofence.hysteresis import Observation, hold, steady_verdicts, step, update
from geofence.models import FixRef, RuleKind, Verdict, utc_from_ms
from geofence.prefilter import circle_box, circle_lon_metres, circles_far, segments_meet_boxes
from geofence.relation import (
    INSIDE,
    OUTSIDE,
    UNCERTAIN,
    CompiledArea,
    circle_crossings,
    relate_circles,
)
from geofence.rulebook import RuleBook, ZoneCache
from geofence.state import Condition, RuleState, Run, evolve
from geofence.zones import parse_zone
from tests.unit.geofence.helpers import LAT0, LON0, at, circle, offset, rule, square

HOLED = square(1, 3_000, hole_m=800)
ISLANDS = parse_zone(
    2,
    {
        "type": "MultiPolygon",
        "coordinates": [
            [[list(offset(x, y)) for x, y in ring]]
            for ring in (
                [(-4000, -1000), (-1000, -1000), (-1000, 1500), (-4000, 1500), (-4000, -1000)],
                [(500, -2000), (3500, -2000), (2000, 2500), (500, -2000)],
            )
        ],
    },
    datum="wgs84",
)
CORRIDOR = parse_zone(
    3,
    {"type": "LineString", "coordinates": [list(offset(-3000, -500)), list(offset(2500, 900))]},
    datum="wgs84",
    width_m=150.0,
)
AREAS = [CompiledArea(z, refine=r) for z in (HOLED, ISLANDS, CORRIDOR) for r in (False, True)]
STACK = GridStack([a.grid for a in AREAS])

# Fixes anywhere from deep inside to beyond the grid, with accuracies from 0 to cell-tower sized.
east = st.floats(-12_000, 12_000, allow_nan=False)
north = st.floats(-12_000, 12_000, allow_nan=False)
radii = st.one_of(st.just(0.0), st.floats(0.0, 60.0), st.floats(60.0, 5_000.0))


def test_refined_grids_have_fine_cells():
    assert all(area.grid.fine_sd.size > 0 for area in AREAS[1::2])


def exact(area: CompiledArea, lon: float, lat: float, radius: float) -> int:
    """The definition: shapely on the projected zone, no grid, no box."""
    x, y = area.project(np.array([lon]), np.array([lat]))
    point = shapely.Point(x[0], y[0])
    if area.boundary.distance(point) <= radius:
        return int(UNCERTAIN)
    return int(INSIDE if area.area.contains(point) else OUTSIDE)


def to_degrees(area: CompiledArea, x: float, y: float) -> tuple[float, float]:
    """Inverse of the zone's projection for one point (metres to degrees)."""
    lon, lat = area.projection.inverse(np.array([x]), np.array([y]))
    return float(lon[0]), float(lat[0])


def check(which: int, lon: float, lat: float, radius: float) -> None:
    area = AREAS[which]
    lons, lats, rs = np.array([lon]), np.array([lat]), np.array([radius])
    want = exact(area, lon, lat, radius)
    single = int(area.grid.classify(lons, lats, rs)[0])
    stacked = int(STACK.classify(np.array([which]), lons, lats, rs)[0])
    assert single == stacked
    assert single in (want, UNDECIDED)
    assert int(area.relate(lons, lats, rs)[0]) == want


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(range(len(AREAS))), east, north, radii)
def test_grid_is_exact_or_undecided_anywhere(which, e, n, radius):
    check(which, *offset(e, n), radius)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(range(len(AREAS))),
    st.floats(0.0, 1.0),
    st.floats(-400.0, 400.0),
    st.floats(-400.0, 400.0),
    radii,
)
def test_grid_is_exact_or_undecided_near_the_boundary(which, along, dx, dy, radius):
    area = AREAS[which]
    ring = shapely.get_parts(area.boundary)[int(along * 7) % len(shapely.get_parts(area.boundary))]
    point = shapely.line_interpolate_point(ring, along, normalized=True)
    check(which, *to_degrees(area, point.x + dx, point.y + dy), radius)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=1, max_size=8))
def test_wrap_degrees_is_bit_identical_to_the_remainder(values):
    delta = np.array(values)
    assert np.array_equal(wrap_degrees(delta), (delta + 180.0) % 360.0 - 180.0)


@pytest.mark.parametrize(
    "value",
    [
        -180.0,
        180.0,
        -540.0,
        540.0,
        179.99999999999997,
        -180.00000000000003,
        1e-300,
        -1e-300,
        -179.99999999999997,
        359.99999999999994,
        np.nan,
    ],
)
def test_wrap_degrees_is_bit_identical_at_the_edges(value):
    delta = np.array([0.5, value])
    want = (delta + 180.0) % 360.0 - 180.0
    assert np.array_equal(wrap_degrees(delta), want, equal_nan=True)


@settings(max_examples=300, deadline=None)
@given(east, north, east, north, st.floats(1.0, 2_000.0), st.floats(0.0, 500.0))
def test_circle_box_never_drops_a_crossing(e0, n0, e1, n1, circle_m, widest):
    (lon0, lat0), (lon1, lat1) = offset(e0 / 4, n0 / 4), offset(e1 / 4, n1 / 4)
    x0, y0, x1, y1 = (np.array([v]) for v in (lon0, lat0, lon1, lat1))
    c_lon, c_lat, c_m = np.array([LON0]), np.array([LAT0]), np.array([circle_m])
    half_lon, half_lat = circle_box(c_lat, c_m)
    near = segments_meet_boxes(x0, y0, x1, y1, (c_lon, half_lon, c_lat, half_lat))[0]
    crossed = circle_crossings(x0, y0, x1, y1, np.array([widest]), c_lon, c_lat, c_m)[0]
    assert near or not crossed


far = st.floats(-40_000, 40_000, allow_nan=False)


@settings(max_examples=400, deadline=None)
@given(st.floats(-80.0, 80.0), far, far, far, far, st.floats(1.0, 20_000.0), st.floats(0.0, 500.0))
def test_circle_box_never_drops_a_crossing_at_any_latitude(lat, e0, n0, e1, n1, circle_m, widest):
    """Ends up to ~40 km from the centre (within ``CIRCLE_BOX_LAT_DEG`` of its latitude), from
    the equator to 80 degrees, where a degree of longitude is short."""
    (lon0, lat0), (lon1, lat1) = offset(e0, n0, LON0, lat), offset(e1, n1, LON0, lat)
    x0, y0, x1, y1 = (np.array([v]) for v in (lon0, lat0, lon1, lat1))
    c_lon, c_lat, c_m = np.array([LON0]), np.array([lat]), np.array([circle_m])
    half_lon, half_lat = circle_box(c_lat, c_m)
    near = segments_meet_boxes(x0, y0, x1, y1, (c_lon, half_lon, c_lat, half_lat))[0]
    crossed = circle_crossings(x0, y0, x1, y1, np.array([widest]), c_lon, c_lat, c_m)[0]
    assert near or not crossed


def test_evolve_covers_fields():
    run = Run(1, 5, 5, (FixRef("w", at(0), 1),))
    state = RuleState(1, 2, Condition.VIOLATING, 3, "x", 4, run, run, run, 9, (1, 2), (3, 4))
    changes = {
        f.name: getattr(RuleState(7, 8), f.name)
        for f in dataclasses.fields(RuleState)
        if f.name not in ("case_id", "rule_id")
    }
    assert evolve(state) == state
    assert evolve(state, **changes) == dataclasses.replace(state, **changes)
    for name, value in changes.items():
        assert evolve(state, **{name: value}) == dataclasses.replace(state, **{name: value})


runs = st.none() | st.builds(
    lambda c, t: Run(c, t, t + 1000 * c, (FixRef("w", at(t / 1000), 0),)),
    st.integers(1, 3),
    st.integers(0, 10_000),
)
states = st.builds(
    lambda cond, start, v, u, c, wm, permit, due: RuleState(
        1,
        1,
        cond,
        None if cond is Condition.COMPLIANT else start,
        "",
        0,
        v,
        u,
        c,
        wm,
        permit,
        due,
    ),
    st.sampled_from(Condition),
    st.integers(0, 10_000),
    runs,
    runs,
    runs,
    st.none() | st.integers(0, 20_000),
    st.none() | st.just((5, 50_000)),
    st.none() | st.just((6, 40_000)),
)


@settings(max_examples=300, deadline=None)
@given(states, st.sampled_from(Verdict))
def test_steady_verdicts_change_only_the_watermark(state, verdict):
    if not steady_verdicts(state) >> int(verdict) & 1:
        return
    obs = Observation(30_000, verdict, (FixRef("w", at(30), 0),))
    after, events = update(state, obs, rule(1, RuleKind.STAY_INSIDE))
    assert events == []
    assert after == evolve(state, watermark_ms=30_000)


@settings(max_examples=300, deadline=None)
@given(
    st.floats(-200_000, 200_000),
    st.floats(-200_000, 200_000),
    radii,
    st.floats(1.0, 100_000.0),
    st.floats(-84.0, 84.0),
)
def test_far_circles_are_outside(e, n, radius, circle_m, centre_lat):
    lon, lat = offset(e, n, LON0, centre_lat)
    args = [np.array([v]) for v in (lon, lat, radius, LON0, centre_lat, circle_m)]
    lon_m = circle_lon_metres(args[4])
    far = circles_far(args[0], args[1], args[2], (args[3], args[4], args[5], lon_m))[0]
    assert not far or relate_circles(*args)[0] == OUTSIDE


@settings(max_examples=500, deadline=None)
@given(
    states,
    st.sampled_from(Verdict),
    st.none() | st.just((7, 60_000)),
    st.integers(1, 3),
    st.floats(0.0, 30.0),
)
def test_update_shortcuts_agree_with_the_general_rules(state, verdict, permit, fixes, span_s):
    """Whatever shortcut ``update`` takes, its result is exactly ``step``'s."""
    obs = Observation(30_000, verdict, (FixRef("w", at(30), 0),), "", permit)
    r = rule(1, RuleKind.STAY_INSIDE, n=fixes, secs=span_s)
    assert update(state, obs, r) == step(state, obs, r)


@settings(max_examples=500, deadline=None)
@given(states, st.sampled_from(Verdict), st.integers(1, 3), st.floats(0.0, 30.0))
def test_hold_of_one_observation_is_update(state, verdict, fixes, span_s):
    """The engine steps a slot's only observation with ``update`` and leaves ``hold`` (the
    shortcut for several confirming ones) out: for one observation they agree (an episode
    that started at the epoch itself included: a start of 0 is a start)."""
    obs = Observation(30_000, verdict, (FixRef("w", at(30), 0),))
    r = rule(1, RuleKind.STAY_INSIDE, n=fixes, secs=span_s)
    held = hold(state, verdict, [obs], r)
    assert held is None or held == update(state, obs, r)


near_boundary = st.builds(
    lambda u, wm: RuleState(1, 1, Condition.COMPLIANT, uncertain_run=u, watermark_ms=wm),
    runs,
    st.none() | st.integers(0, 20_000),
)


@settings(max_examples=300, deadline=None)
@given(near_boundary, st.sampled_from(Verdict), st.integers(1, 3), st.floats(0.0, 30.0))
def test_the_boundary_shortcut_agrees_with_the_general_rules(state, verdict, fixes, span_s):
    """The states the shortcut serves (compliant, maybe an uncertain run pending)."""
    obs = Observation(30_000, verdict, (FixRef("w", at(30), 0),))
    r = rule(1, RuleKind.STAY_INSIDE, n=fixes, secs=span_s)
    assert update(state, obs, r) == step(state, obs, r)


@given(st.integers(min_value=-(2**44), max_value=2**44))
def test_utc_from_ms_is_exact_to_the_millisecond(ms: int) -> None:
    """The fast float path and the exact path agree with integer arithmetic everywhere."""
    assert utc_from_ms(ms) == datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)


@pytest.mark.parametrize("ms", [0, 1, 999, 2**42 - 1, 2**42, 1_763_780_000_123, 4_102_444_799_999])
def test_utc_from_ms_at_the_edges(ms: int) -> None:
    assert utc_from_ms(ms) == datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from([40, 3_000]).flatmap(  # dense and sparse case ids
        lambda top: st.lists(
            st.tuples(st.integers(-5, top), st.integers(1, 3)), min_size=1, max_size=30
        )
    ),
    st.lists(st.integers(-10, 3_100) | st.integers(-10, 50), max_size=20),
)
def test_rulebook_pairs_expand_each_case(cases, queries):
    """``RuleBook.pairs`` (a dense table from case id to slots when ids are dense, a search
    otherwise) gives every slot of each fix's case, and none for unknown cases."""
    rules = [
        rule(k, RuleKind.STAY_OUTSIDE, case=case)
        for case, count in dict(cases).items()
        for k in range(count)
    ]
    book = RuleBook(rules, {1: circle(1, 300)}, ZoneCache())
    case_id = np.array(queries, dtype=np.int64)
    rows, slots = book.pairs(case_id)
    want = [(i, s) for i, c in enumerate(queries) for s, key in enumerate(book.keys) if key[0] == c]
    assert list(zip(rows.tolist(), slots.tolist(), strict=True)) == want
