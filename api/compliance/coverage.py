"""Pure coverage of a track: expected reporting slots, the slots fixes cover, per day, silences.

Time is cut into slots of the reporting interval on a fixed grid (slot ``k`` is
``[k * I, (k + 1) * I)`` in epoch milliseconds). A slot is *expected* when its start lies in a
monitored window: a defendant device assigned to the case, inside the requested range, before
release and before now (the future is never expected), and not excused (a leave permit that
suspends the no-signal rule, or a no-signal rule switched off, e.g. an approved power-off). A
slot is *covered* when it is expected and at least one fix lies in it, so covered <= expected
always, however many fixes a slot holds. A *silence* is a time without fixes inside a monitored
window (its edges included); which silences count is decided against the no-signal limit in
force by the caller (``geofence.device.DevicePolicy.silence_outlasted``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import numpy as np

from api.tracks.analysis import IntArray
from geofence.device import DevicePolicy
from geofence.models import RuleKind

#: A half-open window [start, end) in epoch milliseconds.
Window = tuple[int, int]


def clip(windows: Iterable[Window], start_ms: int, end_ms: int) -> list[Window]:
    """``windows`` cut to [start, end), merged where they touch or overlap, sorted."""
    cut = sorted((max(a, start_ms), min(b, end_ms)) for a, b in windows)
    merged: list[Window] = []
    for a, b in cut:
        if b <= a:
            continue
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def subtract(windows: Sequence[Window], holes: Iterable[Window]) -> list[Window]:
    """``windows`` (sorted, disjoint) less the ``holes``."""
    out = list(windows)
    for h0, h1 in holes:
        nxt: list[Window] = []
        for a, b in out:
            if h1 <= a or b <= h0:
                nxt.append((a, b))
                continue
            if a < h0:
                nxt.append((a, h0))
            if h1 < b:
                nxt.append((h1, b))
        out = nxt
    return out


def overlap_ms(window: Window, others: Iterable[Window]) -> int:
    """Milliseconds of ``window`` that ``others`` (disjoint) cover."""
    a, b = window
    return sum(max(0, min(b, y) - max(a, x)) for x, y in others)


def _ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


def silence_excused(policy: DevicePolicy, start: datetime, end: datetime) -> list[Window]:
    """The windows of [start, end) in which no signal is not watched (a no_signal rule
    switched off, or suspended by a leave permit): silence there is excused."""
    bounds = {
        b
        for r in policy.rules
        if r.kind is RuleKind.NO_SIGNAL
        for b in (r.valid_from, r.valid_to, *(t for w in r.suspended for t in w))
        if b is not None and start < b < end
    }
    edges = [start, *sorted(bounds), end]
    off = [
        (_ms(a), _ms(b))
        for a, b in pairwise(edges)
        if b > a and not policy.watch(RuleKind.NO_SIGNAL, a).enabled
    ]
    return clip(off, _ms(start), _ms(end))


def _sorted(values: IntArray) -> IntArray:
    """``values`` as int64 in ascending order; a track is in time order already, and checking
    that is far cheaper than sorting it again."""
    v = np.asarray(values, dtype=np.int64)
    return v if v.size < 2 or bool(np.all(v[1:] >= v[:-1])) else np.sort(v)


def _starts_in(a: int, b: int, step: int) -> int:
    """How many multiples of ``step`` lie in [a, b)."""
    return max(0, -(-b // step) - -(-a // step))


@dataclass(frozen=True)
class Slots:
    """Expected and covered slots of a track over its monitored windows."""

    step_ms: int
    windows: list[Window]
    #: Start (epoch ms) of every covered slot, ascending.
    covered_starts: IntArray

    @property
    def expected(self) -> int:
        return sum(_starts_in(a, b, self.step_ms) for a, b in self.windows)

    @property
    def covered(self) -> int:
        return int(self.covered_starts.size)

    def between(self, start_ms: int, end_ms: int) -> tuple[int, int]:
        """(expected, covered) slots whose start lies in [start, end)."""
        expected = sum(
            _starts_in(max(a, start_ms), min(b, end_ms), self.step_ms) for a, b in self.windows
        )
        lo, hi = np.searchsorted(self.covered_starts, [start_ms, end_ms], side="left")
        return expected, int(hi - lo)


def slots(t_ms: IntArray, windows: Sequence[Window], interval_s: float) -> Slots:
    """The slots of fixes at ``t_ms`` (any order) over ``windows`` (sorted, disjoint)."""
    step = max(1, round(interval_s * 1000))
    k = _sorted(np.asarray(t_ms, dtype=np.int64) // step)
    starts = k[np.concatenate(([True], k[1:] != k[:-1]))] * step if k.size else k
    if windows:
        w0 = np.array([a for a, _ in windows], dtype=np.int64)
        w1 = np.array([b for _, b in windows], dtype=np.int64)
        idx = np.searchsorted(w0, starts, side="right") - 1
        inside = (idx >= 0) & (starts < w1[np.maximum(idx, 0)])
        starts = starts[inside]
    else:
        starts = starts[:0]
    return Slots(step, list(windows), starts)


@dataclass(frozen=True)
class Day:
    day: date
    expected: int
    covered: int

    @property
    def share(self) -> float | None:
        return self.covered / self.expected if self.expected else None


def per_day(s: Slots, start_ms: int, end_ms: int, timezone: str) -> list[Day]:
    """Expected and covered slots of each local day (``timezone``) of [start, end)."""
    if end_ms <= start_ms:
        return []
    tz = ZoneInfo(timezone)

    def local(ms: int) -> date:
        return datetime.fromtimestamp(ms / 1000, tz).date()

    days: list[Day] = []
    day, last = local(start_ms), local(end_ms - 1)
    while day <= last:
        nxt = day + timedelta(days=1)
        a = max(start_ms, _ms(datetime.combine(day, time(), tz)))
        b = min(end_ms, _ms(datetime.combine(nxt, time(), tz)))
        days.append(Day(day, *s.between(a, b)))
        day = nxt
    return days


@dataclass(frozen=True)
class Silence:
    start_ms: int
    end_ms: int

    @property
    def seconds(self) -> float:
        return (self.end_ms - self.start_ms) / 1000.0


def silences(t_ms: IntArray, windows: Sequence[Window], longer_than_s: float) -> list[Silence]:
    """Times without fixes longer than ``longer_than_s`` inside each window, the window's edges
    counting as the ends of a silence (a watch silent since its fitting is silent)."""
    t = _sorted(t_ms)
    out: list[Silence] = []
    for a, b in windows:
        lo, hi = np.searchsorted(t, [a, b], side="left")
        edges = np.concatenate(([a], t[lo:hi], [b]))
        d = np.diff(edges)
        for i in np.flatnonzero(d > longer_than_s * 1000):
            out.append(Silence(int(edges[i]), int(edges[i + 1])))
    return out
