"""The arrival-order array steps against plain loops (``geofence.arrival``)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from geofence.arrival import arrival_order, exclusive_group_max, late_pairs
from geofence.tracks import NEVER_MS

rows = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 10**12)), min_size=1, max_size=40)


@settings(max_examples=200, deadline=None)
@given(rows)
def test_exclusive_group_max_is_the_newest_earlier_time_of_the_group(data) -> None:
    data.sort(key=lambda r: r[0])  # groups contiguous, arrival order kept within each
    groups = np.array([g for g, _ in data], dtype=np.int64)
    t = np.array([x for _, x in data], dtype=np.int64)
    start = np.ones(len(t), dtype=bool)
    start[1:] = groups[1:] != groups[:-1]
    want = [
        max((t[j] for j in range(i) if groups[j] == groups[i]), default=NEVER_MS)
        for i in range(len(t))
    ]
    assert exclusive_group_max(t, start).tolist() == want


@settings(max_examples=200, deadline=None)
@given(rows, st.lists(st.integers(-1, 10**12), min_size=4, max_size=4))
def test_in_order_and_previous_rows_follow_arrival(data, remembered) -> None:
    data.sort(key=lambda r: r[0])
    dev = np.array([g for g, _ in data], dtype=np.int64)
    t = np.array([x for _, x in data], dtype=np.int64)
    track = np.array([NEVER_MS if r < 0 else r for r in remembered], dtype=np.int64)
    got = arrival_order(t, dev, track)
    newest = {d: int(track[d]) for d in range(4)}
    last_row: dict[int, int] = {}
    for i, (d, x) in enumerate(data):
        in_order = x > newest[d]
        assert bool(got.in_order[i]) == in_order
        assert int(got.prev_row[i]) == last_row.get(d, -1 - d)
        if in_order:
            newest[d] = x
            last_row[d] = i


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 100)), min_size=1, max_size=40))
def test_a_pair_is_late_against_its_slot_watermark_and_earlier_pairs(data) -> None:
    slots = np.array([s for s, _ in data], dtype=np.int64)
    t = np.array([x for _, x in data], dtype=np.int64)
    wm = np.array([NEVER_MS, 10, 50, NEVER_MS, 90], dtype=np.int64)
    newest = {s: int(wm[s]) for s in range(5)}
    want = []
    for s, x in data:
        want.append(x <= newest[s])
        newest[s] = max(newest[s], x)
    assert late_pairs(t, slots, wm).tolist() == want
