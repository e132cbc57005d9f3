"""The alert lifecycle, pure: ``open -> acknowledged -> resolved``.

Resolving needs a disposition and a non-empty note; an open alert may be resolved directly, which
records an implicit acknowledgement first (so every resolved alert has an acknowledgement time and
time-to-acknowledge is defined). A resolved alert is final. Illegal transitions raise
:class:`IllegalTransitionError` with a reason a person can act on. The caller persists the result:
the new status and one ``alert_events`` row per entry of :attr:`Transition.events`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class AlertStatus(StrEnum):
    open = "open"
    acknowledged = "acknowledged"
    resolved = "resolved"


class Disposition(StrEnum):
    """How a resolved alert was judged."""

    violation_confirmed = "violation_confirmed"
    false_alarm = "false_alarm"
    technical_fault = "technical_fault"
    excused_by_permit = "excused_by_permit"


class EventKind(StrEnum):
    """``alert_events.kind`` values written by the lifecycle."""

    acknowledged = "acknowledged"
    resolved = "resolved"


class IllegalTransitionError(Exception):
    """The alert's current status does not allow the requested change; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Transition:
    """The outcome of one lifecycle step: the new status and the timeline entries to append,
    in order (an implicit acknowledgement comes before the resolution)."""

    before: AlertStatus
    after: AlertStatus
    events: tuple[EventKind, ...]

    @property
    def acknowledges(self) -> bool:
        """Whether this step sets the acknowledgement (explicitly or implicitly)."""
        return EventKind.acknowledged in self.events


def acknowledge(status: AlertStatus) -> Transition:
    """Acknowledge an open alert (someone has taken it on)."""
    if status is AlertStatus.acknowledged:
        raise IllegalTransitionError("the alert is already acknowledged")
    if status is AlertStatus.resolved:
        raise IllegalTransitionError("the alert is resolved; a resolved alert is final")
    return Transition(status, AlertStatus.acknowledged, (EventKind.acknowledged,))


def resolve(status: AlertStatus, disposition: str, note: str) -> Transition:
    """Resolve an open or acknowledged alert with a :class:`Disposition` and a non-empty note."""
    if disposition not in set(Disposition):
        choices = ", ".join(d.value for d in Disposition)
        raise IllegalTransitionError(f"unknown disposition {disposition!r}; use one of {choices}")
    if not note.strip():
        raise IllegalTransitionError("resolving needs a note saying what was found")
    if status is AlertStatus.resolved:
        raise IllegalTransitionError("the alert is resolved already; a resolved alert is final")
    events: tuple[EventKind, ...] = (EventKind.resolved,)
    if status is AlertStatus.open:
        events = (EventKind.acknowledged, EventKind.resolved)
    return Transition(status, AlertStatus.resolved, events)
