"""Device rules and DST-safe schedules."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import numpy as np

from geofence.device import impossible_speeds, silent_devices, status_findings
from geofence.models import DeviceStatusSample, RuleKind, Weekday, WeeklySchedule, Window
from geofence.schedule import active, is_active
from tests.unit.geofence.helpers import at, fix

NOW = datetime(2024, 5, 6, 12, 0, tzinfo=UTC)


def test_silent_devices_from_a_clock_value_alone():
    last = {"a": NOW - timedelta(minutes=20), "b": NOW - timedelta(minutes=5), "c": NOW}
    found = silent_devices(last, {"b": 120.0}, NOW)
    assert [(f.device_id, f.kind) for f in found] == [
        ("a", RuleKind.NO_SIGNAL),
        ("b", RuleKind.NO_SIGNAL),
    ]
    assert silent_devices(last, 3600.0, NOW) == []


def test_status_onsets_are_reported_once():
    samples = [
        DeviceStatusSample("w", NOW, battery_pct=50, charging=False, strap_closed=True),
        DeviceStatusSample(
            "w", NOW + timedelta(minutes=1), battery_pct=8, charging=False, strap_closed=False
        ),
        DeviceStatusSample(
            "w",
            NOW + timedelta(minutes=2),
            battery_pct=7,
            charging=False,
            strap_closed=False,
            powered_on=False,
        ),
        DeviceStatusSample("w", NOW + timedelta(minutes=3), battery_pct=6, charging=True),
    ]
    found = status_findings(samples)
    assert [(f.kind, f.at) for f in found] == [
        (RuleKind.STRAP_OPEN, NOW + timedelta(minutes=1)),
        (RuleKind.BATTERY_CRITICAL, NOW + timedelta(minutes=1)),
        (RuleKind.POWER_OFF, NOW + timedelta(minutes=2)),
    ]
    assert status_findings(samples[2:3], previous={"w": samples[1]})[0].kind is RuleKind.POWER_OFF


def test_impossible_speed_allows_for_accuracy():
    jump = [fix(0, t=0), fix(10_000, t=60)]  # 10 km in a minute
    (found,) = impossible_speeds(jump, max_speed_mps=70)
    assert found.kind is RuleKind.IMPOSSIBLE_SPEED
    assert found.at == at(60)
    coarse = [fix(0, t=0, acc=2500), fix(10_000, t=60, acc=2500)]  # cell fixes: could be close
    assert impossible_speeds(coarse, max_speed_mps=70) == []


def test_curfew_across_dst_follows_the_wall_clock():
    night = WeeklySchedule((Window(Weekday.SAT, time(22), time(6)),), tz="America/New_York")
    # 2024-11-02 (Saturday) night: clocks go back at 02:00 on Sunday 3 November.
    start = datetime(2024, 11, 3, 2, 0, tzinfo=UTC)  # 22:00 EDT
    end = datetime(2024, 11, 3, 11, 0, tzinfo=UTC)  # 06:00 EST, nine real hours later
    minutes = np.arange(int(start.timestamp()) // 60 - 5, int(end.timestamp()) // 60 + 5)
    on = active(night, minutes * 60_000)
    assert on.sum() == 9 * 60
    assert not on[4]
    assert on[5]
    assert on[-6]
    assert not on[-5]
    assert is_active(night, start)
    assert not is_active(night, end)


def test_window_crossing_midnight_and_the_week_end():
    sunday_night = WeeklySchedule((Window(Weekday.SUN, time(23), time(1)),))
    sunday_2330 = datetime(2024, 5, 12, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai
    monday_0030 = sunday_2330 + timedelta(hours=1)
    monday_0130 = sunday_2330 + timedelta(hours=2)
    t = np.array([int(m.timestamp() * 1000) for m in (sunday_2330, monday_0030, monday_0130)])
    assert active(sunday_night, t).tolist() == [True, True, False]
