"""Device conditions as episodes: strap opened, battery critical, powered off, impossible
movement and no signal. Pure ``step(state, observations) -> (state, transitions)``.

An *observation* says, at a device time, whether a condition holds (True), does not (False).
Status reports, events, accepted fixes and refused impossible-speed fixes are turned into
observations by :func:`observe_status` and friends; the watchdog (not this module) finds silence.
A condition opens on the first True while it is not open and clears on the first False after it
opened; an observation not newer than the condition's last change is ignored, so late input
never flips a condition backwards and a redelivered batch changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from alerts.kinds import AlertKind
from geofence.models import epoch_ms

#: Kinds this module tracks (no_signal is opened by the watchdog and cleared here).
DEVICE_KINDS = (
    AlertKind.strap_opened,
    AlertKind.battery_critical,
    AlertKind.powered_off,
    AlertKind.impossible_movement,
    AlertKind.no_signal,
)


@dataclass(frozen=True, slots=True)
class Observation:
    """Whether ``kind`` holds for ``device_id`` at ``at``; ``evidence`` is the source record."""

    device_id: str
    at: datetime
    kind: AlertKind
    holds: bool
    evidence: Mapping[str, Any] = field(default_factory=dict)


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
    """A condition opened (``opened``) or cleared; ``episode_key`` names its alert."""

    case_id: int
    kind: AlertKind
    device_id: str
    opened: bool
    at: datetime
    episode_key: str
    evidence: Mapping[str, Any]


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
                Transition(case_id, obs.kind, obs.device_id, True, obs.at, key, obs.evidence)
            )
        elif not obs.holds and state is not None and state.open:
            current[obs.kind] = replace(state, open=False, changed_at=obs.at)
            out.append(
                Transition(
                    case_id, obs.kind, state.device_id, False, obs.at, state.episode_key,
                    obs.evidence,
                )
            )  # fmt: skip
    return current, out


def observe_status(
    device_id: str,
    at: datetime,
    *,
    battery_pct: float | None,
    charging: bool | None,
    strap_closed: bool | None,
    battery_critical_pct: float,
) -> list[Observation]:
    """What one status report says: strap, battery (critical unless charging), powered on."""
    evidence = {
        "device_id": device_id, "at": at.isoformat(), "source": "status",
        "battery_pct": battery_pct, "charging": charging, "strap_closed": strap_closed,
    }  # fmt: skip
    found = [Observation(device_id, at, AlertKind.powered_off, False, evidence)]
    if strap_closed is not None:
        found.append(Observation(device_id, at, AlertKind.strap_opened, not strap_closed, evidence))
    if charging:
        found.append(Observation(device_id, at, AlertKind.battery_critical, False, evidence))
    elif battery_pct is not None:
        critical = battery_pct <= battery_critical_pct
        found.append(Observation(device_id, at, AlertKind.battery_critical, critical, evidence))
    return found


def observe_event(device_id: str, at: datetime, kind: str) -> list[Observation]:
    """A device event: ``power_off`` opens powered off (strap_open arrives as a status)."""
    if kind != "power_off":
        return []
    evidence = {"device_id": device_id, "at": at.isoformat(), "source": "event", "event": kind}
    return [Observation(device_id, at, AlertKind.powered_off, True, evidence)]


def observe_fix(device_id: str, fix_time: datetime, seq: int) -> list[Observation]:
    """An accepted fix: the watch is on and its movement plausible again."""
    evidence = {"device_id": device_id, "fix_time": fix_time.isoformat(), "seq": seq}
    return [
        Observation(device_id, fix_time, AlertKind.powered_off, False, evidence),
        Observation(device_id, fix_time, AlertKind.impossible_movement, False, evidence),
    ]


def observe_refused_jump(
    device_id: str, fix_time: datetime, seq: int, detail: Mapping[str, Any]
) -> list[Observation]:
    """A fix refused by ingest as an impossible speed: teleport or spoofing."""
    evidence = {
        "device_id": device_id, "fix_time": fix_time.isoformat(), "seq": seq,
        "source": "refused_fix", "lat": detail.get("lat"), "lon": detail.get("lon"),
    }  # fmt: skip
    return [Observation(device_id, fix_time, AlertKind.impossible_movement, True, evidence)]


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
