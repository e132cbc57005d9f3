"""The alert lifecycle as a table: every (status, step) and its outcome."""

from __future__ import annotations

import pytest

from alerts.lifecycle import (
    AlertStatus,
    Disposition,
    EventKind,
    IllegalTransitionError,
    acknowledge,
    resolve,
)

OPEN, ACK, RESOLVED = AlertStatus.open, AlertStatus.acknowledged, AlertStatus.resolved


def test_acknowledge_open() -> None:
    step = acknowledge(OPEN)
    assert (step.after, step.events, step.acknowledges) == (ACK, (EventKind.acknowledged,), True)


@pytest.mark.parametrize(("status", "reason"), [(ACK, "already"), (RESOLVED, "final")])
def test_acknowledge_refused(status: AlertStatus, reason: str) -> None:
    with pytest.raises(IllegalTransitionError, match=reason):
        acknowledge(status)


@pytest.mark.parametrize(
    ("status", "events"),
    [
        (OPEN, (EventKind.acknowledged, EventKind.resolved)),
        (ACK, (EventKind.resolved,)),
    ],
)
@pytest.mark.parametrize("disposition", list(Disposition))
def test_resolve(status: AlertStatus, events: tuple[EventKind, ...], disposition: str) -> None:
    step = resolve(status, disposition, "went there; wearer at home")
    assert step.after is RESOLVED
    assert step.events == events
    assert step.acknowledges is (status is OPEN)


@pytest.mark.parametrize(
    ("status", "disposition", "note", "reason"),
    [
        (RESOLVED, "false_alarm", "again", "final"),
        (OPEN, "false_alarm", "   ", "note"),
        (ACK, "false_alarm", "", "note"),
        (ACK, "whatever", "a note", "unknown disposition"),
    ],
)
def test_resolve_refused(status: AlertStatus, disposition: str, note: str, reason: str) -> None:
    with pytest.raises(IllegalTransitionError, match=reason):
        resolve(status, disposition, note)
