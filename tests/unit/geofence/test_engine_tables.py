"""Table tests of the engine on hand-made cases."""

from __future__ import annotations

from dataclasses import replace
from datetime import time

import pytest

from geofence.events import EventKind
from geofence.models import LeavePermit, RuleKind, Weekday, WeeklySchedule, Window
from geofence.state import Condition, RuleState
from tests.unit.geofence.helpers import at, circle, engine, fix, kinds, rule, run, square

OPEN, EVID, CLEAR = EventKind.EPISODE_OPENED, EventKind.EVIDENCE_APPENDED, EventKind.EPISODE_CLEARED
U_OPEN, U_CLEAR = EventKind.UNCERTAIN_OPENED, EventKind.UNCERTAIN_CLEARED

CITY = square(1, 5_000)  # the county: a 10 km square
HOME = circle(2, 200)  # the victim's home: 200 m circle at the centre


@pytest.mark.parametrize(
    ("name", "east_positions", "grace", "expected"),
    [
        ("jitter across the line does not open", [4990, 5010, 4990, 5010, 4990], 2, []),
        ("two certain fixes outside open", [4900, 5100, 5200], 2, [OPEN]),
        ("three needed, two are not enough", [5100, 5200, 4900, 5100], 3, []),
        ("one fix back does not clear", [5100, 5200, 4900, 5100], 2, [OPEN, EVID]),
        ("two fixes back clear", [5100, 5200, 4900, 4800], 2, [OPEN, CLEAR]),
        ("uncertain fixes neither open nor break a run", [5100, 5008, 5200], 2, [OPEN]),
    ],
)
def test_stay_inside_boundary_jitter(name, east_positions, grace, expected):
    e = engine([rule(1, RuleKind.STAY_INSIDE, n=grace)], [CITY])
    fixes = [fix(x, acc=5, t=60 * i) for i, x in enumerate(east_positions)]
    assert kinds(run(e, fixes)) == expected, name


def test_grace_in_seconds_needs_the_span():
    e = engine([rule(1, RuleKind.STAY_INSIDE, n=1, secs=120)], [CITY])
    events = run(e, [fix(6000, t=0), fix(6000, t=60), fix(6000, t=119)])
    assert events == []
    (opened,) = run(e, [fix(6000, t=121)])
    assert opened.kind is OPEN
    assert opened.start == at(0)
    assert [r.fix_time for r in opened.evidence] == [at(0), at(60), at(119), at(121)]


def test_coarse_cell_fix_near_county_line_is_uncertain_not_a_violation():
    e = engine([rule(1, RuleKind.STAY_INSIDE, n=2)], [CITY])
    lbs = [fix(5300, acc=800, t=60 * i) for i in range(4)]  # 300 m outside, disk 1.6 km
    events = run(e, lbs)
    assert kinds(events) == [U_OPEN]
    assert e.state(1, 1).condition is Condition.UNCERTAIN
    events = run(e, [fix(4000, t=300), fix(4000, t=360)])
    assert kinds(events) == [U_CLEAR]


def test_multipolygon_with_a_hole():
    donut = square(1, 2_000, hole_m=500)
    e = engine([rule(1, RuleKind.STAY_INSIDE, n=1)], [donut])
    assert run(e, [fix(1000, t=0)]) == []  # in the ring
    (opened,) = run(e, [fix(0, t=60)])  # in the hole: outside the zone
    assert opened.kind is OPEN
    assert kinds(run(e, [fix(-1500, t=120)])) == [CLEAR]


def test_crossing_an_exclusion_zone_between_two_fixes():
    e = engine([rule(1, RuleKind.STAY_OUTSIDE, 2, n=1)], [HOME])
    events = run(e, [fix(-1000, t=0), fix(1000, t=60)], batch=2)  # 2 km in a minute: plausible
    (opened,) = events
    assert (opened.kind, opened.reason) == (OPEN, "crossing")
    assert [r.fix_time for r in opened.evidence] == [at(0), at(60)]
    assert kinds(run(e, [fix(2000, t=120)])) == [CLEAR]


@pytest.mark.parametrize(
    ("name", "second"),
    [
        ("passes beside the zone", fix(1000, 400, t=60)),
        ("segment too long in time to trust", fix(1000, t=1000)),
        ("implausibly fast", fix(30000, t=60)),
        ("coarse fixes could have gone around", fix(1000, t=60, acc=150)),
    ],
)
def test_no_crossing(name, second):
    e = engine([rule(1, RuleKind.STAY_OUTSIDE, 2, n=1)], [HOME])
    assert run(e, [fix(-1000, 400 if "beside" in name else 0, t=0), second]) == [], name


