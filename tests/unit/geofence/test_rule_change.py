"""Rule changes between batches (issue 17, finding 4): a change of other rules never disturbs the
states of the rules that stay, and a new rule judges the fixes after it."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from geofence.events import EventKind
from geofence.models import RuleKind
from tests.unit.geofence.helpers import circle, engine, fix, rule, square

CITY = square(1, 5_000)
HOME = circle(2, 300, east_m=2_000)
KEPT = rule(1, RuleKind.STAY_INSIDE, 1, n=2)
#: Rules of another case that come and go.
OTHERS = [rule(10 + i, RuleKind.STAY_OUTSIDE, 2, case=2, n=1) for i in range(3)]

points = st.lists(
    st.tuples(st.floats(-7_000, 7_000, allow_nan=False), st.integers(0, 3)),
    min_size=1,
    max_size=30,
)


def test_a_rule_added_to_an_engine_with_states_keeps_them() -> None:
    """The reported crash: ``set_rules`` after any evaluation raised ``RuntimeError: dictionary
    changed size during iteration`` (the states were reloaded from the dict being emptied)."""
    e = engine([KEPT], [CITY])
    e.evaluate([fix(9_000, t=0), fix(9_000, t=30)])
    assert e.state(1, 1).condition == "violating"
    e.set_rules([KEPT, OTHERS[0]], [CITY, HOME])
    assert e.state(1, 1).condition == "violating"
    added = e.evaluate([fix(2_000, t=60, case=2, device="w2")]).events
    assert [ev.kind for ev in added] == [EventKind.EPISODE_OPENED]


@settings(max_examples=60, deadline=None)
@given(points)
def test_other_rules_coming_and_going_change_nothing_of_a_kept_rule(steps) -> None:
    """Case 1's events are the same whether or not case 2's rules change between its batches;
    a removed rule's state comes back with it."""
    still = engine([KEPT], [CITY])
    moving = engine([KEPT], [CITY])
    want, got = [], []
    for i, (east, others) in enumerate(steps):
        f = fix(east, t=30 * i)
        want += still.evaluate([f]).events
        got += moving.evaluate([f]).events
        moving.set_rules([KEPT, *OTHERS[:others]], [CITY, HOME])
        assert moving.state(1, 1) == still.state(1, 1)
    assert got == want
