"""The e-mail channel: a UTF-8 message over SMTP with STARTTLS required (aiosmtplib).

The server's certificate is verified (against ``ca_file`` when set, else the system store);
a server that does not offer STARTTLS is refused, so neither the credentials nor the
message ever travel in clear. The Message-ID derives from the idempotency key, so a message
retried after an ambiguous failure carries the same id and mail systems can drop the copy.

Replies map to outcomes: 2xx accepted; 4xx (and connection loss, timeouts) failed-transient;
5xx, a refused login, an untrusted certificate and a server without STARTTLS or AUTH
rejected-permanent.
"""

from __future__ import annotations

import ssl
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

import aiosmtplib

from config.settings import SmtpSettings
from notify import catalogue
from notify.channel import Clock, attempt, utc_now
from notify.models import Attempt, Notification, Outcome


def message_id(notification: Notification, sender: str) -> str:
    """``<bw.<digest>@<sender's domain>>``, the same for every retry."""
    domain = sender.rpartition("@")[2] or "localhost"
    return f"<bw.{notification.key_digest(32)}@{domain}>"


def build_message(notification: Notification, *, sender: str, to: str) -> EmailMessage:
    """The message (pure): Chinese subject and body in UTF-8, plain text."""
    msg = EmailMessage()
    msg["Subject"] = catalogue.title(notification)
    msg["From"] = Address(display_name="电子监管 bailwatch", addr_spec=sender)
    name = catalogue.clean(catalogue.single_line(notification.recipient.name))
    msg["To"] = Address(display_name=name, addr_spec=to)
    msg["Date"] = format_datetime(notification.facts.occurred_at)
    msg["Message-ID"] = message_id(notification, sender)
    msg["X-Bailwatch-Key"] = notification.idempotency_key
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(catalogue.plain_text(notification), charset="utf-8")
    return msg


def tls_context(ca_file: str | None) -> ssl.SSLContext:
    """A verifying client context (hostname checked), trusting ``ca_file`` when given."""
    return ssl.create_default_context(cafile=ca_file)


def outcome_of(exc: aiosmtplib.SMTPException) -> tuple[Outcome, str]:
    """How a failure from aiosmtplib counts, and a short reason."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        transient = bool(codes) and all(400 <= c < 500 for c in codes)
        return (Outcome.failed if transient else Outcome.rejected), f"recipients refused {codes}"
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        transient = 400 <= exc.code < 500 and not isinstance(
            exc, aiosmtplib.SMTPAuthenticationError
        )
        return (Outcome.failed if transient else Outcome.rejected), f"SMTP {exc.code}"
    if isinstance(exc, aiosmtplib.SMTPNotSupported) or type(exc) is aiosmtplib.SMTPException:
        # aiosmtplib raises the bare base class only for a missing capability (no STARTTLS,
        # no AUTH): the server is not configured as this channel requires.
        return Outcome.rejected, "server does not offer STARTTLS or AUTH"
    # Disconnected, connect error, timeouts: try again later.
    return Outcome.failed, type(exc).__name__


class EmailChannel:
    """E-mail through one SMTP submission server."""

    name = "email"

    def __init__(self, settings: SmtpSettings, *, clock: Clock = utc_now) -> None:
        self._settings = settings
        self._clock = clock
        self._tls = tls_context(settings.ca_file)

    async def send(self, notification: Notification) -> Attempt:
        started = self._clock()
        s = self._settings
        to = notification.recipient.email

        def done(
            outcome: Outcome, reply: str, reason: str | None, ids: tuple[str, ...] = ()
        ) -> Attempt:
            return attempt(
                channel=self.name,
                notification=notification,
                outcome=outcome,
                started_at=started,
                clock=self._clock,
                reply=reply,
                message_ids=ids,
                reason=reason,
            )

        if not to:
            return done(Outcome.rejected, "", "recipient has no e-mail address")
        msg = build_message(notification, sender=s.sender, to=to)
        try:
            _refused, reply = await aiosmtplib.send(
                msg,
                hostname=s.host,
                port=s.port,
                username=s.username,
                password=s.password.get_secret_value() if s.password else None,
                start_tls=True,
                tls_context=self._tls,
                timeout=s.timeout_s,
            )
        except aiosmtplib.SMTPException as exc:
            outcome, reason = outcome_of(exc)
            return done(outcome, str(exc), reason)
        except (OSError, ssl.SSLError) as exc:
            # A certificate that does not verify is a configuration fault, not a busy server.
            if isinstance(exc, ssl.SSLCertVerificationError):
                return done(Outcome.rejected, str(exc), "certificate not trusted")
            return done(Outcome.failed, str(exc), type(exc).__name__)
        return done(Outcome.accepted, reply, None, (str(msg["Message-ID"]),))