def test_crossing_a_polygon_exclusion_zone_across_batches():
    block = square(3, 300)
    e = engine([rule(1, RuleKind.STAY_OUTSIDE, 3, n=1)], [block])
    assert run(e, [fix(-2000, t=0)]) == []
    (opened,) = run(e, [fix(2000, t=120)])
    assert opened.reason == "crossing"


CURFEW = WeeklySchedule(tuple(Window(Weekday(d), time(22), time(6)) for d in range(7)))


def test_midnight_crossing_curfew():
    e = engine([rule(1, RuleKind.BE_INSIDE_DURING, 2, n=2, schedule=CURFEW)], [HOME])
    # T0 is 10:00 local; 21:50 local is T0 + 11h50.
    base = 11 * 3600 + 50 * 60
    away = [fix(3000, t=base + 60 * k) for k in range(0, 30, 5)]  # 21:50..22:15 away from home
    events = run(e, away, batch=len(away))
    assert kinds(events) == [OPEN, EVID]
    assert events[0].start == at(base + 600)  # 22:00 local, the first fix in the window
    home_after_midnight = [fix(0, t=base + 3 * 3600 + 60 * k) for k in range(2)]  # 00:50
    (cleared,) = run(e, home_after_midnight)
    assert cleared.kind is CLEAR
    morning = base + 8 * 3600 + 10 * 60  # 06:00 local next day
    assert run(e, [fix(3000, t=morning + 60 * k) for k in range(3)]) == []


def test_curfew_episode_closes_when_the_window_ends():
    e = engine([rule(1, RuleKind.BE_INSIDE_DURING, 2, n=1, schedule=CURFEW)], [HOME])
    t_2330 = 13 * 3600 + 30 * 60
    t_0610 = t_2330 + 6 * 3600 + 40 * 60
    events = run(e, [fix(3000, t=t_2330), fix(3000, t=t_0610)])
    assert kinds(events) == [OPEN, CLEAR]
    assert events[1].reason == "schedule"


def test_permit_window_suspends_and_overdue_return_opens():
    e = engine([rule(1, RuleKind.STAY_INSIDE, n=2)], [CITY])
    e.set_permits([LeavePermit(7, 1, at(0), at(3600), frozenset({1}))])
    away = [fix(20_000, t=600 * k) for k in range(6)]  # away during the whole window
    assert run(e, away) == []
    late_back = [fix(20_000, t=3600 + 60 * k) for k in range(3)]
    events = run(e, late_back)
    assert kinds(events) == [OPEN, EVID]
    assert (events[0].reason, events[0].permit_id) == ("overdue_return", 7)
    assert events[0].start == at(3600)


def test_permit_destination_is_allowed_and_a_timely_return_is_clean():
    hospital = square(9, 1000)
    hospital = type(hospital)(
        9,
        hospital.kind,
        hospital.geometry.__class__([(x + 0.3, y) for x, y in hospital.geometry.exterior.coords]),
    )
    e = engine([rule(1, RuleKind.STAY_INSIDE, n=2)], [CITY, hospital])
    e.set_permits([LeavePermit(8, 1, at(0), at(3600), frozenset({1}), destination_zone_id=9)])
    east_of_hospital = (0.3 * 111_000 * 0.794, 0.0)
    at_hospital = [fix(*east_of_hospital, t=600 * k) for k in range(5)]
    assert run(e, at_hospital) == []
    (opened,) = run(e, [fix(40_000, t=3000), fix(40_000, t=3100)])[:1]
    assert opened.kind is OPEN  # inside the window but neither in the city nor at the hospital
    e2 = engine([rule(1, RuleKind.STAY_INSIDE, n=2)], [CITY, hospital])
    e2.set_permits([LeavePermit(8, 1, at(0), at(3600), frozenset({1}), destination_zone_id=9)])
    assert run(e2, [*at_hospital, *(fix(0, t=3700 + 60 * k) for k in range(3))]) == []
    assert e2.state(1, 1).return_due is None


def test_back_at_the_first_fix_after_a_permit_settles_the_return():
    """One compliant fix after the permit ended (or was cut short) settles the return: leaving
    again afterwards is an ordinary violation, not an overdue return."""
    e = engine([rule(1, RuleKind.STAY_INSIDE, n=2)], [CITY])
    e.set_permits([LeavePermit(7, 1, at(0), at(3600), frozenset({1}))])
    assert run(e, [fix(20_000, t=600 * k) for k in range(5)]) == []  # away under the permit
    assert run(e, [fix(0, t=3660)]) == []  # back
    assert e.state(1, 1).return_due is None
    events = run(e, [fix(20_000, t=4000 + 60 * k) for k in range(2)])
    assert kinds(events) == [OPEN]
    assert (events[0].reason, events[0].permit_id) == ("", None)


