"""Every line of the scoring table and every veto, produced through the real path.

A simulated watch with its own device credentials publishes fixes, statuses and events over MQTT
(with explicit past times, so no scenario waits in real time); the real ingester stores and
judges them and raises the alerts; officers resolve alerts through the API; the prosecutor reads
``GET /cases/{id}/compliance``. No alert, alert event, geofence state or fix is written by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from psycopg.types.json import Jsonb

from api.app import create_app
from api.compliance.score import TABLE, Row
from config.settings import Settings
from tests.integration.api import world
from tests.integration.ingest.helpers import ingester
from tests.integration.verdicts.stage import (
    ONE_FIX,
    PURPOSE,
    Case,
    RuleSpec,
    Stage,
    enrol,
    every_minute,
    execute,
    rows,
)
from tests.support import services

pytestmark = pytest.mark.integration

#: Where the scenarios happen (the world's city is the square 118.30-118.70 E, 37.25-37.65 N;
#: the victim's exclusion zone a 300 m circle at 118.55 E, 37.45 N).
LIVE = (118.69, 37.45)  # at home, 880 m inside the city's eastern edge
OUT = (118.72, 37.45)  # 1.8 km outside it
EDGE = (118.70, 37.45)  # on the edge: with 200 m accuracy, uncertain
NEAR_VICTIM = (118.54, 37.45)  # 880 m west of the victim's home
PAST_VICTIM = (118.56, 37.45)
#: Start of every scenario: two days ago, on the hour (fixes are in the past, never waited for).
BASE = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=2)
END = BASE + timedelta(hours=2)
#: The table lines each scenario produces (each scenario asserts exactly its lines).
PRODUCES: dict[str, set[Row]] = {}
F = TypeVar("F", bound=Callable[..., None])


def produces(*lines: Row) -> Callable[[F], F]:
    def register(test: F) -> F:
        PRODUCES[test.__name__] = set(lines)
        return test

    return register


@pytest.fixture(scope="module")
def stage(services_ready: Settings) -> Iterator[Stage]:
    with services.fresh_database(services_ready) as db:
        settings = services.isolated_mqtt(db)
        w = world.build(settings)
        home = execute(
            settings,
            "INSERT INTO zones (unit_id, name, kind, geometry, radius_m) VALUES "
            "(%s, '住处', 'circle', %s, 500) RETURNING id",
            w.units["P1"], Jsonb({"type": "Point", "coordinates": list(LIVE)}),
        )  # fmt: skip
        tokens: dict[str, dict[str, str]] = {}
        try:
            with ingester(settings), TestClient(create_app(settings)) as client:

                def token(username: str) -> dict[str, str]:
                    if username not in tokens:
                        login = {"username": username, "password": world.password(username)}
                        r = client.post("/auth/token", data=login)
                        assert r.status_code == 200, r.text
                        tokens[username] = {"Authorization": f"Bearer {r.json()['access_token']}"}
                    return tokens[username]

                yield Stage(settings, w, client, token, int(home))
        finally:
            services.drop_mqtt_session(settings, settings.ingest.client_id)


def _inside(stage: Stage, grace: dict[str, Any] | None = None) -> RuleSpec:
    return ("stay_inside", stage.world.zone_city, grace or ONE_FIX, {}, None)


def _scored(body: dict[str, Any], *expected: Row) -> None:
    """The report's points come from exactly the ``expected`` lines, in order."""
    assert rows(body) == [r.value for r in expected], body["points"]


def _run(case: Case, fixes: list[tuple[datetime, float, float, float]]) -> None:
    try:
        case.watch.fixes(fixes)
        case.wait_stored()
    finally:
        case.watch.close()


def test_a_clean_case_is_green_with_every_slot_covered(stage: Stage) -> None:
    case = enrol(stage, since=BASE, rules=[_inside(stage)])
    _run(case, every_minute(BASE, 120, LIVE))
    body = case.compliance(BASE, END)
    assert (body["code"], body["score"], body["points"]) == ("green", 100, [])
    cov = body["coverage"]
    assert (cov["expected_fixes"], cov["received_fixes"], cov["fixes_stored"]) == (120, 120, 120)
    assert (cov["share"], cov["longest_gaps"], cov["gap_count"]) == (1.0, [], 0)
    assert sum(d["expected_slots"] for d in cov["days"]) == 120
    assert all(d["covered_slots"] == d["expected_slots"] for d in cov["days"])
    assert case.alerts() == []


