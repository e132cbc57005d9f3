"""Pure parts of alerts: kinds and severities, rows to engine rules, signatures and backoff."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from alerts.kinds import AlertKind, Severity, severity_of, uncertain_severity, violation_kind
from alerts.ruleset import build_ruleset, grace_from, no_signal_rules, schedule_from
from alerts.watchdog import no_signal_overrides
from alerts.webhooks import backoff_s, body_of, sign, verify
from geofence.device import Watch
from geofence.models import Grace, RuleKind, Weekday
from geofence.models import Severity as RuleSeverity

NOW = datetime(2026, 11, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    ("rule_kind", "reason", "kind"),
    [
        (RuleKind.STAY_INSIDE, "", AlertKind.left_permitted_area),
        (RuleKind.STAY_INSIDE, "overdue_return", AlertKind.overdue_return),
        (RuleKind.STAY_OUTSIDE, "", AlertKind.entered_exclusion_zone),
        (RuleKind.STAY_OUTSIDE, "crossing", AlertKind.crossed_exclusion_zone),
        (RuleKind.BE_INSIDE_DURING, "", AlertKind.curfew_broken),
        (RuleKind.BE_INSIDE_DURING, "overdue_return", AlertKind.overdue_return),
        (RuleKind.KEEP_AWAY_FROM, "", AlertKind.too_close_to_protected_person),
    ],
)
def test_violation_kinds(rule_kind: RuleKind, reason: str, kind: AlertKind) -> None:
    assert violation_kind(rule_kind, reason) is kind


def test_device_rule_is_not_positional() -> None:
    with pytest.raises(ValueError, match="not a positional rule"):
        violation_kind(RuleKind.NO_SIGNAL, "")


def test_severities() -> None:
    assert severity_of(AlertKind.strap_opened) is Severity.critical
    assert severity_of(AlertKind.battery_critical) is Severity.medium
    assert severity_of(AlertKind.left_permitted_area, "low") is Severity.low
    assert uncertain_severity(Severity.critical) is Severity.medium
    assert uncertain_severity(Severity.high) is Severity.low
    assert set(AlertKind) == set(
        AlertKind(k) for k in [
            "left_permitted_area", "entered_exclusion_zone", "crossed_exclusion_zone",
            "curfew_broken", "too_close_to_protected_person", "overdue_return", "no_signal",
            "location_uncertain", "strap_opened", "battery_critical", "powered_off",
            "impossible_movement",
        ]
    )  # fmt: skip


def test_grace_and_schedule_from_json() -> None:
    assert grace_from(None) == Grace()
    assert grace_from({"open_after_fixes": 1, "clear_after_s": 60}) == Grace(1, 0.0, 2, 60.0)
    sched = schedule_from(
        {"windows": [{"days": [0, 4], "start": "22:00", "end": "06:00"}]}, "Asia/Shanghai"
    )
    assert sched is not None
    assert sched.tz == "Asia/Shanghai"
    assert [w.day for w in sched.windows] == [Weekday.MON, Weekday.FRI]
    assert sched.windows[0].start.hour == 22
    assert sched.windows[0].end.hour == 6
    assert schedule_from(None, "UTC") is None


def _rule(**over: Any) -> dict[str, Any]:
    row = {
        "id": 1, "case_id": 7, "kind": "stay_inside", "zone_id": 3, "grace": {}, "schedule": None,
        "params": {"notify_wearer": {"text": "请返回允许活动区域", "vibrate": True}},
        "severity": None, "valid_from": None, "valid_to": None,
    }  # fmt: skip
    return {**row, **over}


def test_build_ruleset_keeps_good_rows_and_names_bad_ones() -> None:
    zone = {"id": 3, "name": "home", "kind": "circle", "radius_m": 500.0, "width_m": None,
            "geometry": {"type": "Point", "coordinates": [118.6, 37.4]}}  # fmt: skip
    rs = build_ruleset(
        5,
        cases=[
            {
                "id": 7,
                "supervising_unit_id": 2,
                "timezone": "Asia/Shanghai",
                "no_signal_limit_s": 600,
            }
        ],
        rules=[
            _rule(),
            _rule(id=2, kind="no_signal", zone_id=None),
            _rule(id=3, zone_id=99),
            _rule(id=4, case_id=8),
            _rule(
                id=5,
                kind="battery_critical",
                zone_id=None,
                severity="high",
                params={"battery_critical_pct": 25},
            ),
            _rule(id=6, kind="impossible_speed", zone_id=None, params={"max_speed_mps": 40}),
            _rule(
                id=7, kind="battery_critical", zone_id=None, params={"battery_critical_pct": 250}
            ),
        ],
        zones=[zone],
        permits=[
            {
                "id": 1,
                "case_id": 7,
                "window_start": NOW,
                "window_end": NOW.replace(day=3),
                "suspended_rule_ids": [1],
                "destination_zone_id": None,
            },
            {
                "id": 2,
                "case_id": 7,
                "window_start": NOW + timedelta(minutes=30),
                "window_end": NOW.replace(day=3),
                "suspended_rule_ids": [5],
                "destination_zone_id": None,
            },
        ],
        assignments=[
            {
                "device_id": "w1",
                "case_id": 7,
                "role": "defendant",
                "valid_from": NOW,
                "valid_to": None,
            }
        ],
    )
    assert [r.rule_id for r in rs.rules] == [1]
    assert rs.rules[0].kind is RuleKind.STAY_INSIDE
    assert rs.problems == ["rule 3: 99", "rule 7: battery_critical_pct must be between 0 and 100"]
    assert [(r.rule_id, r.kind, r.threshold) for r in rs.device_rules[7]] == [
        (2, RuleKind.NO_SIGNAL, None),
        (5, RuleKind.BATTERY_CRITICAL, 25.0),
        (6, RuleKind.IMPOSSIBLE_SPEED, 40.0),
    ]
    assert rs.speed_limited == {7}
    policy = rs.device_policy(7, 10.0)
    assert policy.watch(RuleKind.BATTERY_CRITICAL, NOW) == Watch(True, 25.0, RuleSeverity.HIGH, 5)
    assert policy.watch(RuleKind.NO_SIGNAL, NOW) == Watch(True, 600.0, None, 2)
    assert rs.device_policy(8, 10.0).watch(RuleKind.BATTERY_CRITICAL, NOW).threshold == 10.0
    assert rs.wearer_command[1]["vibrate"] is True
    assert [p.permit_id for p in rs.permits] == [1, 2]
    # Permit 2 names battery rule 5: off over its window, the rule's own again after it.
    inside, after = NOW + timedelta(hours=1), NOW.replace(day=3)
    off = Watch(False, 25.0, RuleSeverity.HIGH, 5)
    assert policy.watch(RuleKind.BATTERY_CRITICAL, inside) == off
    assert policy.watch(RuleKind.BATTERY_CRITICAL, after).enabled
    assert policy.watch(RuleKind.NO_SIGNAL, inside).enabled
    assert rs.case_of("w1", NOW.timestamp() + 1) == 7
    assert rs.case_of("w1", NOW.timestamp() - 1) is None
    assert rs.positional_cases == {7}


def test_the_watchdog_overrides_cases_whose_no_signal_rule_applies_now() -> None:
    rows = [
        _rule(id=1, kind="no_signal", zone_id=None, params={"no_signal_after_s": 2}),
        _rule(id=2, case_id=8, kind="no_signal", zone_id=None, severity="critical",
              valid_from=NOW.replace(day=3)),
        _rule(id=3, case_id=9, kind="no_signal", zone_id=None, params={"enabled": False},
              valid_to=NOW.replace(day=3)),
        _rule(id=4, case_id=9, kind="no_signal", zone_id=None, params={"no_signal_after_s": -1}),
        # Suspended by a permit over [day 2 + 1 h, day 3): judged off inside the window only.
        _rule(id=5, case_id=10, kind="no_signal", zone_id=None, params={"no_signal_after_s": 5},
              suspended_from=[NOW + timedelta(hours=1)], suspended_to=[NOW.replace(day=3)]),
    ]  # fmt: skip
    for row in rows:
        row.setdefault("suspended_from", [])
        row.setdefault("suspended_to", [])
    rules, problems = no_signal_rules(rows)
    assert sorted(rules) == [7, 8, 9, 10]
    assert [r.rule_id for r in rules[9]] == [3]  # the bad row is left out, with its reason
    assert problems == ["rule 4: no_signal_after_s must be between 1 and 2.592e+06"]
    assert no_signal_overrides(rules, NOW) == ([7, 9, 10], [2.0, None, 5.0], [None] * 3,
                                               [1, 3, 5], [True, False, True])  # fmt: skip
    inside = NOW + timedelta(hours=2)
    assert no_signal_overrides(rules, inside)[4] == [True, False, False]
    later = NOW.replace(day=3)
    assert no_signal_overrides(rules, later) == ([7, 8, 10], [2.0, None, 5.0],
                                                 [None, "critical", None], [1, 2, 5],
                                                 [True, True, True])  # fmt: skip


def test_signature_verifies_and_expires() -> None:
    body = body_of(12, "alert.opened", {"alert": {"id": 3}})
    t = int(time.time())
    header = sign("a-long-enough-secret", body, t)
    assert header.startswith(f"t={t},v1=")
    assert verify("a-long-enough-secret", header, body, now=t, tolerance_s=300)
    assert not verify("a-long-enough-secret", header, body + b" ", now=t, tolerance_s=300)
    assert not verify("a-long-enough-secret", header, body, now=t + 301, tolerance_s=300)
    assert not verify("a-long-enough-secret", "garbage", body, now=t, tolerance_s=300)


def test_backoff_doubles_with_jitter_and_caps() -> None:
    assert backoff_s(1, base_s=2, max_s=300, rand=lambda: 1.0) == 2
    assert backoff_s(3, base_s=2, max_s=300, rand=lambda: 1.0) == 8
    assert backoff_s(3, base_s=2, max_s=300, rand=lambda: 0.0) == 4
    assert backoff_s(30, base_s=2, max_s=300, rand=lambda: 1.0) == 300
