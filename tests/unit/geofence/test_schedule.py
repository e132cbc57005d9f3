"""DST-safe schedules."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import numpy as np

from geofence.models import Weekday, WeeklySchedule, Window
from geofence.schedule import active, is_active


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
