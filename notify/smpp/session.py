"""One ESME session with an SMSC: bind_transceiver, requests by sequence number, incoming
deliver_sm answered, enquire_link keepalive, reconnect with backoff.

The session runs as a task from ``__aenter__`` to ``__aexit__``. It connects, binds as a
transceiver and then reads PDUs: responses resolve the pending request of the same sequence
number; ``deliver_sm`` goes to ``on_deliver`` and is answered with ``deliver_sm_resp`` only after
``on_deliver`` returns (status ESME_RX_T_APPN if it raised, so the SMSC delivers it again);
``enquire_link`` is answered; ``unbind`` is answered and the session reconnects. The session
sends ``enquire_link`` every ``enquire_link_s``; no answer within ``response_timeout_s`` drops
the connection. Any loss fails the pending requests (:class:`ConnectionLostError`) and reconnects
after a jittered, doubling backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Self

from config.settings import SmppSettings
from notify.smpp import pdu
from notify.smpp.pdu import Command, Pdu, PduError, ShortMessage, Status

log = logging.getLogger(__name__)

DeliverHandler = Callable[[ShortMessage], Awaitable[None]]


class SessionError(Exception):
    """The session could not carry a request; all are transient for the caller."""


class SessionUnavailableError(SessionError):
    """Not bound to the SMSC (down, refusing the bind, or reconnecting)."""


class ConnectionLostError(SessionError):
    """The connection dropped while the request waited for its response."""


class ResponseTimeoutError(SessionError):
    """No response within ``response_timeout_s``."""


class BindRejectedError(SessionError):
    """The SMSC answered bind_transceiver with an error status."""


class SmppSession:
    """An asyncio SMPP 3.4 transceiver session that keeps itself bound."""

    def __init__(self, settings: SmppSettings, *, on_deliver: DeliverHandler) -> None:
        self._settings = settings
        self._on_deliver = on_deliver
        self._bound = asyncio.Event()
        self._writer: asyncio.StreamWriter | None = None
        self._pending: dict[int, asyncio.Future[Pdu]] = {}
        self._sequence = 0
        self._task: asyncio.Task[None] | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self._closing = False
        #: Times the session has been bound (1 after the first bind): for tests and metrics.
        self.binds = 0

    @property
    def bound(self) -> bool:
        return self._bound.is_set()

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._run(), name="smpp-session")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._closing = True
        if self.bound:
            with contextlib.suppress(SessionError, OSError):
                await self._request(Command.unbind, b"", timeout_s=1.0)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)

    async def wait_bound(self, timeout_s: float) -> None:
        """Return once bound; :class:`SessionUnavailableError` after ``timeout_s`` seconds."""
        try:
            await asyncio.wait_for(self._bound.wait(), timeout_s)
        except TimeoutError as exc:
            raise SessionUnavailableError(f"not bound to the SMSC within {timeout_s:g} s") from exc

    async def submit(self, message: ShortMessage) -> tuple[int, str]:
        """Send submit_sm once; its ``(command_status, message_id)``."""
        await self.wait_bound(self._settings.bind_wait_s)
        resp = await self._request(
            Command.submit_sm, message.body(), timeout_s=self._settings.response_timeout_s
        )
        if resp.command_id == Command.generic_nack:
            return resp.status or Status.ESME_RUNKNOWNERR, ""
        try:
            return resp.status, pdu.parse_message_id(resp.body)
        except PduError:
            return resp.status, ""

    # --- the connection loop ---------------------------------------------------------------

    async def _run(self) -> None:
        delay = self._settings.reconnect_min_s
        while not self._closing:
            try:
                await self._connect_and_serve()
                delay = self._settings.reconnect_min_s
            except (OSError, TimeoutError, EOFError, PduError, SessionError) as exc:
                if not self._closing:
                    log.warning("smpp: session to %s:%s lost: %r", self._host, self._port, exc)
            except Exception:
                # A fault of ours must not end the session for good: log it and reconnect.
                log.exception("smpp: unexpected error in the session; reconnecting")
            finally:
                self._drop()
            if self._closing:
                return
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))
            delay = min(delay * 2, self._settings.reconnect_max_s)

    @property
    def _host(self) -> str:
        return self._settings.host

    @property
    def _port(self) -> int:
        return self._settings.port

    async def _connect_and_serve(self) -> None:
        s = self._settings
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(s.host, s.port), s.connect_timeout_s
        )
        self._writer = writer
        bind = pdu.Bind(
            system_id=s.system_id,
            password=s.password.get_secret_value() if s.password else "",
            system_type=s.system_type,
        )
        reading = asyncio.create_task(self._read_loop(reader), name="smpp-read")
        keepalive: asyncio.Task[None] | None = None
        try:
            resp = await self._request(
                Command.bind_transceiver, bind.body(), timeout_s=s.connect_timeout_s
            )
            if resp.status != Status.ESME_ROK:
                raise BindRejectedError(f"bind_transceiver refused: {pdu.status_name(resp.status)}")
            self.binds += 1
            self._bound.set()
            log.info("smpp: bound to %s:%s as %s", s.host, s.port, s.system_id)
            keepalive = asyncio.create_task(self._keepalive(), name="smpp-keepalive")
            await reading
        finally:
            for task in (reading, keepalive):
                if task is None:
                    continue
                task.cancel()
                # Its outcome is known already (or it is cancelled): collect it quietly.
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    def _drop(self) -> None:
        self._bound.clear()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self._fail_pending("connection to the SMSC lost")

    def _fail_pending(self, why: str) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionLostError(why))
        self._pending.clear()

    async def _read_loop(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                try:
                    head = await reader.readexactly(4)
                    rest = await reader.readexactly(pdu.parse_length(head) - 4)
                except asyncio.IncompleteReadError as exc:
                    raise ConnectionLostError("the SMSC closed the connection") from exc
                self._dispatch(pdu.decode(head + rest))
        except (OSError, PduError, SessionError) as exc:
            # Whoever waits for a response (the bind included) learns now, not at its timeout.
            self._fail_pending(f"connection unusable: {exc}")
            raise

    def _dispatch(self, frame: Pdu) -> None:
        if pdu.is_response(frame.command_id):
            future = self._pending.pop(frame.sequence, None)
            if future is not None and not future.done():
                future.set_result(frame)
            elif frame.command_id == Command.generic_nack:
                log.warning("smpp: generic_nack %s", pdu.status_name(frame.status))
            return
        if frame.command_id == Command.enquire_link:
            self._write(Pdu(Command.enquire_link_resp, Status.ESME_ROK, frame.sequence))
        elif frame.command_id == Command.deliver_sm:
            task = asyncio.create_task(self._deliver(frame))
            self._handlers.add(task)
            task.add_done_callback(self._handlers.discard)
        elif frame.command_id == Command.unbind:
            self._write(Pdu(Command.unbind_resp, Status.ESME_ROK, frame.sequence))
            raise ConnectionLostError("the SMSC unbound")
        else:
            self._write(Pdu(Command.generic_nack, Status.ESME_RINVCMDID, frame.sequence))

    async def _deliver(self, frame: Pdu) -> None:
        status = Status.ESME_ROK
        try:
            message = ShortMessage.parse(frame.body)
        except PduError as exc:
            log.warning("smpp: malformed deliver_sm: %s", exc)
            status = Status.ESME_RSYSERR
        else:
            try:
                await self._on_deliver(message)
            except Exception:
                log.exception("smpp: deliver_sm handler failed; the SMSC will retry")
                status = Status.ESME_RX_T_APPN
        resp = Pdu(Command.deliver_sm_resp, status, frame.sequence, pdu.message_id_body(""))
        try:
            self._write(resp)
        except ConnectionLostError:
            log.warning("smpp: connection lost before deliver_sm_resp; the SMSC will retry")

    async def _keepalive(self) -> None:
        while True:
            await asyncio.sleep(self._settings.enquire_link_s)
            try:
                await self._request(
                    Command.enquire_link, b"", timeout_s=self._settings.response_timeout_s
                )
            except ResponseTimeoutError:
                log.warning("smpp: no enquire_link_resp; reconnecting")
                if self._writer is not None:
                    self._writer.close()
                return

    # --- requests --------------------------------------------------------------------------

    def _next_sequence(self) -> int:
        self._sequence = self._sequence % 0x7FFFFFFF + 1
        return self._sequence

    def _write(self, frame: Pdu) -> None:
        if self._writer is None or self._writer.is_closing():
            raise ConnectionLostError("not connected")
        self._writer.write(frame.encode())

    async def _request(self, command: Command, body: bytes, *, timeout_s: float) -> Pdu:
        sequence = self._next_sequence()
        future: asyncio.Future[Pdu] = asyncio.get_running_loop().create_future()
        self._pending[sequence] = future
        try:
            self._write(Pdu(command, Status.ESME_ROK, sequence, body))
            return await asyncio.wait_for(future, timeout_s)
        except TimeoutError as exc:
            raise ResponseTimeoutError(
                f"no response to {command.name} within {timeout_s:g} s"
            ) from exc
        finally:
            self._pending.pop(sequence, None)
