"""Re-alert after a resolution (pure): which held fixes open a new alert, and when."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from alerts.episodes import after_resolution, fix_time_of, realert_due, successor_key
from geofence.models import Grace

RESOLVED = datetime(2026, 11, 2, 8, tzinfo=UTC)


def _fix(seconds: float, seq: int) -> dict[str, Any]:
    at = RESOLVED + timedelta(seconds=seconds)
    return {"device_id": "w1", "fix_time": at.isoformat(), "seq": seq}


def test_only_fixes_after_the_resolution_are_held() -> None:
    evidence: list[dict[str, Any]] = [_fix(-5, 0), _fix(0, 1), _fix(0.001, 2), _fix(30, 3)]
    evidence.append({"device_id": "w1"})
    assert [e["seq"] for e in after_resolution(evidence, RESOLVED)] == [2, 3]
    assert fix_time_of({"at": RESOLVED.isoformat()}) == RESOLVED
    assert fix_time_of({"seq": 1}) is None


def test_due_needs_the_rules_grace_and_the_delay_since_the_resolution() -> None:
    grace = Grace(open_after_fixes=3, open_after_s=20.0)
    first = RESOLVED + timedelta(seconds=10)

    def due(held: int, span_s: float, delay_s: float = 60.0) -> bool:
        last = first + timedelta(seconds=span_s)
        return realert_due(held=held, first=first, last=last, resolved_at=RESOLVED,
                           grace=grace, realert_after_s=delay_s)  # fmt: skip

    assert due(3, 50)  # 3 fixes over 50 s, last 60 s after the resolution
    assert not due(2, 50)  # too few fixes for the rule's grace
    assert not due(3, 19)  # the run is shorter than the rule's grace
    assert not due(3, 49)  # 59 s since the resolution: not yet
    assert due(3, 20, delay_s=0)  # no delay: the rule's grace alone


@given(
    held=st.integers(1, 50),
    span_s=st.floats(0, 3600),
    start_s=st.floats(0.001, 3600),
    delay_s=st.floats(0, 3600),
    fixes=st.integers(1, 10),
    grace_s=st.floats(0, 600),
    more=st.floats(0, 600),
)
def test_due_is_monotonic_in_what_is_held(
    held: int, span_s: float, start_s: float, delay_s: float, fixes: int, grace_s: float,
    more: float,
) -> None:  # fmt: skip
    """Once due, more fixes held later never make it not due; never due before the delay."""
    grace = Grace(open_after_fixes=fixes, open_after_s=grace_s)
    first = RESOLVED + timedelta(seconds=start_s)
    last = first + timedelta(seconds=span_s)
    kwargs = {"resolved_at": RESOLVED, "grace": grace, "realert_after_s": delay_s}
    now = realert_due(held=held, first=first, last=last, **kwargs)  # type: ignore[arg-type]
    later = realert_due(held=held + 1, first=first, last=last + timedelta(seconds=more),
                        **kwargs)  # type: ignore[arg-type]  # fmt: skip
    assert not now or later
    if (last - RESOLVED).total_seconds() < delay_s:
        assert not now


def test_the_successor_is_named_by_its_episode_and_predecessor() -> None:
    assert (
        successor_key("7:3:violation:1700000000000", 42) == "7:3:violation:1700000000000:after:42"
    )
    assert successor_key("k", 1) != successor_key("k", 2)
