"""Each fix's verdict (pure): cited by a violation alert, only by an uncertain one, judged by a
rule in force, or not judged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from api.tracks.analysis import VERDICT_NAMES, Verdict, judged_mask, verdicts

T0 = datetime(2026, 11, 1, tzinfo=UTC)
T0_US = int(T0.timestamp()) * 1_000_000


def _track(n: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    t_us = T0_US + np.arange(n, dtype=np.int64) * 60_000_000
    return t_us, np.arange(n, dtype=np.int64), ["W-1"] * n


def test_verdict_table() -> None:
    t_us, seq, dev = _track(6)
    at = [T0 + timedelta(minutes=i) for i in range(6)]
    cited = [
        ("W-1", at[2], 2, False), ("W-1", at[3], 3, True), ("W-1", at[3], 3, False),
        ("W-1", at[4], 4, False), ("W-2", at[5], 5, True), ("W-1", at[5], 99, True),
    ]  # fmt: skip
    got = verdicts(t_us, seq, dev, cited, [(at[1], at[5])])
    assert [VERDICT_NAMES[v] for v in got] == [
        "not_judged", "compliant", "uncertain", "violation", "uncertain", "not_judged",
    ]  # fmt: skip


def test_windows_are_half_open_and_may_be_unbounded() -> None:
    t_us, _, _ = _track(5)
    at = [T0 + timedelta(minutes=i) for i in range(5)]
    assert judged_mask(t_us, [(at[1], at[3])]).tolist() == [False, True, True, False, False]
    assert judged_mask(t_us, [(None, at[1]), (at[4], None)]).tolist() == [
        True, False, False, False, True,
    ]  # fmt: skip
    assert not judged_mask(t_us, []).any()


@given(
    st.lists(st.tuples(st.integers(0, 19), st.booleans()), max_size=30),
    st.lists(st.tuples(st.integers(0, 20), st.integers(0, 20)), max_size=3),
)
def test_verdict_is_the_worst_citation_and_never_hides_one(
    cites: list[tuple[int, bool]], windows: list[tuple[int, int]]
) -> None:
    t_us, seq, dev = _track(20)
    at = [T0 + timedelta(minutes=i) for i in range(21)]
    got = verdicts(t_us, seq, dev, [("W-1", at[i], i, c) for i, c in cites],
                   [(at[a], at[b]) for a, b in windows])  # fmt: skip
    for i in range(20):
        mine = [c for j, c in cites if j == i]
        if any(mine):
            assert got[i] == Verdict.violation
        elif mine:
            assert got[i] == Verdict.uncertain
        else:
            inside = any(a <= i < b for a, b in windows)
            assert got[i] == (Verdict.compliant if inside else Verdict.not_judged)
