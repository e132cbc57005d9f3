"""The named checks of the validate stage, one by one and together."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from geofence.relation import K_SIGMA
from ingest.directory import DeviceDirectory
from ingest.models import Ping
from ingest.validate import (
    ACC_DISK_FACTOR,
    MAX_STRIKES,
    CheckContext,
    Limits,
    check_ping,
    distance_m,
)

NOW = datetime(2025, 11, 22, 2, 0, tzinfo=UTC)


def context() -> CheckContext:
    directory = DeviceDirectory(ttl_s=60, negative_ttl_s=5)
    directory.put("w1", assignments=((NOW.timestamp() - 86_400 * 90, math.inf, 7),))
    directory.put("w-free", assignments=((0.0, NOW.timestamp() - 86_400 * 60, 3),))
    directory.put("w-retired", active=False, assignments=((0.0, math.inf, 4),))
    return CheckContext(Limits(300, 30, 150), directory)


def ping(device: str = "w1", *, lat: float = 31.23, lon: float = 121.47, age_s: float = 10,
         acc: float = 10) -> Ping:  # fmt: skip
    return Ping(device, NOW - timedelta(seconds=age_s), 1, NOW, lon, lat, acc, "gnss")


@pytest.mark.parametrize(
    ("p", "reasons"),
    [
        (ping(), ()),
        (ping(lat=91), ("coords_out_of_range",)),
        (ping(lon=-180.5), ("coords_out_of_range",)),
        (ping(lat=math.nan), ("coords_out_of_range",)),
        (ping(lat=0, lon=0), ("null_island",)),
        (ping(age_s=-301), ("future_fix",)),
        (ping(age_s=-299), ()),
        (ping(age_s=31 * 86_400), ("stale_fix",)),
        (ping(age_s=91 * 86_400), ("stale_fix", "unassigned_device")),
        (ping("w-ghost"), ("unknown_device",)),
        (ping("w-retired"), ("unknown_device",)),
        (ping("w-free"), ("unassigned_device",)),
        (
            ping("w-ghost", lat=0, lon=0, age_s=-4000),
            ("null_island", "future_fix", "unknown_device"),
        ),
    ],
)
def test_named_checks_collect_every_reason(p: Ping, reasons: tuple[str, ...]) -> None:
    assert check_ping(p, context()) == reasons


def test_impossible_speed_is_measured_from_the_previous_accepted_fix() -> None:
    ctx = context()
    assert check_ping(ping(age_s=3600), ctx) == ()
    # 0.1 degree of latitude (~11 km) in 30 s: ~370 m/s.
    assert check_ping(ping(lat=31.33, age_s=3570), ctx) == ("impossible_speed",)
    # The same distance in 50 minutes is a car.
    assert check_ping(ping(lat=31.33, age_s=600), ctx) == ()


def test_accuracy_radii_are_slack_for_the_speed_check() -> None:
    ctx = context()
    assert check_ping(ping(age_s=20, acc=1500), ctx) == ()
    # 2 km jump in 10 s, but both fixes are ~1.5 km circles: not impossible.
    assert check_ping(ping(lat=31.248, age_s=10, acc=1500), ctx) == ()


def test_a_coarse_fix_off_by_more_than_its_68_percent_radius_is_not_a_jump() -> None:
    """Regression (simulator at 5 fixes/s: 180 of 709 cell-tower fixes refused, each one a false
    impossible-movement alarm): ``acc`` is a 68% radius, so an honest cell-tower fix is off by
    more than it a third of the time. 1.6 km from a GNSS fix 1 s before, with acc 1000 m, is
    within its disk (2 x acc), not a jump."""
    ctx = context()
    assert check_ping(ping(age_s=11, acc=6), ctx) == ()
    # ~1.6 km north, one second later, a cell-tower fix of acc 1000 m.
    assert check_ping(ping(lat=31.2444, age_s=10, acc=1000), ctx) == ()
    # The next GNSS fix, back where the watch is, is no jump from the coarse anchor either.
    assert check_ping(ping(age_s=9, acc=6), ctx) == ()
    # 5 km in a second is still impossible, even for a coarse fix.
    assert check_ping(ping(lat=31.275, age_s=8, acc=1000), ctx) == ("impossible_speed",)


def test_the_fix_disk_is_the_geofence_engines() -> None:
    assert ACC_DISK_FACTOR == K_SIGMA


@given(
    steps=st.lists(
        st.tuples(
            st.floats(0.001, 60.0),  # seconds since the previous fix
            st.floats(0.0, 150.0),  # true ground speed, m/s
            st.floats(3.0, 1500.0),  # reported accuracy (68% radius), m
            st.floats(0.0, 0.99),  # error as a fraction of the fix disk
            st.floats(0.0, 2 * math.pi),  # direction of the error
        ),
        min_size=1,
        max_size=30,
    )
)
def test_a_plausible_track_with_errors_inside_the_fix_disks_is_never_refused(
    steps: list[tuple[float, float, float, float, float]],
) -> None:
    """Whatever the rate, the speed (up to the limit) and the accuracy: fixes whose error stays
    inside their disk, on a track moving north no faster than the limit, are all accepted."""
    ctx = context()
    m_per_deg = 111_195.0
    age, north_m = 3000.0, 0.0
    for dt, speed, acc, frac, angle in steps:
        age -= dt
        north_m += speed * dt * 0.999  # a hair under the limit, for rounding
        err = frac * ACC_DISK_FACTOR * acc * 0.999
        lat = 31.23 + (north_m + err * math.sin(angle)) / m_per_deg
        lon = 121.47 + err * math.cos(angle) / (m_per_deg * math.cos(math.radians(31.23)))
        assert check_ping(ping(lat=lat, lon=lon, age_s=age, acc=acc), ctx) == ()


def test_a_wrong_anchor_cannot_lock_a_track_out() -> None:
    ctx = context()
    assert check_ping(ping(lat=40.0, age_s=100), ctx) == ()  # an outlier accepted first
    results = [check_ping(ping(age_s=90 - i * 10), ctx) for i in range(MAX_STRIKES + 1)]
    assert results[:MAX_STRIKES] == [("impossible_speed",)] * MAX_STRIKES
    assert results[MAX_STRIKES] == ()


def test_distance() -> None:
    assert distance_m(0, 0, 0, 1) == pytest.approx(111_195, rel=1e-3)
    assert distance_m(31.23, 121.47, 31.23, 121.47) == 0
