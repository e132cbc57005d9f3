"""Events the engine emits; the alerts package turns them into alerts with a lifecycle.

Every event carries a stable ``key`` so that re-evaluating the same fixes (a redelivered MQTT
message, a restart that replays a batch) yields the same key and downstream inserts stay
idempotent. The episode key is ``"{case_id}:{rule_id}:{family}:{start_ms}"`` where family is
``violation``, ``uncertain`` or ``late`` and ``start_ms`` the first fix time in epoch ms.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from geofence.models import FixRef, RuleKind, Severity, epoch_ms


class EventKind(StrEnum):
    """What happened to an episode."""

    EPISODE_OPENED = "episode_opened"
    EVIDENCE_APPENDED = "evidence_appended"
    EPISODE_CLEARED = "episode_cleared"
    UNCERTAIN_OPENED = "uncertain_opened"
    UNCERTAIN_CLEARED = "uncertain_cleared"
    LATE_VIOLATION = "late_violation"


_FAMILY = {
    EventKind.EPISODE_OPENED: "violation",
    EventKind.EVIDENCE_APPENDED: "violation",
    EventKind.EPISODE_CLEARED: "violation",
    EventKind.UNCERTAIN_OPENED: "uncertain",
    EventKind.UNCERTAIN_CLEARED: "uncertain",
    EventKind.LATE_VIOLATION: "late",
}


@dataclass(frozen=True, slots=True)
class GeofenceEvent:
    """One change of a (case, rule) episode.

    ``start`` is the first violating (or uncertain) fix time of the episode; ``end`` is set on
    clearing (the first fix of the clearing run) and on late violations (the last late violating
    fix). ``reason`` qualifies: ``overdue_return`` on an opening after a leave permit ended,
    ``crossing`` when a segment between fixes crossed an exclusion zone, and on clearing
    ``returned``, ``schedule``, ``suspended``, ``not_valid`` or ``no_protected_position``.
    """

    kind: EventKind
    case_id: int
    rule_id: int
    rule_kind: RuleKind
    severity: Severity
    start: datetime
    end: datetime | None = None
    reason: str = ""
    evidence: tuple[FixRef, ...] = ()
    permit_id: int | None = None

    @property
    def episode_key(self) -> str:
        """Identity of the episode this event belongs to."""
        family = _FAMILY[self.kind]
        return f"{self.case_id}:{self.rule_id}:{family}:{epoch_ms(self.start)}"

    @property
    def key(self) -> str:
        """Identity of this event: the episode key plus what happened (and to which fix)."""
        suffix = self.kind.value
        if self.kind is EventKind.EVIDENCE_APPENDED and self.evidence:
            last = self.evidence[-1]
            suffix += f":{epoch_ms(last.fix_time)}:{last.seq}"
        return f"{self.episode_key}:{suffix}"

    def to_json(self) -> dict[str, Any]:
        """JSON-compatible dict (the outbox payload)."""
        return {
            "key": self.key,
            "episode_key": self.episode_key,
            "kind": self.kind.value,
            "case_id": self.case_id,
            "rule_id": self.rule_id,
            "rule_kind": self.rule_kind.value,
            "severity": self.severity.value,
            "start": self.start.isoformat(),
            "end": None if self.end is None else self.end.isoformat(),
            "reason": self.reason,
            "evidence": [r.to_json() for r in self.evidence],
            "permit_id": self.permit_id,
        }
