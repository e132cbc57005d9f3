"""The SMS channel: a notification as UCS-2 submit_sm parts over one SMPP session.

Long texts are concatenated with an 8-bit UDH whose reference comes from the idempotency key,
so a retried message carries the same reference. Status codes map to outcomes: ESME_ROK is
accepted, the transient statuses of :data:`notify.smpp.pdu.TRANSIENT_STATUSES` and any session
failure (unreachable, timeout, connection lost) are failed-transient, everything else is
rejected-permanent. A message is accepted only when every part is.

Caveat of the protocol: a connection lost after submit_sm was written but before its response
came back leaves it unknown whether the SMSC took the part; it is reported as failed, and a
retry may deliver it twice. The SMSC's delivery receipt (matched by message id) settles it.
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Self

from config.settings import SmppSettings
from notify import catalogue
from notify.channel import Clock, ReceiptSink, attempt, utc_now
from notify.models import Attempt, DeliveryReceipt, Notification, Outcome
from notify.smpp import pdu
from notify.smpp.receipts import parse_receipt
from notify.smpp.session import SessionError, SmppSession
from notify.smpp.text import TextTooLongError, split

log = logging.getLogger(__name__)


class SmsChannel:
    """SMS through an SMPP 3.4 gateway; an async context manager that keeps the bind."""

    name = "sms"

    def __init__(
        self,
        settings: SmppSettings,
        *,
        on_receipt: ReceiptSink | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self._settings = settings
        self._on_receipt = on_receipt
        self._clock = clock
        self.session = SmppSession(settings, on_deliver=self._on_deliver)

    async def __aenter__(self) -> Self:
        await self.session.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.session.__aexit__(exc_type, exc, tb)

    def messages(self, notification: Notification, destination: str) -> list[pdu.ShortMessage]:
        """The submit_sm bodies for ``notification`` (pure; one per part)."""
        s = self._settings
        reference = int(notification.key_digest(2), 16)
        parts = split(catalogue.sms_text(notification), reference)
        return [
            pdu.ShortMessage(
                source_addr=s.source_addr,
                source_addr_ton=s.source_addr_ton,
                source_addr_npi=s.source_addr_npi,
                destination_addr=destination,
                dest_addr_ton=s.dest_addr_ton,
                dest_addr_npi=s.dest_addr_npi,
                esm_class=pdu.ESM_UDHI if part.udh else 0,
                registered_delivery=pdu.REGISTERED_DELIVERY_FINAL if s.receipts else 0,
                data_coding=pdu.DATA_CODING_UCS2,
                short_message=part.short_message,
            )
            for part in parts
        ]

    async def send(self, notification: Notification) -> Attempt:
        started = self._clock()

        def done(outcome: Outcome, reply: str, ids: list[str], reason: str | None) -> Attempt:
            return attempt(
                channel=self.name,
                notification=notification,
                outcome=outcome,
                started_at=started,
                clock=self._clock,
                reply=reply,
                message_ids=tuple(ids),
                reason=reason,
            )

        mobile = notification.recipient.mobile
        if not mobile:
            return done(Outcome.rejected, "", [], "recipient has no mobile number")
        try:
            messages = self.messages(notification, mobile)
        except (TextTooLongError, pdu.PduError) as exc:
            return done(Outcome.rejected, "", [], f"cannot encode: {exc}")
        ids: list[str] = []
        for i, message in enumerate(messages, start=1):
            try:
                status, message_id = await self.session.submit(message)
            except SessionError as exc:
                return done(Outcome.failed, str(exc), ids, type(exc).__name__)
            name = pdu.status_name(status)
            if status != pdu.Status.ESME_ROK:
                transient = status in pdu.TRANSIENT_STATUSES
                return done(
                    Outcome.failed if transient else Outcome.rejected,
                    f"submit_sm_resp part {i}/{len(messages)}: {name}",
                    ids,
                    name,
                )
            ids.append(message_id)
        reply = f"submit_sm_resp ESME_ROK message_id={','.join(ids)}"
        return done(Outcome.accepted, reply, ids, None)

    async def _on_deliver(self, message: pdu.ShortMessage) -> None:
        receipt = parse_receipt(message)
        if receipt is None:
            # Replies from handsets are not read (yet); their numbers stay out of the logs.
            log.info("smpp: ignoring a mobile-originated message")
            return
        if self._on_receipt is not None:
            await self._on_receipt(
                DeliveryReceipt(
                    channel=self.name,
                    message_id=receipt.message_id,
                    state=receipt.state,
                    error=receipt.error,
                    received_at=self._clock(),
                    raw=receipt.text,
                )
            )
