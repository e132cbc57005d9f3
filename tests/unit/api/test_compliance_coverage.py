"""Coverage in reporting slots: never more covered than expected, never the future, per day,
silences against the limit in force, excused windows."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from api.compliance import coverage
from geofence.device import DevicePolicy, DeviceRule
from geofence.models import RuleKind

T0 = int(datetime(2026, 11, 1, tzinfo=UTC).timestamp() * 1000)
MIN = 60_000
DAY = 86_400_000

windows = st.lists(
    st.tuples(st.integers(0, 3 * DAY), st.integers(1, DAY)).map(
        lambda w: (T0 + w[0], T0 + w[0] + w[1])
    ),
    max_size=4,
)
fix_times = st.lists(st.integers(-DAY, 5 * DAY).map(lambda t: T0 + t), max_size=300)


@settings(max_examples=300, deadline=None)
@given(ws=windows, ts=fix_times, interval=st.sampled_from([1.0, 10.0, 60.0, 300.0]))
def test_covered_never_exceeds_expected_and_days_add_up(
    ws: list[coverage.Window], ts: list[int], interval: float
) -> None:
    end = T0 + 4 * DAY
    monitored = coverage.clip(ws, T0, end)
    s = coverage.slots(np.array(ts, dtype=np.int64), monitored, interval)
    assert 0 <= s.covered <= s.expected
    days = coverage.per_day(s, T0, end, "Asia/Shanghai")
    assert sum(d.expected for d in days) == s.expected
    assert sum(d.covered for d in days) == s.covered
    for d in days:
        assert 0 <= d.covered <= d.expected
        assert d.share is None or 0 <= d.share <= 1
    # Only slots starting inside a monitored window are covered.
    for start in s.covered_starts:
        assert any(a <= start < b for a, b in monitored)


@settings(max_examples=200, deadline=None)
@given(ts=fix_times, now=st.integers(0, 3 * DAY))
def test_the_future_is_never_expected_nor_covered(ts: list[int], now: int) -> None:
    assigned = [(T0, T0 + 10 * DAY)]
    monitored = coverage.clip(assigned, T0, T0 + now)  # the caller cuts at now
    s = coverage.slots(np.array(ts, dtype=np.int64), monitored, 60.0)
    assert s.expected == -(-now // MIN)
    assert all(t < T0 + now for t in s.covered_starts)


def test_one_fix_a_minute_covers_every_slot_and_extra_fixes_do_not_count() -> None:
    ts = [T0 + i * MIN + 5_000 for i in range(120)]
    twice = np.array(ts + [t + 20_000 for t in ts], dtype=np.int64)
    s = coverage.slots(twice, [(T0, T0 + 120 * MIN)], 60.0)
    assert (s.expected, s.covered) == (120, 120)


def test_per_day_uses_the_case_time_zone() -> None:
    # 2026-11-01 00:00 UTC is 08:00 in Shanghai: one day of monitoring spans two local days.
    s = coverage.slots(np.array([T0], dtype=np.int64), [(T0, T0 + DAY)], 3600.0)
    days = coverage.per_day(s, T0, T0 + DAY, "Asia/Shanghai")
    assert [(str(d.day), d.expected, d.covered) for d in days] == [
        ("2026-11-01", 16, 1),
        ("2026-11-02", 8, 0),
    ]


@settings(max_examples=200, deadline=None)
@given(ts=fix_times, thr=st.integers(1, 3 * 3600))
def test_every_silence_longer_than_the_threshold_is_found(ts: list[int], thr: int) -> None:
    window = (T0, T0 + 4 * DAY)
    found = coverage.silences(np.array(ts, dtype=np.int64), [window], thr)
    inside = sorted(t for t in ts if window[0] <= t < window[1])
    edges = [window[0], *inside, window[1]]
    expected = [(a, b) for a, b in itertools.pairwise(edges) if b - a > thr * 1000]
    assert [(g.start_ms, g.end_ms) for g in found] == expected


def test_a_permit_suspending_no_signal_excuses_its_window() -> None:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    window = (start + timedelta(hours=1), start + timedelta(hours=3))
    rule = DeviceRule(9, RuleKind.NO_SIGNAL, suspended=(window,))
    off = DeviceRule(10, RuleKind.NO_SIGNAL, enabled=False, valid_from=start + timedelta(hours=5),
                     valid_to=start + timedelta(hours=6))  # fmt: skip
    policy = DevicePolicy((rule,), no_signal_after_s=1800)
    excused = coverage.silence_excused(policy, start, start + timedelta(hours=8))
    assert excused == [(T0 + 3_600_000, T0 + 3 * 3_600_000)]
    both = DevicePolicy((rule, off), no_signal_after_s=1800)
    assert coverage.silence_excused(both, start, start + timedelta(hours=8)) == [
        (T0 + 3_600_000, T0 + 3 * 3_600_000),
        (T0 + 5 * 3_600_000, T0 + 6 * 3_600_000),
    ]
    monitored = coverage.subtract([(T0, T0 + 8 * 3_600_000)], excused)
    s = coverage.slots(np.array([], dtype=np.int64), monitored, 60.0)
    assert s.expected == 6 * 60


@settings(max_examples=200, deadline=None)
@given(ws=windows, holes=windows)
def test_clip_and_subtract_give_sorted_disjoint_windows(
    ws: list[coverage.Window], holes: list[coverage.Window]
) -> None:
    out = coverage.subtract(coverage.clip(ws, T0, T0 + 4 * DAY), holes)
    for (a, b), (c, _) in itertools.pairwise(out):
        assert a < b <= c
    for a, b in out:
        assert all(b <= h0 or h1 <= a for h0, h1 in holes)
