"""The contract every channel keeps, and the helpers that build its attempts.

A channel never raises for a failed delivery: ``send`` returns an :class:`Attempt` saying
accepted, rejected (permanent: do not retry) or failed (transient: retry with backoff). Only
programming errors raise. Channels that get delivery receipts (SMS) hand them to a
:class:`ReceiptSink` given at construction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

from notify.models import Attempt, DeliveryReceipt, Notification, Outcome

#: Where a channel hands the delivery receipts it receives (called on the event loop).
ReceiptSink = Callable[[DeliveryReceipt], Awaitable[None]]

#: The clock channels read (UTC, timezone-aware); injectable for tests.
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@runtime_checkable
class Channel(Protocol):
    """One way to reach a person."""

    #: ``sms``, ``email``, ``wecom``, ``dingtalk``.
    name: str

    async def send(self, notification: Notification) -> Attempt:
        """Hand ``notification`` to the gateway once; never raises for delivery failures."""
        ...


def attempt(
    *,
    channel: str,
    notification: Notification,
    outcome: Outcome,
    started_at: datetime,
    clock: Clock,
    reply: str,
    message_ids: tuple[str, ...] = (),
    reason: str | None = None,
) -> Attempt:
    """An :class:`Attempt` finished now."""
    return Attempt(
        channel=channel,
        idempotency_key=notification.idempotency_key,
        outcome=outcome,
        started_at=started_at,
        finished_at=clock(),
        reply=reply,
        message_ids=message_ids,
        reason=reason,
    )
