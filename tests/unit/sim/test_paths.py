"""Path generation: routes stay in their zones, speeds are plausible, special cases behave."""

from __future__ import annotations

import math
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, Polygon

from sim.fleet import Fleet, Watch
from sim.paths import (
    CAR_MPS,
    DONGYING_PLANE,
    Area,
    CurfewPlanner,
    DailyWindow,
    LocalPlane,
    RoamPlanner,
    allowed_area,
    window_intervals,
)
from sim.scenario import Scenario
from sim.watches import build_watches

SH = ZoneInfo("Asia/Shanghai")
#: 2026-11-23 (a Monday) 12:00 in Shanghai, epoch ms.
NOON_MS = int(datetime(2026, 11, 23, 12, 0, tzinfo=SH).timestamp() * 1000)


def simulate(fleet: Fleet, start_ms: int, seconds: float, step_s: float) -> tuple[np.ndarray, ...]:
    """True positions (lon, lat) of every watch every ``step_s`` seconds, and the times."""
    times = np.arange(start_ms, start_ms + int(seconds * 1000), int(step_s * 1000))
    lons, lats = [], []
    for t in times:
        fleet.advance(int(t))
        lon, lat = fleet.positions()
        lons.append(lon.copy())
        lats.append(lat.copy())
    return times, np.array(lons), np.array(lats)


#: A rough concave (U-shaped) polygon around Dongying's centre, in degrees.
U_SHAPE = Polygon(
    [(118.40, 37.40), (118.60, 37.40), (118.60, 37.55), (118.55, 37.55), (118.55, 37.45),
     (118.45, 37.45), (118.45, 37.55), (118.40, 37.55)]
)  # fmt: skip


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 2**32 - 1))
def test_roaming_stays_inside_a_concave_polygon(seed: int) -> None:
    plane = DONGYING_PLANE
    zone_xy = plane.geometry(U_SHAPE)
    home = plane.point(118.42, 37.53)  # in the U's left arm: the right arm is only reachable around
    area = Area(allowed_area(zone_xy, margin_m=100.0), home, radius_m=20_000.0)
    watches = [Watch(f"w{k}", RoamPlanner(area, hop_m=(500.0, 6000.0))) for k in range(4)]
    fleet = Fleet(watches, plane=plane, start_ms=NOON_MS, seed=seed)
    _, lons, lats = simulate(fleet, NOON_MS, 4 * 3600, 20.0)
    inside = shapely.contains_xy(U_SHAPE, lons.ravel(), lats.ravel())
    assert inside.all()
    assert fleet.odometer_m.min() > 1000, "watches should actually move"


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 2**32 - 1))
def test_demo_watches_keep_their_rules_and_speeds(scenario: Scenario, seed: int) -> None:
    watches = build_watches(scenario, start_ms=NOON_MS, seed=seed)
    fleet = Fleet(watches, plane=DONGYING_PLANE, start_ms=NOON_MS, seed=seed)
    step = 5.0
    _, lons, lats = simulate(fleet, NOON_MS, 2 * 3600, step)
    b = scenario.boundaries
    for k, case in enumerate(scenario.cases):
        if case.case_number == "DY-2026-003":
            continue  # the wanderer leaves on purpose (see below)
        for rule in case.rules:
            zone = rule.zone
            if rule.kind == "stay_inside":
                assert zone.adcode is not None
                assert shapely.contains_xy(b[zone.adcode].shape, lons[:, k], lats[:, k]).all()
            elif rule.kind == "stay_outside":
                assert zone.centre is not None
                assert zone.radius_m is not None
                x, y = DONGYING_PLANE.to_xy(lons[:, k], lats[:, k])
                cx, cy = DONGYING_PLANE.point(*zone.centre)
                assert np.hypot(x - cx, y - cy).min() > zone.radius_m
    x, y = DONGYING_PLANE.to_xy(lons, lats)
    speed = np.hypot(np.diff(x, axis=0), np.diff(y, axis=0)) / step
    assert speed.max() <= CAR_MPS[1] * 1.01
    assert speed.max() > 0.5


