"""Pure decisions of the devices domain: may an assignment start at a given moment?

An assignment's start may be set back to when the watch was really fitted (its fixes from then
on are replayed into the case), within bounds: not in the future, not more than
``max_back_s`` before now, not before the measure started, and before the assignment's end. A
correction only moves a start earlier: the fixes after the current start are already judged for
the case, and moving the start later would leave them and their alerts without a case.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class StartBounds:
    """What bounds a new start: the database's clock, the setting, the case, the assignment."""

    now: datetime
    max_back_s: float
    #: Midnight of the measure's first day in the case's zone (None: not recorded).
    measure_start: datetime | None = None
    #: The assignment's current start (None when it is being created).
    current_start: datetime | None = None
    #: The assignment's end (None: open).
    valid_to: datetime | None = None


def start_refusal(start: datetime, bounds: StartBounds) -> str | None:
    """Why ``start`` (aware) may not be the assignment's start, in words; None if it may."""
    if start > bounds.now:
        return f"the start {start.isoformat()} is in the future"
    earliest = bounds.now - timedelta(seconds=bounds.max_back_s)
    if start < earliest:
        hours = bounds.max_back_s / 3600
        return (
            f"the start {start.isoformat()} is more than {hours:g} h ago "
            f"(earliest {earliest.isoformat()})"
        )
    if bounds.measure_start is not None and start < bounds.measure_start:
        return (
            f"the start {start.isoformat()} is before the measure began "
            f"({bounds.measure_start.isoformat()})"
        )
    if bounds.valid_to is not None and start >= bounds.valid_to:
        return f"the start {start.isoformat()} is not before the assignment's end"
    if bounds.current_start is not None and start >= bounds.current_start:
        return (
            f"the start {start.isoformat()} is not earlier than the current start "
            f"{bounds.current_start.isoformat()}: a start can only be moved earlier (the fixes "
            "after it are already judged for the case)"
        )
    return None
