"""Device conditions as episodes: strap opened, battery critical, powered off, impossible
movement and no signal. Pure ``step(state, observations) -> (state, transitions)``.

An *observation* says, at a device time, whether a condition holds (True), does not (False).
Status reports, events, accepted fixes and refused impossible-speed fixes are turned into
observations by :func:`observe_status` and friends, judged by the case's device rules as they
apply at the observation's own time (``geofence.device.DevicePolicy``: thresholds, severity,
switched off); the watchdog (not this module) finds silence. A condition opens on the first True
while it is not open and clears on the first False after it opened; an observation not newer
than the condition's last change is ignored, so late input never flips a condition backwards and
a redelivered batch changes nothing. The opening observation's rule and severity are the alert's.
A True while the condition is open is evidence that it goes on (a ``still`` transition; the
state does not change): it is added to the alert, or, once the alert is resolved, held towards a
re-alert (``alerts.record``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from alerts.kinds import AlertKind
from geofence.device import DevicePolicy, Watch, battery_critical
from geofence.models import RuleKind, epoch_ms


@dataclass(frozen=True, slots=True)
class Observation:
    """Whether ``kind`` holds for ``device_id`` at ``at``; ``evidence`` is the source record;
    ``severity`` and ``rule_id`` are those of the case rule that judged it (None: defaults)."""

    device_id: str
    at: datetime
    kind: AlertKind
    holds: bool
    evidence: Mapping[str, Any] = field(default_factory=dict)
    severity: str | None = None
    rule_id: int | None = None


@dataclass(frozen=True, slots=True)
class ConditionState:
    """The current episode of one (case, kind): open or not, since when, last change."""

    device_id: str
    open: bool
    episode_key: str
    since: datetime
    changed_at: datetime


@dataclass(frozen=True, slots=True)
class Transition:
    """A condition opened (``opened``) or cleared, or (``still``) was seen to go on;
    ``episode_key`` names its alert; an opening carries the deciding rule's severity and id
    (None: the kind's default, no rule)."""

    case_id: int
    kind: AlertKind
    device_id: str
    opened: bool
    at: datetime
    episode_key: str
    evidence: Mapping[str, Any]
    severity: str | None = None
    rule_id: int | None = None
    still: bool = False


def episode_key(case_id: int, kind: AlertKind, start: datetime) -> str:
    """``"{case}:dev:{kind}:{start_ms}"``: the same condition onset always names the same alert."""
    return f"{case_id}:dev:{kind.value}:{epoch_ms(start)}"


def step(
    case_id: int,
    states: Mapping[AlertKind, ConditionState],
    observations: Iterable[Observation],
) -> tuple[dict[AlertKind, ConditionState], list[Transition]]:
    """Apply a case's observations in time order; returns the new states and the transitions."""
    current = dict(states)
    out: list[Transition] = []
    for obs in sorted(observations, key=lambda o: (o.at, o.kind.value, not o.holds)):
        state = current.get(obs.kind)
        if state is not None and obs.at <= state.changed_at:
            continue
        if obs.holds and (state is None or not state.open):
            key = episode_key(case_id, obs.kind, obs.at)
            current[obs.kind] = ConditionState(obs.device_id, True, key, obs.at, obs.at)
            out.append(
                Transition(case_id, obs.kind, obs.device_id, True, obs.at, key, obs.evidence,
                           obs.severity, obs.rule_id)
            )  # fmt: skip
        elif obs.holds and state is not None and state.open:
            out.append(
                Transition(case_id, obs.kind, state.device_id, True, obs.at, state.episode_key,
                           obs.evidence, obs.severity, obs.rule_id, still=True)
            )  # fmt: skip
        elif not obs.holds and state is not None and state.open:
            current[obs.kind] = replace(state, open=False, changed_at=obs.at)
            out.append(
                Transition(
                    case_id, obs.kind, state.device_id, False, obs.at, state.episode_key,
                    obs.evidence,
                )
            )  # fmt: skip
    return current, out


def _watched(
    device_id: str,
    at: datetime,
    kind: AlertKind,
    holds: bool,
    watch: Watch,
    evidence: Mapping[str, Any],
) -> Observation:
    """An observation of ``kind`` as ``watch`` sees it: a switched-off condition never holds;
    the deciding rule (if any) is named in the evidence and gives the opening's severity."""
    extra: dict[str, Any] = {}
    if watch.rule_id is not None:
        extra["rule_id"] = watch.rule_id
    if not watch.enabled:
        extra["watched"] = False
    severity = None if watch.severity is None else watch.severity.value
    return Observation(
        device_id, at, kind, holds and watch.enabled, {**evidence, **extra}, severity,
        watch.rule_id,
    )  # fmt: skip


def observe_status(
    device_id: str,
    at: datetime,
    *,
    battery_pct: float | None,
    charging: bool | None,
    strap_closed: bool | None,
    policy: DevicePolicy,
) -> list[Observation]:
    """What one status report says, judged by the case's device rules at the report's time:
    strap, battery (critical at or below the threshold unless charging), powered on."""
    evidence = {
        "device_id": device_id, "at": at.isoformat(), "source": "status",
        "battery_pct": battery_pct, "charging": charging, "strap_closed": strap_closed,
    }  # fmt: skip
    power = policy.watch(RuleKind.POWER_OFF, at)
    found = [_watched(device_id, at, AlertKind.powered_off, False, power, evidence)]
    if strap_closed is not None:
        strap = policy.watch(RuleKind.STRAP_OPEN, at)
        found.append(
            _watched(device_id, at, AlertKind.strap_opened, not strap_closed, strap, evidence)
        )
    battery = policy.watch(RuleKind.BATTERY_CRITICAL, at)
    if battery.threshold is not None:
        critical = battery_critical(battery_pct, charging, battery.threshold)
        if critical is not None:
            detail = {**evidence, "battery_critical_pct": battery.threshold}
            found.append(
                _watched(device_id, at, AlertKind.battery_critical, critical, battery, detail)
            )
    return found


def observe_event(
    device_id: str, at: datetime, kind: str, policy: DevicePolicy
) -> list[Observation]:
    """A device event: ``power_off`` opens powered off (strap_open arrives as a status)."""
    if kind != "power_off":
        return []
    evidence = {"device_id": device_id, "at": at.isoformat(), "source": "event", "event": kind}
    power = policy.watch(RuleKind.POWER_OFF, at)
    return [_watched(device_id, at, AlertKind.powered_off, True, power, evidence)]


def observe_fix(
    device_id: str,
    fix_time: datetime,
    seq: int,
    *,
    speed_mps: float | None = None,
    speed_watch: Watch | None = None,
) -> list[Observation]:
    """An accepted fix: the watch is on, and its movement plausible unless the case has a speed
    limit (``speed_watch.threshold``, m/s) that ``speed_mps``, the least speed needed from the
    fix stored before it, exceeds."""
    evidence: dict[str, Any] = {
        "device_id": device_id, "fix_time": fix_time.isoformat(), "seq": seq,
    }  # fmt: skip
    powered = Observation(device_id, fix_time, AlertKind.powered_off, False, evidence)
    if speed_watch is None or speed_watch.threshold is None or speed_mps is None:
        return [powered, Observation(device_id, fix_time, AlertKind.impossible_movement, False,
                                     evidence)]  # fmt: skip
    too_fast = speed_mps > speed_watch.threshold
    detail = {**evidence, "speed_mps": round(speed_mps, 1), "max_speed_mps": speed_watch.threshold}
    moved = _watched(
        device_id, fix_time, AlertKind.impossible_movement, too_fast, speed_watch, detail
    )
    return [powered, moved]


def observe_refused_jump(
    device_id: str,
    fix_time: datetime,
    seq: int,
    detail: Mapping[str, Any],
    policy: DevicePolicy,
) -> list[Observation]:
    """A fix refused by ingest as faster than its global limit: teleport or spoofing."""
    evidence = {
        "device_id": device_id, "fix_time": fix_time.isoformat(), "seq": seq,
        "source": "refused_fix", "lat": detail.get("lat"), "lon": detail.get("lon"),
    }  # fmt: skip
    watch = policy.watch(RuleKind.IMPOSSIBLE_SPEED, fix_time)
    return [_watched(device_id, fix_time, AlertKind.impossible_movement, True, watch, evidence)]


def observe_contact(device_id: str, received_at: datetime) -> list[Observation]:
    """Anything received from the watch ends a no-signal condition (at receive time)."""
    evidence = {"device_id": device_id, "received_at": received_at.isoformat()}
    return [Observation(device_id, received_at, AlertKind.no_signal, False, evidence)]


def by_case(
    observations: Sequence[tuple[int, Observation]],
) -> dict[int, list[Observation]]:
    """Group (case, observation) pairs by case."""
    grouped: dict[int, list[Observation]] = {}
    for case_id, obs in observations:
        grouped.setdefault(case_id, []).append(obs)
    return grouped
