"""Cancelling a leave permit: which transitions are legal, who may make them, and their effect.
Pure: the caller passes the permit's state, the caller's role and the clock.

::

    requested --withdrawn--> cancelled          officers of the supervising unit (police,
                                                supervisor) or the case's prosecutor
    approved  --cancelled--> cancelled          the deciders (supervisor, the case's prosecutor),
                                                before its window or during it
    rejected, cancelled, approved and ended     409: nothing left to cancel

An approved permit cancelled during its window ends at that moment (``ended_at``): its
suspended rules apply again and its destination stops counting from then on, while fixes from
before the cancellation stay covered. A withdrawn request, or an approved permit cancelled before
its window, never takes effect (no ``ended_at``).
"""

from __future__ import annotations

from datetime import datetime

from api.auth.models import OFFICERS, Role
from api.errors import ConflictError, ForbiddenError
from api.permits.models import PermitStatus

#: Roles that decide leave requests (approve, reject, cancel an approved permit).
DECIDERS = frozenset({Role.supervisor, Role.prosecutor})
#: Roles that may withdraw a request (who may see the case decides which requests).
CANCELLERS = OFFICERS | DECIDERS


def cancellation_end(
    *,
    status: PermitStatus,
    window_start: datetime,
    window_end: datetime,
    role: Role,
    now: datetime,
) -> datetime | None:
    """The moment the permit's effect ends if it is cancelled ``now`` (None: it never had one).

    Raises ``ConflictError`` when there is nothing left to cancel and ``ForbiddenError`` when
    ``role`` may withdraw a request but not cancel an approved permit.
    """
    if status is PermitStatus.requested:
        return None
    if status is not PermitStatus.approved:
        raise ConflictError(f"the permit is {status.value} already", status_now=status.value)
    if window_end <= now:
        raise ConflictError(
            f"the permit ended at {window_end.isoformat()}; an ended permit cannot be cancelled",
            status_now=status.value,
        )
    if role not in DECIDERS:
        raise ForbiddenError(
            "police may withdraw a request; an approved permit is cancelled by the supervisor "
            "or the case's prosecutor"
        )
    return now if window_start < now else None