def test_permit_ending_early_covers_until_its_new_end():
    """A permit cut short (the engine is given the cancellation as its end): fixes before the
    cut stay covered, even when they arrive late; still away after it is an overdue return."""
    e = engine([rule(1, RuleKind.STAY_INSIDE, n=2)], [CITY])
    e.set_permits([LeavePermit(7, 1, at(0), at(7200), frozenset({1}))])
    assert run(e, [fix(20_000, t=600 * k) for k in range(3)]) == []
    e.set_permits([LeavePermit(7, 1, at(0), at(1800), frozenset({1}))])  # cancelled at 1800 s
    events = run(e, [fix(20_000, t=1900), fix(20_000, t=1960)])
    assert kinds(events) == [OPEN]
    assert (events[0].reason, events[0].permit_id) == ("overdue_return", 7)
    assert run(e, [fix(20_000, t=1500 + 60 * k) for k in range(3)]) == []  # late, covered


def test_late_fixes_report_a_late_violation_and_keep_the_current_state():
    e = engine([rule(1, RuleKind.STAY_INSIDE, n=2)], [CITY])
    assert run(e, [fix(0, t=3600)]) == []
    upload = at(3700)  # one offline buffer, received together
    late = [
        replace(f, received_at=upload)
        for f in (fix(9000, t=600), fix(9000, t=660), fix(9000, t=720), fix(0, t=780))
    ]
    (found,) = run(e, late, batch=4)
    assert found.kind is EventKind.LATE_VIOLATION
    assert (found.start, found.end) == (at(600), at(720))
    state = e.state(1, 1)
    assert state.condition is Condition.COMPLIANT
    assert state.watermark_ms is not None
    assert (
        state.watermark_ms
        == RuleState(1, 1, watermark_ms=(int(at(3600).timestamp() * 1000))).watermark_ms
    )
    assert run(e, late, batch=4) == []  # replayed late data is not reported twice


def test_late_fix_inside_a_known_episode_is_not_reported_again():
    e = engine([rule(1, RuleKind.STAY_INSIDE, n=2)], [CITY])
    assert kinds(run(e, [fix(9000, t=0), fix(9000, t=60), fix(9000, t=180)])) == [OPEN, EVID]
    assert run(e, [fix(9000, t=120), fix(9000, t=121)], batch=2) == []


def test_keep_away_from_protected_device():
    kaf = rule(
        1,
        RuleKind.KEEP_AWAY_FROM,
        None,
        n=1,
        params={"protected_device_id": "victim", "min_distance_m": 500},
    )
    e = engine([kaf], [])
    assert run(e, [fix(100, t=0)]) == []  # no known position of the victim: nothing to say
    e.observe_protected([fix(0, t=0, device="victim", case=0)])
    (opened,) = run(e, [fix(100, t=30)])
    assert opened.kind is OPEN
    assert kinds(run(e, [fix(480, t=60)])) == []  # within accuracy of the limit: uncertain
    assert kinds(run(e, [fix(2000, t=90)])) == [CLEAR]


def test_restart_neither_repeats_nor_forgets_an_episode():
    rules, zones = [rule(1, RuleKind.STAY_INSIDE, n=2)], [CITY]
    first = engine(rules, zones)
    assert kinds(run(first, [fix(9000, t=0), fix(9000, t=60)])) == [OPEN]
    saved = [s.to_json() for s in first.export_states()]
    second = engine(rules, zones)
    second.load_states(RuleState.from_json(s) for s in saved)
    assert kinds(run(second, [fix(9000, t=60), fix(9000, t=120)], batch=2)) == [EVID]
    assert kinds(run(second, [fix(0, t=180), fix(0, t=240)])) == [CLEAR]


def test_rule_validity_period():
    r = rule(1, RuleKind.STAY_INSIDE, n=1, valid_from=at(100), valid_to=at(200))
    e = engine([r], [CITY])
    assert run(e, [fix(9000, t=50)]) == []
    assert kinds(run(e, [fix(9000, t=150)])) == [OPEN]
    (closed,) = run(e, [fix(9000, t=250)])
    assert (closed.kind, closed.reason) == (CLEAR, "not_valid")


def test_event_keys_are_stable_and_json_ready():
    e = engine([rule(1, RuleKind.STAY_INSIDE, n=1)], [CITY])
    (opened,) = run(e, [fix(9000, t=0)])
    data = opened.to_json()
    assert data["key"] == f"1:1:violation:{int(at(0).timestamp() * 1000)}:episode_opened"
    assert data["evidence"] == [{"device_id": "w1", "fix_time": at(0).isoformat(), "seq": 0}]
