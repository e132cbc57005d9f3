"""Coverage and silences through the real path: a simulated watch publishes over MQTT, the real
ingester stores its fixes, the prosecutor reads ``GET /cases/{id}/compliance``.

Expected slots run from the assignment to now (never the future), less what a permit excuses;
covered slots never exceed them; a gap is a silence longer than the no-signal limit in force.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from api.compliance.score import Row
from tests.integration.verdicts.stage import (
    BASE,
    END,
    LIVE,
    OUT,
    PURPOSE,
    RuleSpec,
    Stage,
    enrol,
    every_minute,
    execute,
    inside,
    produces,
    rows,
    run,
    scored,
)

pytestmark = pytest.mark.integration


def test_a_clean_case_is_green_with_every_slot_covered(stage: Stage) -> None:
    case = enrol(stage, since=BASE, rules=[inside(stage)])
    run(case, every_minute(BASE, 120, LIVE))
    body = case.compliance(BASE, END)
    assert (body["code"], body["score"], body["points"]) == ("green", 100, [])
    cov = body["coverage"]
    assert (cov["expected_fixes"], cov["received_fixes"], cov["fixes_stored"]) == (120, 120, 120)
    assert (cov["share"], cov["longest_gaps"], cov["gap_count"]) == (1.0, [], 0)
    assert sum(d["expected_slots"] for d in cov["days"]) == 120
    assert all(d["covered_slots"] == d["expected_slots"] for d in cov["days"])
    assert case.alerts() == []


def test_the_future_is_never_expected_and_the_whole_measure_is_one_read(stage: Stage) -> None:
    case = enrol(stage, since=BASE, rules=[inside(stage)])
    run(case, every_minute(BASE, 120, LIVE))
    before = datetime.now(UTC)
    year = case.compliance(BASE - timedelta(days=300), before + timedelta(days=30))
    after = datetime.now(UTC)
    cov = year["coverage"]
    # Expected: the slots from the assignment to now, never the month ahead.
    assert (before - BASE).total_seconds() // 60 <= cov["expected_fixes"]
    assert cov["expected_fixes"] <= (after - BASE).total_seconds() // 60 + 1
    assert cov["received_fixes"] == 120
    days = cov["days"]
    shanghai = ZoneInfo("Asia/Shanghai")
    assert days[0]["day"] == str((BASE - timedelta(days=300)).astimezone(shanghai).date())
    assert days[-1]["day"] == str(after.astimezone(shanghai).date())  # no day of the future
    assert sum(d["expected_slots"] for d in days) == cov["expected_fixes"]
    assert sum(d["covered_slots"] for d in days) == 120
    # Silent since the last fix (two days): a gap from the last fix to now, and a veto.
    (gap,) = cov["longest_gaps"]
    assert gap["start"] == (BASE + timedelta(minutes=119, seconds=30)).isoformat().replace(
        "+00:00", "Z"
    )
    assert Row.silence_over_24h.value in rows(year)
    too_long = stage.client.get(
        f"/cases/{case.case_id}/compliance",
        params={"from": (BASE - timedelta(days=401)).isoformat(), "to": BASE.isoformat(),
                "purpose": PURPOSE},
        headers=stage.token("pros1"),
    )  # fmt: skip
    assert too_long.status_code == 400
    assert too_long.headers["content-type"].startswith("application/problem+json")
    assert "400 days" in too_long.json()["detail"]


@produces(Row.coverage_below_95)
def test_missing_fixes_cost_coverage(stage: Stage) -> None:
    case = enrol(stage, since=BASE, rules=[inside(stage)])
    run(case, [f for i, f in enumerate(every_minute(BASE, 120, LIVE)) if i % 10 != 3])
    body = case.compliance(BASE, END)
    scored(body, Row.coverage_below_95)
    assert (body["code"], body["score"]) == ("green", 90)
    assert body["points"][0]["reason"] == "coverage 90.0% of expected slots"
    assert body["coverage"]["longest_gaps"] == []  # two-minute pauses are not gaps


@produces(Row.coverage_below_80, Row.silence)
def test_an_hour_of_silence_is_a_gap_unless_a_permit_excuses_it(stage: Stage) -> None:
    case = enrol(stage, since=BASE, rules=[inside(stage)])
    run(case, every_minute(BASE, 60, LIVE))
    body = case.compliance(BASE, END)
    scored(body, Row.coverage_below_80, Row.silence)
    assert (body["code"], body["score"]) == ("yellow", 70)
    assert body["points"][1]["reason"] == "60 min without fixes (limit 30 min)"
    assert body["coverage"]["longest_gaps"][0]["limit_minutes"] == 30

    hospital = enrol(stage, since=BASE, rules=[inside(stage), ("no_signal", None, {}, {}, None)])
    execute(
        stage.settings,
        "INSERT INTO leave_permits (case_id, status, reason, suspended_rule_ids, window_start, "
        "window_end) VALUES (%s, 'approved', '住院手术', %s, %s, %s)",
        hospital.case_id, [hospital.rule_ids[1]], BASE + timedelta(minutes=60), END,
    )  # fmt: skip
    run(hospital, every_minute(BASE, 60, LIVE))
    excused = hospital.compliance(BASE, END)
    assert (excused["code"], excused["score"], excused["points"]) == ("green", 100, [])
    cov = excused["coverage"]
    assert (cov["expected_fixes"], cov["received_fixes"], cov["share"]) == (60, 60, 1.0)


@produces(Row.coverage_below_80, Row.silence, Row.silence_over_24h)
def test_a_day_without_fixes_vetoes(stage: Stage) -> None:
    start = BASE - timedelta(hours=24)
    case = enrol(stage, since=start, rules=[inside(stage)])
    run(case, every_minute(start, 30, LIVE) + every_minute(END - timedelta(minutes=30), 30, LIVE))
    body = case.compliance(start, END)
    scored(body, Row.coverage_below_80, Row.silence, Row.silence_over_24h)
    assert body["code"] == "red"
    assert body["points"][2]["veto"]
    assert body["coverage"]["gap_count"] == 1


def test_a_silence_within_the_cases_no_signal_rule_is_no_gap(stage: Stage) -> None:
    """41 minutes without fixes against a no_signal rule of an hour (the case's own limit is
    30 minutes): the rule in force decides."""
    hour: RuleSpec = ("no_signal", None, {}, {"no_signal_after_s": 3600}, None)
    case = enrol(stage, since=BASE, rules=[inside(stage), hour])
    run(case, every_minute(BASE, 29, LIVE) + every_minute(BASE + timedelta(minutes=70), 50, LIVE))
    body = case.compliance(BASE, END)
    scored(body, Row.coverage_below_80)
    cov = body["coverage"]
    assert (cov["gap_count"], cov["longest_gaps"], cov["received_fixes"]) == (0, [], 79)


def test_a_permit_cut_short_counts_until_its_cancellation(stage: Stage) -> None:
    """Away 00:00-01:00 under a leave for 00:00-03:00 that was cancelled at 00:30: the half hour
    after the cancellation is time outside, and the return is judged from the cancellation."""
    case = enrol(stage, since=BASE, rules=[inside(stage)])
    cut = BASE + timedelta(minutes=30)
    execute(
        stage.settings,
        "INSERT INTO leave_permits (case_id, status, reason, suspended_rule_ids, window_start, "
        "window_end, cancelled_at, cancel_note, ended_at) VALUES (%s, 'cancelled', '探视', %s, "
        "%s, %s, %s, '召回', %s)",
        case.case_id, [case.rule_ids[0]], BASE, BASE + timedelta(hours=3), cut, cut,
    )  # fmt: skip
    run(case, every_minute(BASE, 60, OUT) + every_minute(BASE + timedelta(hours=1), 180, LIVE))
    body = case.compliance(BASE, BASE + timedelta(hours=4))
    assert body["minutes_outside_permitted"] == 30
    (line,) = body["leave_permits"]
    assert (line["status"], line["adherence"]) == ("cancelled", "not_kept")
    assert line["ended_at"] == cut.isoformat().replace("+00:00", "Z")
    assert Row.permit_not_kept.value in rows(body)


def test_monitoring_ends_at_release(stage: Stage) -> None:
    """Released an hour in: the second hour is neither expected nor a silence."""
    case = enrol(stage, since=BASE, rules=[inside(stage)])
    released = BASE + timedelta(hours=1)
    execute(stage.settings, "UPDATE cases SET status = 'released', released_at = %s WHERE id = %s",
            released, case.case_id)  # fmt: skip
    run(case, every_minute(BASE, 60, LIVE))
    body = case.compliance(BASE, END)
    assert (body["code"], body["score"], body["points"]) == ("green", 100, [])
    cov = body["coverage"]
    assert (cov["expected_fixes"], cov["received_fixes"], cov["gap_count"]) == (60, 60, 0)
