"""Engine events and device observations to alert operations (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alerts import conditions as cond
from alerts.episodes import Action, dedupe_evidence, from_geofence, from_transition
from alerts.kinds import AlertKind, Severity
from geofence.device import DevicePolicy, DeviceRule, Watch
from geofence.events import EventKind, GeofenceEvent
from geofence.models import FixRef, RuleKind, epoch_ms
from geofence.models import Severity as RuleSeverity

T0 = datetime(2026, 11, 2, 8, tzinfo=UTC)


def ref(i: int) -> FixRef:
    return FixRef("w1", T0 + timedelta(seconds=10 * i), i)


def event(kind: EventKind, *refs: FixRef, reason: str = "", end: datetime | None = None,
          rule_kind: RuleKind = RuleKind.STAY_OUTSIDE) -> GeofenceEvent:  # fmt: skip
    return GeofenceEvent(kind, 7, 3, rule_kind, RuleSeverity.HIGH, T0, end, reason, refs)


def test_opening_carries_evidence_and_the_wearer_command() -> None:
    (op,) = from_geofence(
        event(EventKind.EPISODE_OPENED, ref(0), ref(1), reason="crossing"),
        rule_severity=None, wearer_command={"text": "请离开", "vibrate": True},
    )  # fmt: skip
    assert op.action is Action.open
    assert op.kind is AlertKind.crossed_exclusion_zone
    assert op.severity is Severity.critical
    assert op.episode_key == f"7:3:violation:{int(T0.timestamp() * 1000)}"
    assert op.device_id == "w1"
    assert [e["seq"] for e in op.evidence] == [0, 1]
    assert op.data["cmd"] == {"cmd": "notify_wearer", "text": "请离开", "vibrate": True}


def test_late_violation_opens_a_late_alert_already_cleared() -> None:
    end = T0 + timedelta(minutes=2)
    ops = from_geofence(
        event(EventKind.LATE_VIOLATION, ref(0), end=end, rule_kind=RuleKind.STAY_INSIDE),
        rule_severity="medium",
    )
    assert [(o.action, o.late) for o in ops] == [(Action.open, True), (Action.clear, True)]
    assert ops[0].kind is AlertKind.left_permitted_area
    assert ops[0].severity is Severity.medium
    assert ops[1].at == end
    assert ops[0].event_key != ops[1].event_key


def test_uncertain_is_low_unless_the_rule_is_critical() -> None:
    (op,) = from_geofence(event(EventKind.UNCERTAIN_OPENED, ref(0)), rule_severity=None)
    assert (op.kind, op.severity) == (AlertKind.location_uncertain, Severity.medium)
    assert ":uncertain:" in op.episode_key


def test_evidence_is_deduplicated_by_fix_key() -> None:
    opened = from_geofence(event(EventKind.EPISODE_OPENED, ref(0), ref(1)), rule_severity=None)
    more = from_geofence(event(EventKind.EVIDENCE_APPENDED, ref(1), ref(2)), rule_severity=None)
    again = from_geofence(event(EventKind.EVIDENCE_APPENDED, ref(2)), rule_severity=None)
    ops = dedupe_evidence(opened + more + again)
    assert [o.action for o in ops] == [Action.open, Action.evidence]
    assert [e["seq"] for e in ops[1].evidence] == [2]


def obs(i: int, kind: AlertKind, holds: bool) -> cond.Observation:
    return cond.Observation("w1", T0 + timedelta(seconds=i), kind, holds)


def test_a_condition_opens_once_and_clears_once() -> None:
    strap = AlertKind.strap_opened
    states, out = cond.step(7, {}, [obs(1, strap, True), obs(2, strap, True), obs(3, strap, False)])
    assert [(t.opened, t.still, t.at) for t in out] == [
        (True, False, T0 + timedelta(seconds=1)), (True, True, T0 + timedelta(seconds=2)),
        (False, False, T0 + timedelta(seconds=3)),
    ]  # fmt: skip
    assert out[0].episode_key == out[1].episode_key == out[2].episode_key
    assert states[strap].changed_at == T0 + timedelta(seconds=3)
    still = from_transition(out[1])
    assert (still.action, still.at) == (Action.evidence, T0 + timedelta(seconds=2))
    assert still.event_key == f"{out[0].episode_key}:holds:{epoch_ms(T0) + 2000}"
    out = [out[0], out[2]]
    assert not states[strap].open
    # redelivered or late observations change nothing
    again, none = cond.step(7, states, [obs(1, strap, True), obs(2, strap, False)])
    assert none == []
    assert again == states
    op = from_transition(out[0])
    assert (op.action, op.kind, op.severity) == (Action.open, strap, Severity.critical)
    assert from_transition(out[1]).started_at == T0 + timedelta(seconds=1)


DEFAULTS = DevicePolicy(battery_critical_pct=10.0)


def status(policy: DevicePolicy, battery_pct: float | None = 50, *, at: datetime = T0,
           charging: bool | None = False, strap_closed: bool | None = True,
           ) -> dict[AlertKind, cond.Observation]:  # fmt: skip
    found = cond.observe_status("w1", at, battery_pct=battery_pct, charging=charging,
                                strap_closed=strap_closed, policy=policy)  # fmt: skip
    return {o.kind: o for o in found}


def test_status_observations() -> None:
    found = status(DEFAULTS, 5)
    assert {(k, o.holds) for k, o in found.items()} == {
        (AlertKind.powered_off, False), (AlertKind.strap_opened, False),
        (AlertKind.battery_critical, True),
    }  # fmt: skip
    assert found[AlertKind.battery_critical].evidence["battery_critical_pct"] == 10.0
    charging = status(DEFAULTS, 5, charging=True, strap_closed=None)
    assert charging[AlertKind.battery_critical].holds is False
    assert AlertKind.strap_opened not in charging
    assert AlertKind.battery_critical not in status(DEFAULTS, None)
    off = cond.observe_event("w1", T0, "power_off", DEFAULTS)
    assert [o.kind for o in off] == [AlertKind.powered_off]
    assert cond.observe_event("w1", T0, "sos", DEFAULTS) == []


def test_a_case_battery_rule_sets_threshold_and_severity() -> None:
    rule = DeviceRule(12, RuleKind.BATTERY_CRITICAL, threshold=25.0,
                      severity=RuleSeverity.HIGH)  # fmt: skip
    policy = DevicePolicy((rule,), battery_critical_pct=10.0)
    assert status(DEFAULTS, 20)[AlertKind.battery_critical].holds is False
    found = status(policy, 20)[AlertKind.battery_critical]
    assert (found.holds, found.severity, found.rule_id) == (True, "high", 12)
    assert found.evidence["rule_id"] == 12
    _, (opened,) = cond.step(7, {}, [found])
    op = from_transition(opened)
    assert (op.kind, op.severity, op.rule_id) == (AlertKind.battery_critical, Severity.high, 12)
    # Without a severity of its own the rule keeps the kind's default (medium).
    plain = DevicePolicy((DeviceRule(13, RuleKind.BATTERY_CRITICAL, threshold=25.0),), None, 10.0)
    _, (t,) = cond.step(7, {}, [status(plain, 20)[AlertKind.battery_critical]])
    assert (from_transition(t).severity, from_transition(t).rule_id) == (Severity.medium, 13)


def test_a_rule_is_judged_at_the_observations_own_time() -> None:
    later = DeviceRule(3, RuleKind.BATTERY_CRITICAL, threshold=25.0,
                       valid_from=T0 + timedelta(hours=1))  # fmt: skip
    policy = DevicePolicy((later,), battery_critical_pct=10.0)
    # A late status from before the rule applied is judged by the default.
    assert status(policy, 20, at=T0)[AlertKind.battery_critical].holds is False
    assert status(policy, 20, at=T0 + timedelta(hours=1))[AlertKind.battery_critical].holds


def test_a_switched_off_condition_never_holds_and_clears_an_open_one() -> None:
    off = DeviceRule(4, RuleKind.STRAP_OPEN, enabled=False, valid_from=T0 + timedelta(seconds=5))
    policy = DevicePolicy((off,), battery_critical_pct=10.0)
    opened = status(policy, strap_closed=False)[AlertKind.strap_opened]
    assert opened.holds
    unwatched = status(policy, strap_closed=False, at=T0 + timedelta(seconds=5))
    assert unwatched[AlertKind.strap_opened].holds is False
    assert unwatched[AlertKind.strap_opened].evidence["watched"] is False
    _, out = cond.step(7, {}, [opened, unwatched[AlertKind.strap_opened]])
    assert [t.opened for t in out] == [True, False]
    power_off = DevicePolicy((DeviceRule(5, RuleKind.POWER_OFF, enabled=False),), None, 10.0)
    assert [o.holds for o in cond.observe_event("w1", T0, "power_off", power_off)] == [False]


def test_impossible_movement_from_refused_jumps_and_a_case_speed_limit() -> None:
    detail = {"lat": 37.4, "lon": 118.6}
    (jump,) = cond.observe_refused_jump("w1", T0, 3, detail, DEFAULTS)
    assert (jump.kind, jump.holds) == (AlertKind.impossible_movement, True)
    off = DevicePolicy((DeviceRule(6, RuleKind.IMPOSSIBLE_SPEED, enabled=False),), None, 10.0)
    assert [o.holds for o in cond.observe_refused_jump("w1", T0, 3, detail, off)] == [False]
    # An accepted fix is plausible movement, unless faster than the case's limit.
    plain = {o.kind: o.holds for o in cond.observe_fix("w1", T0, 4)}
    assert plain == {AlertKind.powered_off: False, AlertKind.impossible_movement: False}
    limit = Watch(True, 40.0, RuleSeverity.CRITICAL, 7)
    fast = cond.observe_fix("w1", T0, 4, speed_mps=55.0, speed_watch=limit)
    moved = {o.kind: o for o in fast}[AlertKind.impossible_movement]
    assert (moved.holds, moved.severity, moved.rule_id) == (True, "critical", 7)
    assert moved.evidence["max_speed_mps"] == 40.0
    slow = cond.observe_fix("w1", T0, 4, speed_mps=39.0, speed_watch=limit)
    assert {o.kind: o.holds for o in slow}[AlertKind.impossible_movement] is False
