"""The per-device track memory: snapshots of chosen devices, and their restore."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from geofence.tracks import NEVER_MS, DeviceTracks

NAMES = [f"w{i}" for i in range(8)]


def _tracks(remembered: dict[str, int]) -> DeviceTracks:
    """Tracks knowing every name of ``NAMES``, with a fix at ``remembered[name]`` ms for some."""
    tracks = DeviceTracks()
    dev = tracks.ids(np.array(NAMES, dtype=object))
    t = np.array([remembered.get(n, NEVER_MS) for n in NAMES], dtype=np.int64)
    tracks.advance(
        dev,
        t,
        np.arange(len(NAMES), dtype=np.int64),
        np.linspace(118.0, 118.7, len(NAMES)),
        np.linspace(37.0, 37.7, len(NAMES)),
        np.full(len(NAMES), 20.0),
        t != NEVER_MS,
    )
    return tracks


@given(
    st.dictionaries(st.sampled_from(NAMES), st.integers(1, 2**50), max_size=len(NAMES)),
    st.lists(st.sampled_from([*NAMES, "never-seen"]), max_size=10),
)
def test_snapshot_of_chosen_devices_is_the_full_snapshot_restricted(
    remembered: dict[str, int], chosen: list[str]
) -> None:
    tracks = _tracks(remembered)
    full = tracks.snapshot()
    assert set(full) == set(remembered)
    assert tracks.snapshot(chosen) == {d: full[d] for d in chosen if d in full}


def test_a_restored_snapshot_of_some_devices_gives_them_back() -> None:
    tracks = _tracks({"w1": 1_000, "w4": 2_000, "w6": 3_000})
    part = tracks.snapshot(["w1", "w4", "w5"])
    assert set(part) == {"w1", "w4"}
    again = DeviceTracks()
    again.restore(part)
    assert again.snapshot() == part


@given(st.lists(st.tuples(st.integers(0, 2), st.integers(1, 10**6)), min_size=1, max_size=40))
def test_advance_remembers_each_devices_newest_in_order_fix_whatever_comes_after_it(
    arrivals: list[tuple[int, int]],
) -> None:
    """Rows grouped by device in arrival order: a late row arriving after the newest in-order
    one must not hide it (found by the batching property: a batch ending in a late fix left the
    device with no remembered fix, and the next batch judged crossings against nothing)."""
    rows = sorted(enumerate(arrivals), key=lambda r: (r[1][0], r[0]))  # stable by device
    dev = np.array([d for _, (d, _) in rows], dtype=np.int64)
    t = np.array([t for _, (_, t) in rows], dtype=np.int64)
    tracks = DeviceTracks()
    tracks.ids(np.array(["a", "b", "c"], dtype=object))
    in_order = np.zeros(len(rows), dtype=bool)
    newest: dict[int, int] = {}
    for i, (d, ti) in enumerate(zip(dev.tolist(), t.tolist(), strict=True)):
        if ti > newest.get(d, NEVER_MS):
            in_order[i], newest[d] = True, ti
    n = len(rows)
    tracks.advance(dev, t, np.arange(n), np.zeros(n), np.zeros(n), np.ones(n), in_order)
    for d in range(3):
        assert int(tracks.t[d]) == newest.get(d, NEVER_MS)
