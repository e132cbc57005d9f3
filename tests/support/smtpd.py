"""A loopback SMTP server for the e-mail tests: aiosmtpd with STARTTLS and AUTH required,
its certificate issued by a test CA (trustme, on ``cryptography``) the client must trust.

:class:`MailServer` records every accepted message; ``refuse_next`` makes the next DATA
answer 451 (transient); ``stop`` and ``start`` simulate a server that is down for a while.
"""

from __future__ import annotations

import asyncio
import email
import ssl
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.support.smsc import free_port


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    tls: bool
    login: str | None


@dataclass
class Handler:
    received: list[Received] = field(default_factory=list)
    refuse: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 (aiosmtpd's hook name)
        with self.lock:
            if self.refuse > 0:
                self.refuse -= 1
                return "451 4.3.0 Mail server busy, try again later"
            raw = envelope.original_content or envelope.content or b""
            assert isinstance(raw, bytes)
            parsed = email.message_from_bytes(raw, policy=default)
            assert isinstance(parsed, EmailMessage)
            login = session.auth_data.login.decode() if session.auth_data else None
            self.received.append(
                Received(
                    mail_from=envelope.mail_from or "",
                    rcpt_tos=list(envelope.rcpt_tos),
                    message=parsed,
                    tls=session.ssl is not None,
                    login=login,
                )
            )
        return "250 2.0.0 OK queued"


class MailServer:
    """aiosmtpd on a fixed loopback port, STARTTLS and AUTH required."""

    def __init__(self, directory: Path, *, username: str, password: str, tls: bool = True) -> None:
        self.ca = trustme.CA(organization_name="bailwatch test CA")
        self.ca_file = directory / "smtp-ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))
        server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_ctx)
        self.port = free_port()
        self.handler = Handler()
        self._credentials = (username.encode(), password.encode())
        self._tls: dict[str, Any] = (
            {"tls_context": server_ctx, "require_starttls": True} if tls else {}
        )
        self._controller: Controller | None = None

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (
            (auth_data.login, auth_data.password) == self._credentials
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    def start(self) -> None:
        self._controller = Controller(
            self.handler,
            hostname="127.0.0.1",
            port=self.port,
            authenticator=self._authenticate,
            auth_required=bool(self._tls),
            auth_require_tls=True,
            **self._tls,
        )
        self._controller.start()

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    async def wait_for(self, count: int, timeout_s: float = 20.0) -> list[Received]:
        deadline = time.monotonic() + timeout_s
        while len(self.handler.received) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{count} message(s) not received in {timeout_s:g} s")
            await asyncio.sleep(0.02)
        return self.handler.received
