"""The same verdict whatever the batching (issue 17, finding 7).

A watch's messages (each one fix or an offline buffer of several) arrive in some order; the
ingester groups consecutive messages into batches as they come. Whatever the grouping, the
engine must give the same episodes, the same ``late`` findings with the same spans, the same
evidence and the same final states: order and lateness are functions of the fixes and their
arrival alone.
"""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from geofence.engine import GeofenceEngine
from geofence.events import EventKind, GeofenceEvent
from geofence.models import Fix, RuleKind
from tests.unit.geofence.helpers import at, circle, engine, fix, rule, square

CITY = square(1, 5_000)
HOME = circle(2, 300, east_m=2_000)
RULES = [
    rule(1, RuleKind.STAY_INSIDE, 1, n=2),
    rule(2, RuleKind.STAY_OUTSIDE, 2, n=1),
    rule(3, RuleKind.STAY_OUTSIDE, 2, n=3, case=2),
]
ZONES = [CITY, HOME]
#: Where a fix may be: inside the city, in the exclusion zone, outside the city, uncertain.
PLACES = [(0.0, 10.0), (2_000.0, 10.0), (9_000.0, 10.0), (4_990.0, 150.0), (-1_500.0, 10.0)]

Message = list[Fix]


@st.composite
def uploads(draw: st.DrawFn) -> list[Message]:
    """Two watches' tracks (30 s apart fixes), each cut into messages of 1-6 fixes; some
    messages are held back (an offline buffer) and sent after later ones; every message gets
    its receive time in sending order."""
    messages: list[Message] = []
    for device, case in (("w1", 1), ("w2", 2)):
        places = draw(st.lists(st.sampled_from(PLACES), min_size=1, max_size=24))
        track = [
            fix(east, acc=acc, t=30 * i, seq=i, device=device, case=case)
            for i, (east, acc) in enumerate(places)
        ]
        i = 0
        while i < len(track):
            n = draw(st.integers(1, 6))
            messages.append(track[i : i + n])
            i += n
    order = draw(st.permutations(range(len(messages))))
    sent = [messages[k] for k in order]
    return [
        [replace(f, received_at=at(10_000 + k)) for f in message] for k, message in enumerate(sent)
    ]


def feed(messages: list[Message], cuts: set[int]) -> tuple[GeofenceEngine, list[GeofenceEvent]]:
    """Evaluate ``messages`` with a new batch starting at each index in ``cuts``."""
    e = engine(RULES, ZONES)
    events: list[GeofenceEvent] = []
    batch: list[Fix] = []
    for k, message in enumerate(messages):
        if k in cuts and batch:
            events += e.evaluate(batch).events
            batch = []
        batch += message
    if batch:
        events += e.evaluate(batch).events
    return e, events


def verdicts(events: list[GeofenceEvent]) -> list[tuple[object, ...]]:
    """Episodes (openings, clearings, late findings with their spans and evidence), in order
    per (case, rule), and the evidence fixes of each episode (however evidence events were
    merged)."""
    episodes = sorted(
        (
            (e.case_id, e.rule_id, e.kind.value, e.start, e.end, e.reason, e.evidence)
            for e in events
            if e.kind is not EventKind.EVIDENCE_APPENDED
        ),
        key=lambda row: (row[0], row[1]),
    )
    evidence = sorted(
        (e.episode_key, ref.device_id, ref.fix_time, ref.seq)
        for e in events
        if e.kind is EventKind.EVIDENCE_APPENDED
        for ref in e.evidence
    )
    return [*episodes, *evidence]


@settings(max_examples=150, deadline=None)
@given(uploads(), st.sets(st.integers(0, 40)), st.sets(st.integers(0, 40)))
def test_any_batching_gives_the_same_verdicts(messages, cuts_a, cuts_b) -> None:
    one_by_one, expected = feed(messages, set(range(len(messages))))
    no_cuts: set[int] = set()
    for cuts in (cuts_a, cuts_b, no_cuts):
        e, got = feed(messages, cuts)
        assert verdicts(got) == verdicts(expected)
        for case_id, rule_id in ((1, 1), (1, 2), (2, 3)):
            assert e.state(case_id, rule_id) == one_by_one.state(case_id, rule_id)


def test_current_fix_then_buffer_in_one_batch_is_late_and_leaves_the_state_compliant() -> None:
    """The reported case: the current fix (3 km out of the exclusion zone) then the offline
    buffer (inside it), in one batch or 2 s apart: a late violation with the buffer's span, and
    no open episode."""
    current = [replace(fix(5_000, t=600, seq=20), received_at=at(601))]
    buffer = [
        replace(fix(2_000, t=300 + 30 * k, seq=10 + k), received_at=at(603)) for k in range(5)
    ]
    for cuts in (set(), {1}):
        e, events = feed([current, buffer], cuts)
        (found,) = [ev for ev in events if ev.rule_id == 2]
        assert found.kind is EventKind.LATE_VIOLATION
        assert (found.start, found.end) == (at(300), at(420))
        assert e.state(1, 2).condition == "compliant"
