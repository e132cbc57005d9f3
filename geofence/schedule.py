"""Weekly schedules in a case's time zone: when does a rule apply?

Windows are local wall-clock times (a curfew "22:00 to 06:00" means that on the clock on the wall
whatever the season), at one-minute resolution. A fix time (UTC) is turned into local time with the
zone's UTC offset at that instant, which is always defined, so DST changes need no special case: on
the night clocks go back the curfew lasts an hour longer in real time, on the night they go forward
an hour shorter, exactly as the wall clock says.

Vectorised: a schedule compiles to a boolean mask over the 10,080 minutes of the week; UTC offsets
are looked up once per distinct quarter hour in the batch (time-zone transitions fall on quarter
hours in every modern tz database rule).
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from geofence.models import WeeklySchedule, Window

MINUTES_PER_DAY = 1440
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY
_EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday (Monday = 0)
_QUARTER_HOUR_MS = 15 * 60 * 1000

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def _window_minutes(window: Window) -> tuple[int, int]:
    """Start minute of the week and duration in minutes of a window."""
    start = window.start.hour * 60 + window.start.minute
    end = window.end.hour * 60 + window.end.minute
    duration = end - start if end > start else end - start + MINUTES_PER_DAY
    return int(window.day) * MINUTES_PER_DAY + start, duration


@lru_cache(maxsize=1024)
def week_mask(schedule: WeeklySchedule) -> BoolArray:
    """Boolean mask over the minutes of the week (Monday 00:00 = 0) when ``schedule`` applies."""
    mask = np.zeros(MINUTES_PER_WEEK, dtype=bool)
    for window in schedule.windows:
        start, duration = _window_minutes(window)
        mask[(start + np.arange(duration)) % MINUTES_PER_WEEK] = True
    mask.flags.writeable = False
    return mask


def utc_offsets_ms(tz: str, t_ms: IntArray) -> IntArray:
    """UTC offset in ms of time zone ``tz`` at each epoch-ms instant ``t_ms``."""
    zone = ZoneInfo(tz)
    quarters, inverse = np.unique(t_ms // _QUARTER_HOUR_MS, return_inverse=True)
    offsets = np.empty(quarters.shape, dtype=np.int64)
    for i, q in enumerate(quarters):
        moment = datetime.fromtimestamp(int(q) * _QUARTER_HOUR_MS / 1000.0, tz=UTC)
        delta = moment.astimezone(zone).utcoffset()
        offsets[i] = 0 if delta is None else int(delta.total_seconds() * 1000)
    return offsets[inverse.reshape(t_ms.shape)]


def minute_of_week(tz: str, t_ms: IntArray) -> IntArray:
    """Local minute of the week (Monday 00:00 = 0) in ``tz`` of each epoch-ms instant."""
    local_minutes = (t_ms + utc_offsets_ms(tz, t_ms)) // 60_000
    return np.asarray((local_minutes + _EPOCH_WEEKDAY * MINUTES_PER_DAY) % MINUTES_PER_WEEK)


def active(schedule: WeeklySchedule, t_ms: IntArray) -> BoolArray:
    """True where the schedule applies at epoch-ms instants ``t_ms`` (vectorised)."""
    return np.asarray(week_mask(schedule)[minute_of_week(schedule.tz, t_ms)], dtype=bool)


def is_active(schedule: WeeklySchedule, moment: datetime) -> bool:
    """Scalar reference of ``active`` for one tz-aware instant, by plain calendar arithmetic."""
    local = moment.astimezone(ZoneInfo(schedule.tz))
    minute = local.weekday() * MINUTES_PER_DAY + local.hour * 60 + local.minute
    for window in schedule.windows:
        start, duration = _window_minutes(window)
        if (minute - start) % MINUTES_PER_WEEK < duration:
            return True
    return False
