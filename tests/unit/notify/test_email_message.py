"""The e-mail message and how SMTP failures count."""

from __future__ import annotations

import aiosmtplib
import pytest

from notify.email import build_message, message_id, outcome_of
from notify.models import Outcome
from tests.support.notifications import notification


def test_message_headers_and_utf8_body() -> None:
    n = notification()
    msg = build_message(n, sender="alerts@bw.example", to="a@b.example")
    assert msg["Subject"] == "新告警（紧急）进入禁入区域 东公(刑)取保字〔2026〕003号"
    assert msg["Message-ID"] == message_id(n, "alerts@bw.example")
    assert msg["Message-ID"].endswith("@bw.example>")
    assert msg["X-Bailwatch-Key"] == "user:7:41:opened"
    assert msg.get_content_charset() == "utf-8"
    assert "人员：张三" in msg.get_content()
    assert msg["Date"] == "Sun, 22 Nov 2026 02:05:09 +0000"


def test_the_message_id_is_the_same_for_a_retry_and_differs_per_person() -> None:
    assert message_id(notification(), "a@x") == message_id(notification(), "a@x")
    assert message_id(notification(recipient_id="user:8"), "a@x") != message_id(
        notification(), "a@x"
    )


def test_a_name_with_a_line_break_cannot_inject_headers() -> None:
    msg = build_message(notification(), sender="a@x.example", to="b@y.example")
    assert "\n" not in str(msg["To"])
    evil = notification(case_number="X-1\r\nBcc: x@evil.example")
    out = build_message(evil, sender="a@x.example", to="b@y.example")
    assert out["Bcc"] is None
    assert "\nBcc:" not in out.as_string()
    assert "Bcc: x@evil.example" in out["Subject"]


@pytest.mark.parametrize(
    ("exc", "outcome"),
    [
        (aiosmtplib.SMTPResponseException(451, "busy"), Outcome.failed),
        (aiosmtplib.SMTPResponseException(554, "no"), Outcome.rejected),
        (aiosmtplib.SMTPAuthenticationError(454, "temporary auth failure"), Outcome.rejected),
        (aiosmtplib.SMTPAuthenticationError(535, "bad credentials"), Outcome.rejected),
        (aiosmtplib.SMTPServerDisconnected("gone"), Outcome.failed),
        (aiosmtplib.SMTPConnectError("refused"), Outcome.failed),
        (aiosmtplib.SMTPReadTimeoutError("slow"), Outcome.failed),
        (aiosmtplib.SMTPException("SMTP STARTTLS extension not supported"), Outcome.rejected),
        (
            aiosmtplib.SMTPRecipientsRefused([aiosmtplib.SMTPRecipientRefused(450, "later", "a")]),
            Outcome.failed,
        ),
        (
            aiosmtplib.SMTPRecipientsRefused([aiosmtplib.SMTPRecipientRefused(550, "no", "a")]),
            Outcome.rejected,
        ),
    ],
)
def test_failures_are_judged(exc: aiosmtplib.SMTPException, outcome: Outcome) -> None:
    assert outcome_of(exc)[0] is outcome
