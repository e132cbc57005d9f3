"""Which permits may be cancelled, by whom, and when their effect ends (``api.permits.logic``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from api.auth.models import Role
from api.errors import ConflictError, ForbiddenError
from api.permits.logic import cancellation_end
from api.permits.models import PermitStatus

NOW = datetime(2026, 11, 22, 4, 0, tzinfo=UTC)
H = timedelta(hours=1)
#: (start, end) of a window that has not started, one in progress, one that has ended.
AHEAD, DURING, ENDED = (NOW + H, NOW + 3 * H), (NOW - H, NOW + H), (NOW - 3 * H, NOW - H)


@pytest.mark.parametrize(
    ("status", "window", "role", "ends"),
    [
        (PermitStatus.requested, DURING, Role.police, None),
        (PermitStatus.requested, ENDED, Role.prosecutor, None),
        (PermitStatus.approved, AHEAD, Role.supervisor, None),
        (PermitStatus.approved, DURING, Role.supervisor, NOW),
        (PermitStatus.approved, DURING, Role.prosecutor, NOW),
        (PermitStatus.approved, (NOW, NOW + H), Role.prosecutor, None),
    ],
)
def test_legal_cancellations_and_their_end(
    status: PermitStatus, window: tuple[datetime, datetime], role: Role, ends: datetime | None
) -> None:
    start, end = window
    got = cancellation_end(status=status, window_start=start, window_end=end, role=role, now=NOW)
    assert got == ends


@pytest.mark.parametrize(
    ("status", "window", "role", "error", "fragment"),
    [
        (PermitStatus.rejected, DURING, Role.supervisor, ConflictError, "rejected already"),
        (PermitStatus.cancelled, AHEAD, Role.prosecutor, ConflictError, "cancelled already"),
        (PermitStatus.approved, ENDED, Role.supervisor, ConflictError, "ended"),
        (PermitStatus.approved, (NOW - H, NOW), Role.supervisor, ConflictError, "ended"),
        (PermitStatus.approved, ENDED, Role.police, ConflictError, "ended"),
        (PermitStatus.approved, DURING, Role.police, ForbiddenError, "supervisor"),
        (PermitStatus.approved, AHEAD, Role.police, ForbiddenError, "prosecutor"),
    ],
)
def test_refused_cancellations(
    status: PermitStatus,
    window: tuple[datetime, datetime],
    role: Role,
    error: type[Exception],
    fragment: str,
) -> None:
    start, end = window
    with pytest.raises(error, match=fragment):
        cancellation_end(status=status, window_start=start, window_end=end, role=role, now=NOW)
