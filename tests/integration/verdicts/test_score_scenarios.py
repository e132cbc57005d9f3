"""Every line of the scoring table and every veto, produced through the real path (findings
and alerts here; coverage and silences in ``test_coverage_scenarios``).

A simulated watch with its own device credentials publishes fixes, statuses and events over MQTT
(with explicit past times, so no scenario waits in real time); the real ingester stores and
judges them and raises the alerts; officers resolve alerts through the API; the prosecutor reads
``GET /cases/{id}/compliance``. No alert, alert event, geofence state or fix is written by hand.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from api.compliance.score import TABLE, Row
from tests.integration.verdicts import test_coverage_scenarios
from tests.integration.verdicts.stage import (
    BASE,
    EDGE,
    END,
    LIVE,
    NEAR_VICTIM,
    ONE_FIX,
    OUT,
    PAST_VICTIM,
    PRODUCES,
    Case,
    RuleSpec,
    Stage,
    enrol,
    every_minute,
    execute,
    inside,
    produces,
    protect,
    rows,
    run,
    scored,
    wait_stored,
)

pytestmark = pytest.mark.integration


@produces(Row.outside)
def test_time_outside_within_the_grace_costs_points_without_an_alert(stage: Stage) -> None:
    case = enrol(stage, since=BASE, rules=[inside(stage, {"open_after_fixes": 5})])
    path = every_minute(BASE, 120, LIVE)
    path[50:53] = every_minute(BASE + timedelta(minutes=50), 3, OUT)
    run(case, path)
    body = case.compliance(BASE, END)
    scored(body, Row.outside)
    assert (body["code"], body["score"]) == ("green", 90)
    assert body["minutes_outside_permitted"] == 3
    assert case.alerts() == []


def _departure(stage: Stage) -> tuple[Case, dict[str, Any]]:
    case = enrol(stage, since=BASE, rules=[inside(stage)])
    path = every_minute(BASE, 120, LIVE)
    path[40:50] = every_minute(BASE + timedelta(minutes=40), 10, OUT)
    run(case, path)
    (alert,) = case.wait_alerts("left_permitted_area")
    return case, alert


@produces(Row.outside, Row.breach_open, Row.breach_confirmed)
def test_a_departure_is_not_green_while_open_and_a_veto_once_confirmed(stage: Stage) -> None:
    case, alert = _departure(stage)
    pending = case.compliance(BASE, END)
    scored(pending, Row.outside, Row.breach_open)
    assert (pending["code"], pending["score"]) == ("yellow", 65)
    assert "not yet resolved" in pending["points"][1]["reason"]
    case.resolve(alert, "violation_confirmed")
    body = case.compliance(BASE, END)
    scored(body, Row.outside, Row.breach_confirmed)
    assert body["code"] == "red"
    assert body["points"][1]["veto"]
    assert f"alert #{alert['id']} left_permitted_area" in body["points"][1]["reason"]
    assert body["points"][1]["reason_zh"] == f"告警 #{alert['id']}（离开允许区域）：违规属实"
    assert body["violations_by_kind"] == [
        {"kind": "left_permitted_area", "count": 1, "dispositions": {"violation_confirmed": 1}}
    ]


@produces(Row.outside, Row.explained)
def test_a_departure_resolved_as_a_false_alarm_lifts_the_veto(stage: Stage) -> None:
    case, alert = _departure(stage)
    case.resolve(alert, "false_alarm")
    body = case.compliance(BASE, END)
    scored(body, Row.outside, Row.explained)
    assert (body["code"], body["score"]) == ("green", 90)
    assert body["points"][1]["reason"].endswith("resolved as false_alarm")


@produces(Row.outside, Row.breach_confirmed)
def test_entering_the_victims_exclusion_zone_confirmed_is_a_veto(stage: Stage) -> None:
    victim: RuleSpec = ("stay_outside", stage.world.zone_victim, ONE_FIX, {}, None)
    case = enrol(stage, since=BASE, rules=[victim])
    path = every_minute(BASE, 120, NEAR_VICTIM)
    path[30:35] = every_minute(BASE + timedelta(minutes=30), 5, (118.55, 37.45))
    run(case, path)
    (alert,) = case.wait_alerts("entered_exclusion_zone")
    case.resolve(alert, "violation_confirmed")
    body = case.compliance(BASE, END)
    scored(body, Row.outside, Row.breach_confirmed)
    assert body["code"] == "red"


@produces(Row.breach_confirmed)
def test_coming_too_close_to_the_protected_person_confirmed_is_a_veto(stage: Stage) -> None:
    victim_device = f"pp-{uuid.uuid4().hex[:8]}"
    params = {"protected_device_id": victim_device, "min_distance_m": 500}
    away: RuleSpec = ("keep_away_from", None, ONE_FIX, params, None)
    case = enrol(stage, since=BASE, rules=[away])
    victim = protect(case, victim_device, since=BASE)
    elsewhere = (118.66, 37.45)  # 2.6 km west of the defendant's home
    # The engine compares with the protected person's latest position: both watches report
    # as the day goes, the victim's fixes stored first in each phase.
    try:
        for minute, span, where in ((0, 50, elsewhere), (50, 10, LIVE), (60, 60, elsewhere)):
            start = BASE + timedelta(minutes=minute)
            victim.fixes([(t - timedelta(seconds=10), lo, la, acc)
                          for t, lo, la, acc in every_minute(start, span, where)])  # fmt: skip
            wait_stored(stage.settings, victim)
            case.watch.fixes(every_minute(start, span, LIVE))
            case.wait_stored()
    finally:
        victim.close()
        case.watch.close()
    (alert,) = case.wait_alerts("too_close_to_protected_person")
    case.resolve(alert, "violation_confirmed")
    body = case.compliance(BASE, END)
    scored(body, Row.breach_confirmed)
    assert body["code"] == "red"
    cov = body["coverage"]  # the protected person's fixes are not the defendant's coverage
    assert (cov["expected_fixes"], cov["received_fixes"], cov["fixes_stored"]) == (120, 120, 120)


@produces(Row.breach_confirmed)
def test_crossing_the_exclusion_zone_confirmed_is_a_veto(stage: Stage) -> None:
    victim: RuleSpec = ("stay_outside", stage.world.zone_victim, ONE_FIX, {}, None)
    case = enrol(stage, since=BASE, rules=[victim])
    path = [
        *every_minute(BASE, 60, NEAR_VICTIM),
        (BASE + timedelta(minutes=60, seconds=30), 118.545, 37.45, 8.0),
        (BASE + timedelta(minutes=61, seconds=30), 118.555, 37.45, 8.0),
        *every_minute(BASE + timedelta(minutes=62), 58, PAST_VICTIM),
    ]
    run(case, path)
    (alert,) = case.wait_alerts("crossed_exclusion_zone")
    case.resolve(alert, "violation_confirmed")
    body = case.compliance(BASE, END)
    scored(body, Row.breach_confirmed)  # no fix inside: no time outside either
    assert body["code"] == "red"


@produces(Row.outside, Row.breach_confirmed, Row.permit_not_kept)
def test_staying_away_after_leave_is_a_veto_and_the_permit_not_kept(stage: Stage) -> None:
    case = enrol(stage, since=BASE, rules=[inside(stage)])
    execute(
        stage.settings,
        "INSERT INTO leave_permits (case_id, status, reason, suspended_rule_ids, window_start, "
        "window_end, decided_by, decided_at) VALUES (%s, 'approved', '探亲', %s, %s, %s, %s, %s)",
        case.case_id, [case.rule_ids[0]], BASE + timedelta(minutes=10),
        BASE + timedelta(minutes=40), stage.world.users["super1"], BASE,
    )  # fmt: skip
    path = every_minute(BASE, 180, LIVE)
    path[10:70] = every_minute(BASE + timedelta(minutes=10), 60, OUT)
    run(case, path)
    (alert,) = case.wait_alerts("overdue_return")
    case.resolve(alert, "violation_confirmed")
    body = case.compliance(BASE, BASE + timedelta(hours=3))
    scored(body, Row.outside, Row.breach_confirmed, Row.permit_not_kept)
    assert body["code"] == "red"
    assert body["minutes_outside_permitted"] == 30
    assert body["leave_permits"][0]["adherence"] == "not_kept"


@produces(Row.strap_unexplained, Row.explained)
def test_a_strap_opening_vetoes_until_explained(stage: Stage) -> None:
    case = enrol(stage, since=BASE, rules=[inside(stage)])
    try:
        case.watch.fixes(every_minute(BASE, 120, LIVE))
        case.watch.status(BASE + timedelta(minutes=30), strap="open", batt=80)
        case.watch.status(BASE + timedelta(minutes=40), strap="closed", batt=80)
        case.wait_stored()
        (alert,) = case.wait_alerts("strap_opened")
    finally:
        case.watch.close()
    body = case.compliance(BASE, END)
    scored(body, Row.strap_unexplained)
    assert body["code"] == "red"
    case.resolve(alert, "technical_fault")
    explained = case.compliance(BASE, END)
    scored(explained, Row.explained)
    assert (explained["code"], explained["score"]) == ("green", 100)


@produces(Row.curfew_confirmed)
def test_a_confirmed_curfew_breach_costs_45(stage: Stage) -> None:
    night = {"windows": [{"days": [0, 1, 2, 3, 4, 5, 6], "start": "00:00", "end": "23:59"}]}
    curfew: RuleSpec = ("be_inside_during", stage.home_zone, ONE_FIX, {}, night)
    case = enrol(stage, since=BASE, rules=[curfew], measure="residential_surveillance")
    path = every_minute(BASE, 120, LIVE)
    path[20:30] = every_minute(BASE + timedelta(minutes=20), 10, (118.67, 37.45))
    run(case, path)
    (alert,) = case.wait_alerts("curfew_broken")
    case.resolve(alert, "violation_confirmed")
    body = case.compliance(BASE, END)
    scored(body, Row.curfew_confirmed)
    assert (body["code"], body["score"]) == ("red", 55)  # below 60: red by the score
    assert not body["points"][0]["veto"]


@produces(Row.device_confirmed, Row.alert_open)
def test_device_conditions_cost_20_confirmed_and_5_while_open(stage: Stage) -> None:
    case = enrol(stage, since=BASE, rules=[inside(stage)])
    try:
        case.watch.fixes(every_minute(BASE, 30, LIVE))
        case.watch.event(BASE + timedelta(minutes=30), "power_off")
        case.watch.fixes(every_minute(BASE + timedelta(minutes=31), 89, LIVE))
        case.watch.status(BASE + timedelta(minutes=100), batt=3, charging=False)
        case.wait_stored()
        off, low = case.wait_alerts("powered_off", "battery_critical")
    finally:
        case.watch.close()
    case.resolve(off, "violation_confirmed")
    body = case.compliance(BASE, END)
    scored(body, Row.device_confirmed, Row.alert_open)
    assert (body["code"], body["score"]) == ("yellow", 75)
    assert f"alert #{low['id']} battery_critical" in body["points"][1]["reason"]


@produces(Row.uncertain)
def test_uncertain_positions_never_make_red(stage: Stage) -> None:
    case = enrol(stage, since=BASE, rules=[inside(stage)])
    run(case, every_minute(BASE, 120, EDGE, acc=200.0))
    case.wait_alerts("location_uncertain")
    body = case.compliance(BASE, END)
    assert set(rows(body)) == {Row.uncertain.value}
    assert body["code"] == "green"
    assert body["score"] == 90  # at most 10 points however many alerts and minutes
    assert body["minutes_outside_permitted"] == 0
    assert body["minutes_uncertain"] > 100


@produces(Row.deposit_forfeited)
def test_a_forfeited_deposit_costs_10_shown_in_yuan(stage: Stage) -> None:
    case = enrol(stage, since=BASE, rules=[inside(stage)])
    execute(
        stage.settings,
        "INSERT INTO deposits (case_id, kind, amount_fen, payer, account_number, account_holder, "
        "status, held_fen, forfeited_fen, version) VALUES (%s, 'bail', 1000000, '张三', '6222', "
        "'保证金专户', 'forfeited_in_part', 500000, 500000, 3)",
        case.case_id,
    )  # fmt: skip
    run(case, every_minute(BASE, 120, LIVE))
    body = case.compliance(BASE, END)
    scored(body, Row.deposit_forfeited)
    assert (body["code"], body["score"]) == ("green", 90)
    assert body["points"][0]["reason"] == "bail deposit forfeited: ¥5,000.00"
    assert body["points"][0]["reason_zh"] == "保证金被没收：5,000.00 元"


def test_every_line_of_the_table_has_a_scenario() -> None:
    """Each line of the table is produced (and asserted) by at least one scenario of this
    module or of ``test_coverage_scenarios``."""
    tests = {n for n in [*globals(), *vars(test_coverage_scenarios)] if n.startswith("test_")}
    assert set(PRODUCES) <= tests
    assert {line.row for line in TABLE} == set().union(*PRODUCES.values())
