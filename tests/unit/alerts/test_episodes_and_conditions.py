"""Engine events and device observations to alert operations (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alerts import conditions as cond
from alerts.episodes import Action, dedupe_evidence, from_geofence, from_transition
from alerts.kinds import AlertKind, Severity
from geofence.events import EventKind, GeofenceEvent
from geofence.models import FixRef, RuleKind
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
    assert [(t.opened, t.at) for t in out] == [(True, T0 + timedelta(seconds=1)),
                                              (False, T0 + timedelta(seconds=3))]  # fmt: skip
    assert out[0].episode_key == out[1].episode_key
    assert not states[strap].open
    # redelivered or late observations change nothing
    again, none = cond.step(7, states, [obs(1, strap, True), obs(2, strap, False)])
    assert none == []
    assert again == states
    op = from_transition(out[0])
    assert (op.action, op.kind, op.severity) == (Action.open, strap, Severity.critical)
    assert from_transition(out[1]).started_at == T0 + timedelta(seconds=1)


def test_status_observations() -> None:
    found = cond.observe_status("w1", T0, battery_pct=5, charging=False, strap_closed=True,
                                battery_critical_pct=10)  # fmt: skip
    assert {(o.kind, o.holds) for o in found} == {
        (AlertKind.powered_off, False), (AlertKind.strap_opened, False),
        (AlertKind.battery_critical, True),
    }  # fmt: skip
    charging = cond.observe_status("w1", T0, battery_pct=5, charging=True, strap_closed=None,
                                   battery_critical_pct=10)  # fmt: skip
    assert (AlertKind.battery_critical, False) in {(o.kind, o.holds) for o in charging}
    assert [o.kind for o in cond.observe_event("w1", T0, "power_off")] == [AlertKind.powered_off]
    assert cond.observe_event("w1", T0, "sos") == []
