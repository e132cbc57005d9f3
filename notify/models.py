"""Types of the notification layer: what to say, to whom, and what came of trying.

Times are timezone-aware UTC inside; the catalogue shows them in the case's zone.
Coordinates are WGS84 ``(lon, lat)``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Literal

Severity = Literal["critical", "high", "medium", "low"]


class Language(StrEnum):
    """Language of a message; Chinese first."""

    zh = "zh"
    en = "en"


class Outcome(StrEnum):
    """What became of one attempt to hand a notification to its gateway."""

    #: The gateway took it (SMPP submit_sm_resp 0, SMTP 250, robot errcode 0).
    accepted = "accepted"
    #: The gateway refused it for good (bad number, bad key, bad signature): do not retry.
    rejected = "rejected"
    #: It may work later (gateway down, throttled, timed out): retry with backoff.
    failed = "failed"


@dataclass(frozen=True, slots=True)
class AlertFacts:
    """The facts of an alert a message tells (all shown, none interpreted)."""

    #: Alert id in the alerts table (part of the idempotency key).
    alert_id: int
    #: ``alerts.kinds.AlertKind`` value, e.g. ``left_permitted_area``.
    kind: str
    severity: Severity
    case_number: str
    person_name: str
    #: Zone concerned, if any (a county, an exclusion zone).
    zone_name: str | None
    #: WGS84 ``(lon, lat)`` of the fix that raised it, if any.
    position: tuple[float, float] | None
    #: When it happened, timezone-aware (UTC inside).
    occurred_at: datetime
    #: IANA zone of the case; times are shown in it.
    timezone: str = "Asia/Shanghai"

    def __post_init__(self) -> None:
        if self.occurred_at.tzinfo is None:
            raise ValueError("occurred_at must be timezone-aware")
        if self.position is not None:
            lon, lat = self.position
            if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
                raise ValueError(f"position out of range: {self.position}")


@dataclass(frozen=True, slots=True)
class Recipient:
    """A person (or a group robot's group) and the addresses channels may use."""

    #: Stable id of the recipient (a user id, ``group:<name>`` for a robot's group).
    id: str
    name: str
    #: Mobile number as the SMS gateway expects it (e.g. ``8613800000000``).
    mobile: str | None = None
    email: str | None = None
    language: Language = Language.zh


@dataclass(frozen=True, slots=True)
class Notification:
    """One message about one alert event for one recipient."""

    facts: AlertFacts
    recipient: Recipient
    #: The alert event this notifies (opened, escalated, ...): with the recipient, the
    #: idempotency key, so one person is never told twice about one event.
    event: str = "opened"

    @property
    def language(self) -> Language:
        return self.recipient.language

    @property
    def idempotency_key(self) -> str:
        """``<recipient>:<alert>:<event>``: the same for every retry of this notification."""
        return f"{self.recipient.id}:{self.facts.alert_id}:{self.event}"

    def key_digest(self, size: int = 16) -> str:
        """A short hex digest of the idempotency key (message ids, concatenation references)."""
        return hashlib.sha256(self.idempotency_key.encode()).hexdigest()[:size]


@dataclass(frozen=True, slots=True)
class Attempt:
    """The result of one ``Channel.send``: never raised, always returned."""

    channel: str
    idempotency_key: str
    outcome: Outcome
    #: UTC start and end of the attempt.
    started_at: datetime
    finished_at: datetime
    #: The gateway's reply as it gave it (status code and text, or the robot's JSON).
    reply: str
    #: Ids the gateway gave to what it accepted (SMPP message ids, one per part; SMTP Message-ID).
    message_ids: tuple[str, ...] = ()
    #: A short machine-readable reason when not accepted (``ESME_RTHROTTLED``, ``errcode 93000``).
    reason: str | None = None

    @property
    def duration_s(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()


@dataclass(frozen=True, slots=True)
class DeliveryReceipt:
    """A gateway's report that a message reached (or did not reach) the handset."""

    channel: str
    message_id: str
    #: Final state as the gateway spells it (SMPP: DELIVRD, EXPIRED, UNDELIV, REJECTD, ...).
    state: str
    #: Network error code, if the gateway gave one.
    error: str | None
    received_at: datetime
    raw: str = field(default="", repr=False)

    @property
    def delivered(self) -> bool:
        return self.state == "DELIVRD"
