"""What the engine records beside its stored states gives exactly the general path's states.

``SlotStates.move`` records the commonest hysteresis moves (a pending uncertain run starting or
ending, evidence of an open violation) without building a ``RuleState``. An engine whose slots
admit no move steps every such observation through ``hysteresis.update`` / ``hold`` (the previous
code path); both must export the same states and emit the same events, batch after batch,
whatever the verdicts, late fixes, permits and restarts.
"""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from geofence.engine import GeofenceEngine
from geofence.hysteresis import Observation, step, update
from geofence.models import FixRef, Grace, LeavePermit, Rule, RuleKind, Verdict
from geofence.slots import SlotStates
from geofence.state import Condition, RuleState, Run
from tests.unit.geofence.helpers import T0, at, circle, fix, square


class _GeneralOnly(SlotStates):
    """Slots that admit no move: every observation takes the general path."""

    def move(self, slot: int, verdict: int, t_ms: int, device_id: str, seq: int) -> bool:
        return False


class _GeneralEngine(GeofenceEngine):
    """The engine as it was before moves were recorded beside the stored states."""

    def _reset_slots(self) -> None:
        super()._reset_slots()
        self._slots = _GeneralOnly(self._book.keys, self._book.rules)


CITY = square(1, 1_000)
HOME = circle(2, 300, east_m=2_000)
DEVICES = (("w1", 1), ("w2", 1), ("w3", 2))
# (east metres, accuracy): deep inside, on the line (uncertain), outside, in the circle.
PLACES = (
    (0.0, 10.0),
    (995.0, 30.0),
    (1_005.0, 40.0),
    (1_000.0, 300.0),
    (1_300.0, 10.0),
    (2_000.0, 10.0),
    (1_950.0, 150.0),
)

graces = st.builds(
    Grace, st.integers(1, 3), st.sampled_from([0.0, 45.0]), st.integers(1, 3), st.just(0.0)
)
steps = st.lists(
    st.tuples(
        st.integers(0, len(DEVICES) - 1),
        st.integers(0, len(PLACES) - 1),
        st.sampled_from([30, 30, 30, 1, -200]),  # seconds after the device's last fix (<0: late)
        st.booleans(),  # end the batch after this fix
        st.integers(0, 40),  # restart after this fix when 0
    ),
    min_size=1,
    max_size=60,
)


def _rules(inside: Grace, outside: Grace) -> list[Rule]:
    rules = []
    for case in (1, 2):
        rules.append(Rule(1, case, RuleKind.STAY_INSIDE, 1, inside))
        rules.append(Rule(2, case, RuleKind.STAY_OUTSIDE, 2, outside))
    return rules


def _engine(kind: type[GeofenceEngine], rules: list[Rule], permit: bool) -> GeofenceEngine:
    engine = kind()
    engine.set_rules(rules, [CITY, HOME])
    if permit:
        window = (T0 + timedelta(seconds=300), T0 + timedelta(seconds=900))
        engine.set_permits([LeavePermit(7, 1, *window, frozenset({1}))])
    return engine


def _restarted(
    kind: type[GeofenceEngine], old: GeofenceEngine, rules: list[Rule], permit: bool
) -> GeofenceEngine:
    engine = _engine(kind, rules, permit)
    engine.load_states(old.export_states())
    engine.restore_tracks(old.tracks_snapshot())
    return engine


@settings(max_examples=300, deadline=None)
@given(steps, graces, graces, st.booleans())
def test_recorded_moves_equal_the_general_path(plan, inside, outside, permit):
    rules = _rules(inside, outside)
    fast, general = _engine(GeofenceEngine, rules, permit), _engine(_GeneralEngine, rules, permit)
    clock = [0.0] * len(DEVICES)
    batch = []
    for n, (device, place, gap, cut, restart) in enumerate(plan):
        clock[device] = max(clock[device] + gap, 0.0)
        name, case = DEVICES[device]
        east, acc = PLACES[place]
        batch.append(fix(east, t=clock[device], acc=acc, seq=n, device=name, case=case))
        if gap < 0:
            clock[device] -= gap  # a late fix does not move the device's clock
        if cut or n == len(plan) - 1:
            assert fast.evaluate(batch).events == general.evaluate(batch).events
            assert fast.export_states() == general.export_states()
            batch = []
        if restart == 0:
            fast = _restarted(GeofenceEngine, fast, rules, permit)
            general = _restarted(_GeneralEngine, general, rules, permit)


def test_moves_are_taken():
    """The equivalence above is not vacuous: the engine records pending runs and evidence."""
    engine = _engine(GeofenceEngine, _rules(Grace(), Grace()), False)
    slot = 0  # case 1, rule 1 (stay inside the square)
    engine.evaluate([fix(995, t=0, acc=30)])
    assert slot in engine._slots.pending
    engine.evaluate([fix(0, t=30)])
    assert slot not in engine._slots.pending
    for k in range(3):
        engine.evaluate([fix(1_300, t=60 + 30 * k)])
    assert engine._slots.extra_evidence == {slot: 1}
    assert engine.state(1, 1).condition is Condition.VIOLATING
    assert engine.state(1, 1).evidence_count == 3


runs = st.none() | st.builds(
    lambda c, t: Run(c, t, t + 1000 * c, (FixRef("w", at(t / 1000), 0),)),
    st.integers(1, 3),
    st.integers(0, 10_000),
)


@settings(max_examples=500, deadline=None)
@given(
    st.sampled_from([Condition.COMPLIANT, Condition.UNCERTAIN]),
    runs,
    runs,
    runs,
    st.sampled_from(Verdict),
    st.none() | st.just((7, 60_000)),
    graces,
)
def test_uncertainty_shortcuts_agree_with_step(
    condition, violating, pending, clearing, verdict, permit, grace
):
    """``update``'s one-state shortcuts near a boundary (pending uncertainty growing, opening,
    ending; an open uncertainty clearing) are ``step``'s results exactly."""
    start = None if condition is Condition.COMPLIANT else 5_000
    state = RuleState(1, 1, condition, start, "", 0, violating, pending, clearing, 20_000)
    obs = Observation(30_000, verdict, (FixRef("w", at(30), 0),), "", permit)
    rule = Rule(1, 1, RuleKind.STAY_INSIDE, 1, grace)
    assert update(state, obs, rule) == step(state, obs, rule)
