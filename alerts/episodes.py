"""Engine events and device transitions as alert operations: open, add evidence, clear.

Pure. One episode = one alert at a time, named by the episode key; each operation carries the
key of the event behind it so that applying it twice (a redelivered batch) changes nothing.
Evidence is the fixes (``{device_id, fix_time, seq}``) or status records that opened or extended
the episode.
A late violation (found in an offline buffer) opens a ``late`` alert that is already cleared.

Re-alert: an alert resolved while its episode goes on (the wearer still in the victim's zone)
takes no more evidence. The fixes that show the condition after the resolution are held; once
they meet the rule's grace again (as many fixes, as long a span) and the last of them is at
least ``realert_after_s`` after the resolution, a new alert of the same episode opens with them
as its evidence (:func:`realert_due`, :func:`successor_key`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from alerts.conditions import Transition
from alerts.kinds import AlertKind, Severity, severity_of, uncertain_severity, violation_kind
from geofence.events import EventKind, GeofenceEvent
from geofence.models import Grace, epoch_ms, utc_from_ms


class Action(StrEnum):
    """What an operation does to an alert."""

    open = "open"
    evidence = "evidence"
    clear = "clear"


@dataclass(frozen=True, slots=True)
class AlertOp:
    """One change to the alert of ``episode_key``; ``at`` is the device time it happened."""

    action: Action
    episode_key: str
    event_key: str
    case_id: int
    kind: AlertKind
    severity: Severity
    started_at: datetime
    at: datetime
    device_id: str | None = None
    rule_id: int | None = None
    late: bool = False
    evidence: tuple[Mapping[str, Any], ...] = ()
    data: Mapping[str, Any] = field(default_factory=dict)

    def timeline_data(self) -> dict[str, Any]:
        """The ``alert_events.data`` of this operation."""
        return {"at": self.at.isoformat(), "evidence": list(self.evidence), **self.data}


def _geofence_kind(event: GeofenceEvent, rule_severity: str | None) -> tuple[AlertKind, Severity]:
    if event.kind in (EventKind.UNCERTAIN_OPENED, EventKind.UNCERTAIN_CLEARED):
        base = severity_of(violation_kind(event.rule_kind, ""), rule_severity)
        return AlertKind.location_uncertain, uncertain_severity(base)
    kind = violation_kind(event.rule_kind, event.reason)
    return kind, severity_of(kind, rule_severity)


_OPENING = {EventKind.EPISODE_OPENED, EventKind.UNCERTAIN_OPENED, EventKind.LATE_VIOLATION}
_CLEARING = {EventKind.EPISODE_CLEARED, EventKind.UNCERTAIN_CLEARED}


def from_geofence(
    event: GeofenceEvent,
    *,
    rule_severity: str | None,
    wearer_command: Mapping[str, Any] | None = None,
) -> list[AlertOp]:
    """The operations of one engine event (a late violation: open, then clear)."""
    kind, severity = _geofence_kind(event, rule_severity)
    data: dict[str, Any] = {"reason": event.reason, "rule_kind": event.rule_kind.value}
    if event.permit_id is not None:
        data["permit_id"] = event.permit_id
    base = AlertOp(
        Action.open,
        episode_key=event.episode_key,
        event_key=event.key,
        case_id=event.case_id,
        kind=kind,
        severity=severity,
        started_at=event.start,
        at=event.start,
        device_id=event.evidence[0].device_id if event.evidence else None,
        rule_id=event.rule_id,
        late=event.kind is EventKind.LATE_VIOLATION,
        evidence=tuple(r.to_json() for r in event.evidence),
        data=data,
    )
    if event.kind in _OPENING:
        if wearer_command and base.device_id and event.kind is EventKind.EPISODE_OPENED:
            base = replace(base, data={**data, "cmd": {"cmd": "notify_wearer", **wearer_command}})
        if event.kind is EventKind.LATE_VIOLATION and event.end is not None:
            cleared = replace(
                base,
                action=Action.clear,
                event_key=f"{event.key}:cleared",
                at=event.end,
                evidence=(),
                data={**data, "reason": "late"},
            )
            return [base, cleared]
        return [base]
    if event.kind in _CLEARING:
        return [replace(base, action=Action.clear, at=event.end or event.start)]
    last = event.evidence[-1].fix_time if event.evidence else event.start
    return [replace(base, action=Action.evidence, at=last)]


def from_transition(t: Transition) -> AlertOp:
    """The operation of one device-condition transition (severity and rule: the deciding case
    rule's, else the kind's default); a ``still`` one is evidence, keyed by its time."""
    start_ms = int(t.episode_key.rsplit(":", 1)[1])
    if t.still:
        action, suffix = Action.evidence, f"holds:{epoch_ms(t.at)}"
    else:
        action, suffix = (Action.open, "opened") if t.opened else (Action.clear, "cleared")
    return AlertOp(
        action,
        episode_key=t.episode_key,
        event_key=f"{t.episode_key}:{suffix}",
        case_id=t.case_id,
        kind=t.kind,
        severity=severity_of(t.kind, t.severity),
        started_at=utc_from_ms(start_ms),
        at=t.at,
        device_id=t.device_id,
        rule_id=t.rule_id,
        evidence=(t.evidence,),
    )


def dedupe_evidence(ops: Sequence[AlertOp]) -> list[AlertOp]:
    """Drop evidence already carried by an earlier operation of the same episode (by fix key)."""
    seen: dict[str, set[str]] = {}
    out: list[AlertOp] = []
    for op in ops:
        keys = seen.setdefault(op.episode_key, set())
        if op.action is Action.evidence:
            fresh = tuple(e for e in op.evidence if _ref(e) not in keys)
            if not fresh:
                continue
            op = replace(op, evidence=fresh)
        keys.update(_ref(e) for e in op.evidence)
        out.append(op)
    return out


def _ref(evidence: Mapping[str, Any]) -> str:
    return f"{evidence.get('device_id')}|{evidence.get('fix_time') or evidence.get('at')}|" + str(
        evidence.get("seq")
    )


def fix_time_of(evidence: Mapping[str, Any]) -> datetime | None:
    """The device time of one evidence record (a fix's ``fix_time``, a status's ``at``)."""
    text = evidence.get("fix_time") or evidence.get("at")
    return datetime.fromisoformat(text) if isinstance(text, str) else None


def after_resolution(
    evidence: Sequence[Mapping[str, Any]], resolved_at: datetime
) -> list[Mapping[str, Any]]:
    """The evidence records of device times after ``resolved_at`` (earlier ones belong to the
    period the officer has judged)."""
    out = []
    for e in evidence:
        at = fix_time_of(e)
        if at is not None and at > resolved_at:
            out.append(e)
    return out


def realert_due(
    *,
    held: int,
    first: datetime,
    last: datetime,
    resolved_at: datetime,
    grace: Grace,
    realert_after_s: float,
) -> bool:
    """Whether ``held`` fixes from ``first`` to ``last`` (device times), all after the alert was
    resolved at ``resolved_at``, open a new alert: they meet the rule's opening grace (at least
    ``open_after_fixes`` fixes spanning at least ``open_after_s``) and the condition has gone on
    for ``realert_after_s`` since the resolution."""
    return (
        held >= grace.open_after_fixes
        and (last - first).total_seconds() >= grace.open_after_s
        and (last - resolved_at).total_seconds() >= realert_after_s
    )


def successor_key(episode_root: str, predecessor_id: int) -> str:
    """The episode key of the alert that follows resolved alert ``predecessor_id``."""
    return f"{episode_root}:after:{predecessor_id}"
