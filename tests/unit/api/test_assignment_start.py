"""The bounds of an assignment's start (api.devices.logic), as properties over random moments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from api.devices.logic import StartBounds, start_refusal

NOW = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)
DAY = 86_400.0

offsets = st.floats(min_value=-3 * DAY, max_value=DAY, allow_nan=False)
maybe_offsets = st.none() | offsets


def at(offset_s: float | None) -> datetime | None:
    return None if offset_s is None else NOW + timedelta(seconds=offset_s)


@given(
    start=offsets, measure=maybe_offsets, current=maybe_offsets, end=maybe_offsets,
    max_back=st.floats(min_value=60, max_value=7 * DAY),
)  # fmt: skip
def test_a_start_is_accepted_exactly_when_every_bound_holds(
    start: float, measure: float | None, current: float | None, end: float | None,
    max_back: float,
) -> None:  # fmt: skip
    s = at(start)
    assert s is not None
    bounds = StartBounds(
        now=NOW, max_back_s=max_back, measure_start=at(measure), current_start=at(current),
        valid_to=at(end),
    )  # fmt: skip
    within = (
        NOW - timedelta(seconds=max_back) <= s <= NOW
        and (bounds.measure_start is None or s >= bounds.measure_start)
        and (bounds.valid_to is None or s < bounds.valid_to)
        and (bounds.current_start is None or s < bounds.current_start)
    )
    refusal = start_refusal(s, bounds)
    assert (refusal is None) == within
    if refusal is not None:
        assert s.isoformat() in refusal  # the refusal names the start it refuses


def test_each_bound_has_its_own_words() -> None:
    bounds = StartBounds(
        now=NOW, max_back_s=DAY, measure_start=NOW - timedelta(hours=10),
        current_start=NOW - timedelta(hours=1), valid_to=None,
    )  # fmt: skip
    cases = {
        NOW + timedelta(minutes=1): "in the future",
        NOW - timedelta(hours=25): "more than 24 h ago",
        NOW - timedelta(hours=11): "before the measure began",
        NOW - timedelta(minutes=30): "only be moved earlier",
    }
    for start, words in cases.items():
        refusal = start_refusal(start, bounds)
        assert refusal is not None, start
        assert words in refusal, (start, refusal)
    assert start_refusal(NOW - timedelta(hours=2), bounds) is None
    ended = StartBounds(now=NOW, max_back_s=DAY, valid_to=NOW - timedelta(hours=3))
    refusal = start_refusal(NOW - timedelta(hours=3), ended)
    assert refusal is not None
    assert "end" in refusal