def test_wanderer_leaves_the_city_and_comes_back(scenario: Scenario) -> None:
    watches = build_watches(scenario, start_ms=NOON_MS, seed=3)
    fleet = Fleet(watches, plane=DONGYING_PLANE, start_ms=NOON_MS, seed=3)
    times, lons, lats = simulate(fleet, NOON_MS, 3600, 5.0)
    k = scenario.device_ids.index("dw-0003")
    city = scenario.boundaries["370500"].shape
    inside = shapely.contains_xy(city, lons[:, k], lats[:, k])
    out = np.flatnonzero(~inside)
    assert out.size > 0, "the wanderer never left the city"
    first_out_s = (times[out[0]] - NOON_MS) / 1000
    assert 180 <= first_out_s <= 15 * 60, first_out_s
    assert (times[out[-1]] - times[out[0]]) / 1000 >= 5 * 60, "it should stay out for a while"
    assert inside[out[-1] + 1 :].all(), "it should come back and stay"
    assert inside[-1]
    far = [city.distance(Point(lo, la)) for lo, la in zip(lons[out, k], lats[out, k], strict=True)]
    assert max(far) * 111_000 > 2000, "far enough out that the fixes are certainly outside"
    west_of_home = lons[out, k] < scenario.cases[2].home[0]
    assert west_of_home.all()


@pytest.mark.parametrize("start_hour", [18, 21, 23, 3])
def test_curfew_case_is_home_from_22_to_06(scenario: Scenario, start_hour: int) -> None:
    day = 23 if start_hour >= 12 else 24
    start = int(datetime(2026, 11, day, start_hour, 0, tzinfo=SH).timestamp() * 1000)
    watches = build_watches(scenario, start_ms=start, seed=start_hour)
    fleet = Fleet(watches, plane=DONGYING_PLANE, start_ms=start, seed=start_hour)
    times, lons, lats = simulate(fleet, start, 18 * 3600, 10.0)
    k = scenario.device_ids.index("dw-0002")
    home = DONGYING_PLANE.point(*scenario.cases[1].home)
    x, y = DONGYING_PLANE.to_xy(lons[:, k], lats[:, k])
    dist = np.hypot(x - home[0], y - home[1])
    hours = np.array([datetime.fromtimestamp(t / 1000, SH).hour for t in times])
    curfew = (hours >= 22) | (hours < 6)
    assert curfew.any()
    assert dist[curfew].max() < 1.0
    assert dist[~curfew].max() > 150.0, "it should go out by day"


def test_window_intervals_cross_midnight() -> None:
    windows = [DailyWindow(frozenset(range(7)), 22 * 60, 6 * 60)]
    intervals = window_intervals(SH, windows, NOON_MS)
    starts = [datetime.fromtimestamp(s / 1000, SH) for s, _ in intervals]
    ends = [datetime.fromtimestamp(e / 1000, SH) for _, e in intervals]
    assert all((s.hour, s.minute) == (22, 0) for s in starts)
    assert all((e.hour, e.minute) == (6, 0) for e in ends)
    assert all((e - s).total_seconds() == 8 * 3600 for s, e in zip(starts, ends, strict=True))


def test_curfew_planner_goes_home_before_the_window() -> None:
    plane = LocalPlane(118.5, 37.5)
    area = Area(allowed_area(Point(0, 0).buffer(20_000), margin_m=0), (0.0, 0.0), 4000.0)
    windows = [DailyWindow(frozenset(range(7)), 22 * 60, 6 * 60)]
    planner = CurfewPlanner(RoamPlanner(area), SH, windows)
    rng = np.random.default_rng(1)
    at_2130 = int(datetime(2026, 11, 23, 21, 30, tzinfo=SH).timestamp() * 1000)
    leg = planner.next_leg(3000.0, 0.0, at_2130, rng)
    assert (leg.x, leg.y) == (0.0, 0.0)
    assert 3000.0 / leg.speed_mps < 30 * 60
    assert leg.dwell_s >= 8.5 * 3600 - 3000.0 / leg.speed_mps
    assert plane.point(118.5, 37.5) == (0.0, 0.0)


def test_local_plane_round_trip_and_scale() -> None:
    lon, lat = np.array([118.1, 119.3]), np.array([36.9, 38.2])
    x, y = DONGYING_PLANE.to_xy(lon, lat)
    lon2, lat2 = DONGYING_PLANE.to_lonlat(x, y)
    np.testing.assert_allclose(lon2, lon, atol=1e-12)
    np.testing.assert_allclose(lat2, lat, atol=1e-12)
    # 0.01 degree of latitude is about 1.11 km everywhere.
    _, y1 = DONGYING_PLANE.to_xy(118.5, 37.5)
    _, y2 = DONGYING_PLANE.to_xy(118.5, 37.51)
    assert math.isclose(float(y2 - y1), 1111.95, rel_tol=1e-3)