def test_the_future_is_never_expected_and_the_whole_measure_is_one_read(stage: Stage) -> None:
    case = enrol(stage, since=BASE, rules=[_inside(stage)])
    _run(case, every_minute(BASE, 120, LIVE))
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
    case = enrol(stage, since=BASE, rules=[_inside(stage)])
    _run(case, [f for i, f in enumerate(every_minute(BASE, 120, LIVE)) if i % 10 != 3])
    body = case.compliance(BASE, END)
    _scored(body, Row.coverage_below_95)
    assert (body["code"], body["score"]) == ("green", 90)
    assert body["points"][0]["reason"] == "coverage 90.0% of expected slots"
    assert body["coverage"]["longest_gaps"] == []  # two-minute pauses are not gaps


@produces(Row.coverage_below_80, Row.silence)
def test_an_hour_of_silence_is_a_gap_unless_a_permit_excuses_it(stage: Stage) -> None:
    case = enrol(stage, since=BASE, rules=[_inside(stage)])
    _run(case, every_minute(BASE, 60, LIVE))
    body = case.compliance(BASE, END)
    _scored(body, Row.coverage_below_80, Row.silence)
    assert (body["code"], body["score"]) == ("yellow", 70)
    assert body["points"][1]["reason"] == "60 min without fixes (limit 30 min)"
    assert body["coverage"]["longest_gaps"][0]["limit_minutes"] == 30

    hospital = enrol(stage, since=BASE, rules=[_inside(stage), ("no_signal", None, {}, {}, None)])
    execute(
        stage.settings,
        "INSERT INTO leave_permits (case_id, status, reason, suspended_rule_ids, window_start, "
        "window_end) VALUES (%s, 'approved', '住院手术', %s, %s, %s)",
        hospital.case_id, [hospital.rule_ids[1]], BASE + timedelta(minutes=60), END,
    )  # fmt: skip
    _run(hospital, every_minute(BASE, 60, LIVE))
    excused = hospital.compliance(BASE, END)
    assert (excused["code"], excused["score"], excused["points"]) == ("green", 100, [])
    cov = excused["coverage"]
    assert (cov["expected_fixes"], cov["received_fixes"], cov["share"]) == (60, 60, 1.0)


@produces(Row.coverage_below_80, Row.silence, Row.silence_over_24h)
def test_a_day_without_fixes_vetoes(stage: Stage) -> None:
    start = BASE - timedelta(hours=24)
    case = enrol(stage, since=start, rules=[_inside(stage)])
    _run(case, every_minute(start, 30, LIVE) + every_minute(END - timedelta(minutes=30), 30, LIVE))
    body = case.compliance(start, END)
    _scored(body, Row.coverage_below_80, Row.silence, Row.silence_over_24h)
    assert body["code"] == "red"
    assert body["points"][2]["veto"]
    assert body["coverage"]["gap_count"] == 1


@produces(Row.outside)
def test_time_outside_within_the_grace_costs_points_without_an_alert(stage: Stage) -> None:
    case = enrol(stage, since=BASE, rules=[_inside(stage, {"open_after_fixes": 5})])
    path = every_minute(BASE, 120, LIVE)
    path[50:53] = every_minute(BASE + timedelta(minutes=50), 3, OUT)
    _run(case, path)
    body = case.compliance(BASE, END)
    _scored(body, Row.outside)
    assert (body["code"], body["score"]) == ("green", 90)
    assert body["minutes_outside_permitted"] == 3
    assert case.alerts() == []


def _departure(stage: Stage) -> tuple[Case, dict[str, Any]]:
    case = enrol(stage, since=BASE, rules=[_inside(stage)])
    path = every_minute(BASE, 120, LIVE)
    path[40:50] = every_minute(BASE + timedelta(minutes=40), 10, OUT)
    _run(case, path)
    (alert,) = case.wait_alerts("left_permitted_area")
    return case, alert


