"""E-mail over SMTP with STARTTLS against aiosmtpd on loopback, verified against a test CA."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from config.settings import SmtpSettings
from notify import catalogue
from notify.email import EmailChannel
from notify.models import Language, Outcome
from tests.support.notifications import notification
from tests.support.smtpd import MailServer

USER, PASSWORD = "bailwatch", "pw-smtp-test"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[MailServer]:
    mail = MailServer(tmp_path, username=USER, password=PASSWORD)
    mail.start()
    yield mail
    mail.stop()


def smtp_settings(server: MailServer, **overrides: object) -> SmtpSettings:
    base: dict[str, object] = {
        "port": server.port,
        "username": USER,
        "password": PASSWORD,
        "sender": "alerts@bailwatch.example",
        "ca_file": str(server.ca_file),
        "timeout_s": 5.0,
    }
    return SmtpSettings.model_validate(base | overrides)


async def test_chinese_mail_arrives_over_tls_after_login(server: MailServer) -> None:
    n = notification()
    result = await EmailChannel(smtp_settings(server)).send(n)

    assert result.outcome is Outcome.accepted, result
    [got] = await server.wait_for(1)
    assert got.tls
    assert got.login == USER
    assert got.rcpt_tos == ["duty.officer@dyq.police.example"]
    assert got.message["Subject"] == catalogue.title(n)
    assert "进入禁入区域" in got.message["Subject"]
    assert got.message["To"].addresses[0].display_name == "李警官"
    body = got.message.get_body(("plain",))
    assert body is not None
    assert body.get_content().replace("\r\n", "\n") == catalogue.plain_text(n)
    assert "时间：2026-11-22 10:05:09 +08:00 (Asia/Shanghai)" in body.get_content()
    assert got.message["Message-ID"] == result.message_ids[0]


async def test_english_mail(server: MailServer) -> None:
    n = notification(language=Language.en)
    result = await EmailChannel(smtp_settings(server)).send(n)
    assert result.outcome is Outcome.accepted
    [got] = await server.wait_for(1)
    assert got.message["Subject"].startswith("New alert (CRITICAL): Entered exclusion zone")


async def test_busy_server_is_transient_and_the_retry_keeps_the_message_id(
    server: MailServer,
) -> None:
    channel = EmailChannel(smtp_settings(server))
    server.handler.refuse = 1
    busy = await channel.send(notification())
    assert busy.outcome is Outcome.failed
    assert busy.reason == "SMTP 451"

    again = await channel.send(notification())
    assert again.outcome is Outcome.accepted
    [got] = await server.wait_for(1)
    assert len(server.handler.received) == 1
    assert got.message["Message-ID"] == again.message_ids[0]


async def test_server_down_then_back(server: MailServer) -> None:
    channel = EmailChannel(smtp_settings(server))
    server.stop()
    down = await channel.send(notification())
    assert down.outcome is Outcome.failed
    server.start()
    up = await channel.send(notification())
    assert up.outcome is Outcome.accepted
    assert len(await server.wait_for(1)) == 1


async def test_wrong_password_is_permanent(server: MailServer) -> None:
    result = await EmailChannel(smtp_settings(server, password="wrong")).send(notification())
    assert result.outcome is Outcome.rejected
    assert server.handler.received == []


async def test_untrusted_certificate_is_refused(server: MailServer, tmp_path: Path) -> None:
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    result = await EmailChannel(smtp_settings(server, ca_file=str(other))).send(notification())
    assert result.outcome is Outcome.rejected
    assert result.reason == "certificate not trusted"
    assert server.handler.received == []


async def test_a_server_without_starttls_gets_nothing(tmp_path: Path) -> None:
    plain = MailServer(tmp_path, username=USER, password=PASSWORD, tls=False)
    plain.start()
    try:
        result = await EmailChannel(smtp_settings(plain)).send(notification())
    finally:
        plain.stop()
    assert result.outcome is Outcome.rejected
    assert plain.handler.received == []


async def test_recipient_without_address_is_rejected(server: MailServer) -> None:
    result = await EmailChannel(smtp_settings(server)).send(notification(email=None))
    assert result.outcome is Outcome.rejected
