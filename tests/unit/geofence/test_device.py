"""Device rules: validity windows, the newest rule deciding, defaults, thresholds, severity,
switching off, validation, and the accuracy-aware speed between two fixes."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from geofence.device import (
    DEVICE_KINDS,
    MIN_STEP_S,
    DevicePolicy,
    DeviceRule,
    Position,
    Watch,
    applicable,
    battery_critical,
    device_rule,
    implied_speed_mps,
    suspend_by_permits,
    watch_of,
)
from geofence.errors import RuleError
from geofence.models import LeavePermit, RuleKind, Severity
from tests.unit.geofence.helpers import at, offset

BATTERY = RuleKind.BATTERY_CRITICAL


def rule(rule_id: int, kind: RuleKind = BATTERY, **kw: Any) -> DeviceRule:
    return DeviceRule(rule_id, kind, **kw)


@pytest.mark.parametrize(
    ("valid_from", "valid_to", "t", "applies"),
    [
        (None, None, 0, True),
        (at(10), None, 9.999, False),
        (at(10), None, 10, True),  # from is inclusive
        (None, at(10), 9.999, True),
        (None, at(10), 10, False),  # to is exclusive
        (at(10), at(20), 15, True),
        (at(10), at(20), 20, False),
    ],
)
def test_validity_window(
    valid_from: datetime | None, valid_to: datetime | None, t: float, applies: bool
) -> None:
    assert rule(1, valid_from=valid_from, valid_to=valid_to).applies_at(at(t)) is applies


def test_defaults_apply_without_a_rule_of_the_kind() -> None:
    policy = DevicePolicy(
        (rule(1, RuleKind.NO_SIGNAL, threshold=60.0),),
        no_signal_after_s=1800.0,
        battery_critical_pct=10.0,
    )
    assert policy.watch(BATTERY, at(0)) == Watch(True, 10.0, None, None)
    assert policy.watch(RuleKind.STRAP_OPEN, at(0)) == Watch()
    assert policy.watch(RuleKind.POWER_OFF, at(0)) == Watch()
    assert policy.watch(RuleKind.IMPOSSIBLE_SPEED, at(0)) == Watch()
    assert policy.watch(RuleKind.NO_SIGNAL, at(0)) == Watch(True, 60.0, None, 1)


def test_a_rule_sets_threshold_and_severity_only_while_it_applies() -> None:
    temporary = rule(4, threshold=25.0, severity=Severity.HIGH, valid_from=at(100),
                     valid_to=at(200))  # fmt: skip
    policy = DevicePolicy((temporary,), battery_critical_pct=10.0)
    assert policy.watch(BATTERY, at(99)) == Watch(True, 10.0, None, None)
    assert policy.watch(BATTERY, at(150)) == Watch(True, 25.0, Severity.HIGH, 4)
    assert policy.watch(BATTERY, at(200)) == Watch(True, 10.0, None, None)


def test_a_rule_without_threshold_keeps_the_default_and_may_set_severity() -> None:
    policy = DevicePolicy((rule(2, severity=Severity.LOW),), battery_critical_pct=15.0)
    assert policy.watch(BATTERY, at(0)) == Watch(True, 15.0, Severity.LOW, 2)


def test_the_newest_applicable_rule_decides() -> None:
    old = rule(3, threshold=20.0)
    new = rule(8, threshold=30.0, valid_from=at(50))
    rules = (new, old, rule(5, RuleKind.STRAP_OPEN))
    assert applicable(rules, BATTERY, at(0)) is old
    assert applicable(rules, BATTERY, at(50)) is new
    assert applicable(rules, RuleKind.POWER_OFF, at(50)) is None


def test_switched_off_for_a_period() -> None:
    off = rule(6, RuleKind.STRAP_OPEN, enabled=False, valid_to=at(3600))
    assert watch_of((off,), RuleKind.STRAP_OPEN, at(0)) == Watch(False, None, None, 6)
    assert watch_of((off,), RuleKind.STRAP_OPEN, at(3600)) == Watch()


def test_a_permit_naming_the_rule_switches_it_off_over_its_window_only() -> None:
    strap, battery = rule(6, RuleKind.STRAP_OPEN), rule(7, severity=Severity.HIGH)
    permits = [
        LeavePermit(1, 5, at(100), at(200), frozenset({6})),
        LeavePermit(2, 5, at(500), at(600), frozenset({6, 99})),
    ]
    rules = suspend_by_permits([strap, battery], permits)
    assert rules[1] is battery, "a rule no permit names is kept as it is"
    for t, on in [(99, True), (100, False), (199, False), (200, True), (550, False), (600, True)]:
        assert watch_of(rules, RuleKind.STRAP_OPEN, at(t)) == Watch(on, None, None, 6), t
    # The newest rule of the kind still decides: a permit naming an older one leaves it on.
    newer = suspend_by_permits([strap, rule(8, RuleKind.STRAP_OPEN)], permits)
    assert watch_of(newer, RuleKind.STRAP_OPEN, at(150)) == Watch(True, None, None, 8)


@given(
    rules=st.lists(
        st.builds(
            DeviceRule,
            rule_id=st.integers(1, 50),
            kind=st.sampled_from(sorted(DEVICE_KINDS)),
            enabled=st.booleans(),
            threshold=st.none() | st.floats(1, 100),
            valid_from=st.none() | st.integers(0, 100).map(at),
            valid_to=st.none() | st.integers(101, 200).map(at),
        ),
        max_size=8,
        unique_by=lambda r: r.rule_id,
    ),
    kind=st.sampled_from(sorted(DEVICE_KINDS)),
    t=st.integers(-10, 210),
    default=st.none() | st.floats(1, 100),
)
def test_the_watch_is_the_newest_applicable_rules_or_the_defaults(
    rules: list[DeviceRule], kind: RuleKind, t: int, default: float | None
) -> None:
    watch = watch_of(rules, kind, at(t), default)
    valid = [r for r in rules if r.kind is kind and r.applies_at(at(t))]
    if not valid:
        assert watch == Watch(threshold=default)
        return
    newest = max(valid, key=lambda r: r.rule_id)
    assert watch == Watch(
        newest.enabled,
        default if newest.threshold is None else newest.threshold,
        newest.severity,
        newest.rule_id,
    )
    # A rule outside its period, or of another kind, never decides.
    (decider,) = [r for r in rules if r.rule_id == watch.rule_id]
    assert decider.kind is kind
    assert decider.applies_at(at(t))


@pytest.mark.parametrize(
    ("kind", "params", "expected"),
    [
        (RuleKind.NO_SIGNAL, {"no_signal_after_s": 2}, DeviceRule(1, RuleKind.NO_SIGNAL,
                                                                  threshold=2.0)),
        (BATTERY, {"battery_critical_pct": 25.5}, DeviceRule(1, BATTERY, threshold=25.5)),
        (RuleKind.IMPOSSIBLE_SPEED, {"max_speed_mps": 40},
         DeviceRule(1, RuleKind.IMPOSSIBLE_SPEED, threshold=40.0)),
        (RuleKind.STRAP_OPEN, {"enabled": False}, DeviceRule(1, RuleKind.STRAP_OPEN,
                                                              enabled=False)),
        (RuleKind.POWER_OFF, {"enabled": 0.0}, DeviceRule(1, RuleKind.POWER_OFF, enabled=False)),
        (RuleKind.POWER_OFF, {"notify_wearer": {"text": "x"}}, DeviceRule(1, RuleKind.POWER_OFF)),
        (BATTERY, {}, DeviceRule(1, BATTERY)),
    ],
)  # fmt: skip
def test_rules_from_params(kind: RuleKind, params: dict[str, Any], expected: DeviceRule) -> None:
    assert device_rule(1, kind, params) == expected


@pytest.mark.parametrize(
    ("kind", "params", "message"),
    [
        (RuleKind.NO_SIGNAL, {"no_signal_after_s": 0}, "between 1 and"),
        (RuleKind.NO_SIGNAL, {"no_signal_after_s": "soon"}, "must be a number"),
        (RuleKind.NO_SIGNAL, {"no_signal_after_s": True}, "must be a number"),
        (BATTERY, {"battery_critical_pct": 101}, "between 0 and 100"),
        (BATTERY, {"battery_critical_pct": float("nan")}, "between 0 and 100"),
        (BATTERY, {"no_signal_after_s": 60}, "takes no parameter no_signal_after_s"),
        (RuleKind.STRAP_OPEN, {"max_speed_mps": 40}, "takes no parameter max_speed_mps"),
        (RuleKind.IMPOSSIBLE_SPEED, {"max_speed_mps": -1}, "between 1 and 1000"),
        (RuleKind.POWER_OFF, {"enabled": "no"}, "enabled must be true or false"),
        (RuleKind.STAY_INSIDE, {}, "not a device rule"),
    ],
)
def test_bad_params_are_refused_with_a_reason(
    kind: RuleKind, params: dict[str, Any], message: str
) -> None:
    with pytest.raises(RuleError, match=message):
        device_rule(9, kind, params)


def test_a_period_must_not_be_empty() -> None:
    with pytest.raises(RuleError, match="valid_to must be after valid_from"):
        device_rule(9, BATTERY, {}, valid_from=at(10), valid_to=at(10))


@pytest.mark.parametrize(
    ("pct", "charging", "threshold", "critical"),
    [
        (10, False, 10.0, True),  # at the threshold
        (11, False, 10.0, False),
        (20, None, 25.0, True),
        (5, True, 10.0, False),  # charging is never critical
        (None, True, 10.0, False),
        (None, False, 10.0, None),  # says nothing
        (None, None, 10.0, None),
    ],
)
def test_battery_critical(
    pct: float | None, charging: bool | None, threshold: float, critical: bool | None
) -> None:
    assert battery_critical(pct, charging, threshold) is critical


def position(east_m: float, t: float, acc: float = 5.0) -> Position:
    lon, lat = offset(east_m, 0.0)
    return Position(at(t), lon, lat, acc)


def test_implied_speed_allows_for_the_fix_disks() -> None:
    # 10 km in a minute, precise fixes: about 167 m/s.
    assert implied_speed_mps(position(0, 0), position(10_000, 60)) == pytest.approx(166.5, abs=1)
    # Two cell-tower fixes 2.5 km apart could be the same place.
    assert implied_speed_mps(position(0, 0, 1000), position(2500, 1, 1000)) == 0.0
    # Order does not matter.
    a, b = position(0, 0), position(3000, 100)
    assert implied_speed_mps(a, b) == implied_speed_mps(b, a)


def test_a_near_zero_time_step_does_not_turn_noise_into_speed() -> None:
    same_instant = implied_speed_mps(position(0, 0), position(40, 0))
    a_millisecond = implied_speed_mps(position(0, 0), position(40, 0.001))
    assert same_instant == a_millisecond == pytest.approx((40 - 20) / MIN_STEP_S, abs=0.5)


@given(
    dt=st.floats(0.0, 600.0),
    speed=st.floats(0.0, 60.0),
    acc_a=st.floats(3.0, 1500.0),
    acc_b=st.floats(3.0, 1500.0),
    err_a=st.floats(-1.0, 1.0),
    err_b=st.floats(-1.0, 1.0),
)
def test_fixes_within_their_disks_never_imply_more_than_the_true_speed(
    dt: float, speed: float, acc_a: float, acc_b: float, err_a: float, err_b: float
) -> None:
    """Errors up to 1.95 x acc (inside the disks): the implied speed is at most the true one."""
    true_m = speed * dt
    a = position(1.95 * acc_a * err_a, 0.0, acc_a)
    b = position(true_m + 1.95 * acc_b * err_b, dt, acc_b)
    assert implied_speed_mps(a, b) <= speed * 1.01 + 1e-6


NO_SIGNAL = RuleKind.NO_SIGNAL


def test_a_silence_counts_against_the_limit_in_force_while_it_lasted() -> None:
    longer = rule(1, NO_SIGNAL, threshold=3600.0, valid_from=at(1000), valid_to=at(2000))
    policy = DevicePolicy((longer,), no_signal_after_s=600.0)
    assert policy.silence_outlasted(at(0), at(601)) == 600.0
    assert policy.silence_outlasted(at(0), at(600)) is None
    # Past 600 s only once the 3600 s rule applies (from 1000 s): not outlasted until it ends.
    assert policy.silence_outlasted(at(500), at(1999)) is None
    assert policy.silence_outlasted(at(500), at(2100)) == 600.0
    suspended = rule(2, NO_SIGNAL, suspended=((at(0), at(5000)),))
    excused = DevicePolicy((suspended,), no_signal_after_s=600.0)
    assert excused.silence_outlasted(at(100), at(5000)) is None
    assert excused.silence_outlasted(at(100), at(5001)) == 600.0


@given(
    rules=st.lists(
        st.builds(
            DeviceRule,
            rule_id=st.integers(1, 50),
            kind=st.just(NO_SIGNAL),
            enabled=st.booleans(),
            threshold=st.none() | st.integers(1, 60).map(float),
            valid_from=st.none() | st.integers(0, 60).map(at),
            valid_to=st.none() | st.integers(61, 120).map(at),
            suspended=st.lists(
                st.tuples(st.integers(0, 60), st.integers(1, 60)).map(
                    lambda w: (at(w[0]), at(w[0] + w[1]))
                ),
                max_size=2,
            ).map(tuple),
        ),
        max_size=4,
        unique_by=lambda r: r.rule_id,
    ),
    start=st.integers(-10, 100),
    length=st.integers(1, 100),
    default=st.none() | st.integers(1, 60).map(float),
)
def test_silence_outlasted_equals_a_scan_of_every_second(
    rules: list[DeviceRule], start: int, length: int, default: float | None
) -> None:
    policy = DevicePolicy(tuple(rules), no_signal_after_s=default)
    instant = timedelta(microseconds=1)
    scan = None
    for t in range(start + 1, start + length + 1):
        watch = policy.watch(NO_SIGNAL, at(t) - instant)
        if watch.enabled and watch.threshold is not None and t - 1e-6 - start > watch.threshold:
            scan = watch.threshold
            break
    assert policy.silence_outlasted(at(start), at(start + length)) == scan