@produces(Row.outside, Row.breach_open, Row.breach_confirmed)
def test_a_departure_is_not_green_while_open_and_a_veto_once_confirmed(stage: Stage) -> None:
    case, alert = _departure(stage)
    pending = case.compliance(BASE, END)
    _scored(pending, Row.outside, Row.breach_open)
    assert (pending["code"], pending["score"]) == ("yellow", 65)
    assert "not yet resolved" in pending["points"][1]["reason"]
    case.resolve(alert, "violation_confirmed")
    body = case.compliance(BASE, END)
    _scored(body, Row.outside, Row.breach_confirmed)
    assert body["code"] == "red"
    assert body["points"][1]["veto"]
    assert f"alert #{alert['id']} left_permitted_area" in body["points"][1]["reason"]
    assert body["violations_by_kind"] == [
        {"kind": "left_permitted_area", "count": 1, "dispositions": {"violation_confirmed": 1}}
    ]


@produces(Row.outside, Row.explained)
def test_a_departure_resolved_as_a_false_alarm_lifts_the_veto(stage: Stage) -> None:
    case, alert = _departure(stage)
    case.resolve(alert, "false_alarm")
    body = case.compliance(BASE, END)
    _scored(body, Row.outside, Row.explained)
    assert (body["code"], body["score"]) == ("green", 90)
    assert body["points"][1]["reason"].endswith("resolved as false_alarm")


@produces(Row.outside, Row.breach_confirmed)
def test_entering_the_victims_exclusion_zone_confirmed_is_a_veto(stage: Stage) -> None:
    victim: RuleSpec = ("stay_outside", stage.world.zone_victim, ONE_FIX, {}, None)
    case = enrol(stage, since=BASE, rules=[victim])
    path = every_minute(BASE, 120, NEAR_VICTIM)
    path[30:35] = every_minute(BASE + timedelta(minutes=30), 5, (118.55, 37.45))
    _run(case, path)
    (alert,) = case.wait_alerts("entered_exclusion_zone")
    case.resolve(alert, "violation_confirmed")
    body = case.compliance(BASE, END)
    _scored(body, Row.outside, Row.breach_confirmed)
    assert body["code"] == "red"


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
    _run(case, path)
    (alert,) = case.wait_alerts("crossed_exclusion_zone")
    case.resolve(alert, "violation_confirmed")
    body = case.compliance(BASE, END)
    _scored(body, Row.breach_confirmed)  # no fix inside: no time outside either
    assert body["code"] == "red"


@produces(Row.outside, Row.breach_confirmed, Row.permit_not_kept)
def test_staying_away_after_leave_is_a_veto_and_the_permit_not_kept(stage: Stage) -> None:
    case = enrol(stage, since=BASE, rules=[_inside(stage)])
    execute(
        stage.settings,
        "INSERT INTO leave_permits (case_id, status, reason, suspended_rule_ids, window_start, "
        "window_end, decided_by, decided_at) VALUES (%s, 'approved', '探亲', %s, %s, %s, %s, %s)",
        case.case_id, [case.rule_ids[0]], BASE + timedelta(minutes=10),
        BASE + timedelta(minutes=40), stage.world.users["super1"], BASE,
    )  # fmt: skip
    path = every_minute(BASE, 180, LIVE)
    path[10:70] = every_minute(BASE + timedelta(minutes=10), 60, OUT)
    _run(case, path)
    (alert,) = case.wait_alerts("overdue_return")
    case.resolve(alert, "violation_confirmed")
    body = case.compliance(BASE, BASE + timedelta(hours=3))
    _scored(body, Row.outside, Row.breach_confirmed, Row.permit_not_kept)
    assert body["code"] == "red"
    assert body["minutes_outside_permitted"] == 30
    assert body["leave_permits"][0]["adherence"] == "not_kept"


@produces(Row.strap_unexplained, Row.explained)
def test_a_strap_opening_vetoes_until_explained(stage: Stage) -> None:
    case = enrol(stage, since=BASE, rules=[_inside(stage)])
    try:
        case.watch.fixes(every_minute(BASE, 120, LIVE))
        case.watch.status(BASE + timedelta(minutes=30), strap="open", batt=80)
        case.watch.status(BASE + timedelta(minutes=40), strap="closed", batt=80)
        case.wait_stored()
        (alert,) = case.wait_alerts("strap_opened")
    finally:
        case.watch.close()
    body = case.compliance(BASE, END)
    _scored(body, Row.strap_unexplained)
    assert body["code"] == "red"
    case.resolve(alert, "technical_fault")
    explained = case.compliance(BASE, END)
    _scored(explained, Row.explained)
    assert (explained["code"], explained["score"]) == ("green", 100)


@produces(Row.curfew_confirmed)
def test_a_confirmed_curfew_breach_costs_45(stage: Stage) -> None:
    night = {"windows": [{"days": [0, 1, 2, 3, 4, 5, 6], "start": "00:00", "end": "23:59"}]}
    curfew: RuleSpec = ("be_inside_during", stage.home_zone, ONE_FIX, {}, night)
    case = enrol(stage, since=BASE, rules=[curfew], measure="residential_surveillance")
    path = every_minute(BASE, 120, LIVE)
    path[20:30] = every_minute(BASE + timedelta(minutes=20), 10, (118.67, 37.45))
    _run(case, path)
    (alert,) = case.wait_alerts("curfew_broken")
    case.resolve(alert, "violation_confirmed")
    body = case.compliance(BASE, END)
    _scored(body, Row.curfew_confirmed)
    assert (body["code"], body["score"]) == ("red", 55)  # below 60: red by the score
    assert not body["points"][0]["veto"]


@produces(Row.device_confirmed, Row.alert_open)
def test_device_conditions_cost_20_confirmed_and_5_while_open(stage: Stage) -> None:
    case = enrol(stage, since=BASE, rules=[_inside(stage)])
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
    _scored(body, Row.device_confirmed, Row.alert_open)
    assert (body["code"], body["score"]) == ("yellow", 75)
    assert f"alert #{low['id']} battery_critical" in body["points"][1]["reason"]


@produces(Row.uncertain)
def test_uncertain_positions_never_make_red(stage: Stage) -> None:
    case = enrol(stage, since=BASE, rules=[_inside(stage)])
    _run(case, every_minute(BASE, 120, EDGE, acc=200.0))
    case.wait_alerts("location_uncertain")
    body = case.compliance(BASE, END)
    assert set(rows(body)) == {Row.uncertain.value}
    assert body["code"] == "green"
    assert body["score"] == 90  # at most 10 points however many alerts and minutes
    assert body["minutes_outside_permitted"] == 0
    assert body["minutes_uncertain"] > 100


@produces(Row.deposit_forfeited)
def test_a_forfeited_deposit_costs_10_shown_in_yuan(stage: Stage) -> None:
    case = enrol(stage, since=BASE, rules=[_inside(stage)])
    execute(
        stage.settings,
        "INSERT INTO deposits (case_id, kind, amount_fen, payer, account_number, account_holder, "
        "status, held_fen, forfeited_fen, version) VALUES (%s, 'bail', 1000000, '张三', '6222', "
        "'保证金专户', 'forfeited_in_part', 500000, 500000, 3)",
        case.case_id,
    )  # fmt: skip
    _run(case, every_minute(BASE, 120, LIVE))
    body = case.compliance(BASE, END)
    _scored(body, Row.deposit_forfeited)
    assert (body["code"], body["score"]) == ("green", 90)
    assert body["points"][0]["reason"] == "bail deposit forfeited: ¥5,000.00"


def test_every_line_of_the_table_has_a_scenario() -> None:
    """Each line of the table is produced (and asserted) by at least one scenario above."""
    tests = {name for name in globals() if name.startswith("test_")}
    assert set(PRODUCES) <= tests
    assert {line.row for line in TABLE} == set().union(*PRODUCES.values())
