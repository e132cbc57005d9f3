"""A minimal asyncio MQTT v5 consumer: the :class:`~broker.client.MessageSource` without paho.

Why: paho-mqtt runs its network loop in Python in its own thread, reads each packet with several
``recv`` calls and sends each PUBACK on its own; on this machine it drains about 10-15k QoS 1
messages/s before doing any work (see bench/ingest.py). This client parses packets straight from
asyncio's ``data_received`` chunks on the event loop (no thread, no GIL hand-off) and writes all
PUBACKs of a batch in one ``write``. It implements only what a QoS 1 subscriber needs: CONNECT
with Session Expiry and Receive Maximum, SUBSCRIBE on every (re)connect, PUBLISH in, PUBACK out,
keepalive, reconnect with backoff, DISCONNECT. Semantics match :class:`PahoSource`: persistent
session, manual acknowledgement, acks only for the current connection's packet ids.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import time
from collections import deque
from collections.abc import Sequence
from types import TracebackType
from typing import Self

from broker.client import ConnectOptions, Inbound

log = logging.getLogger(__name__)

_PUBLISH, _CONNACK, _SUBACK, _PINGRESP, _DISCONNECT = 3, 2, 9, 13, 14
_PUBACK = struct.Struct("!BBH")


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        n, byte = divmod(n, 128)
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _str(s: str) -> bytes:
    b = s.encode()
    return struct.pack("!H", len(b)) + b


def connect_packet(o: ConnectOptions) -> bytes:
    """CONNECT (v5) with Session Expiry Interval and Receive Maximum."""
    flags = 0 if o.persistent else 0x02
    flags |= 0x80 if o.username else 0
    flags |= 0x40 if o.password is not None and o.username else 0
    props = (
        b"\x11"
        + struct.pack("!I", o.session_expiry_s)
        + b"\x21"
        + struct.pack("!H", o.receive_maximum)
    )
    var = _str("MQTT") + bytes([5, flags]) + struct.pack("!H", o.keepalive_s)
    body = var + _varint(len(props)) + props + _str(o.client_id)
    if o.username:
        body += _str(o.username)
        if o.password is not None:
            body += _str(o.password)
    return b"\x10" + _varint(len(body)) + body


def subscribe_packet(filters: Sequence[str], packet_id: int) -> bytes:
    """SUBSCRIBE (v5), QoS 1 for every filter."""
    body = struct.pack("!H", packet_id) + b"\x00" + b"".join(_str(f) + b"\x01" for f in filters)
    return b"\x82" + _varint(len(body)) + body


class _Protocol(asyncio.Protocol):
    """Splits the byte stream into packets and hands them to the source."""

    def __init__(self, source: AsyncioSource) -> None:
        self.source = source
        self.buf = bytearray()
        self.transport: asyncio.Transport | None = None
        self.closed = asyncio.Event()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed.set()

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        n = len(buf)
        i = 0
        while n - i >= 2:
            header = buf[i]
            j, length, mult, complete = i + 1, 0, 1, False
            while j < n and j - i <= 4:
                byte = buf[j]
                j += 1
                length += (byte & 0x7F) * mult
                mult *= 128
                if not byte & 0x80:
                    complete = True
                    break
            end = j + length
            if not complete or end > n:
                break
            self.source._packet(header, bytes(buf[j:end]))
            i = end
        if i:
            del buf[:i]


class AsyncioSource:
    """:class:`~broker.client.MessageSource` over asyncio (MQTT v5, QoS 1, manual acks)."""

    def __init__(self, options: ConnectOptions) -> None:
        self.options = options
        self._buf: deque[Inbound] = deque()
        self._generation = 0
        self._arrived = asyncio.Event()
        self._connected = asyncio.Event()
        self._proto: _Protocol | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def depth(self) -> int:
        return len(self._buf)

    @property
    def generation(self) -> int:
        return self._generation

    async def __aenter__(self) -> Self:
        self._arrived = asyncio.Event()
        self._connected = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name="mqtt-connection")
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stopping = True
        proto = self._proto
        if proto is not None and proto.transport is not None and not proto.closed.is_set():
            proto.transport.write(b"\xe0\x00")
            proto.transport.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def wait_connected(self, timeout_s: float) -> bool:
        try:
            await asyncio.wait_for(self._connected.wait(), timeout_s)
        except TimeoutError:
            return False
        return True

    async def _run(self) -> None:
        """Connect, and reconnect after any loss, with backoff (1 s doubling to 10 s)."""
        loop = asyncio.get_running_loop()
        delay = 1.0
        while not self._stopping:
            try:
                _, proto = await loop.create_connection(
                    lambda: _Protocol(self), self.options.host, self.options.port
                )
                self._proto = proto
                assert proto.transport is not None
                proto.transport.write(connect_packet(self.options))
                keepalive = asyncio.create_task(self._keepalive(proto))
                try:
                    await proto.closed.wait()
                finally:
                    keepalive.cancel()
                if self._connected.is_set():
                    delay = 1.0
                self._connected.clear()
                if not self._stopping:
                    log.warning("mqtt disconnected", extra={"gen": self._generation})
            except OSError as exc:
                log.warning("mqtt connect failed", extra={"error": repr(exc)})
            if not self._stopping:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    async def _keepalive(self, proto: _Protocol) -> None:
        interval = max(self.options.keepalive_s / 2, 1)
        while proto.transport is not None and not proto.closed.is_set():
            await asyncio.sleep(interval)
            proto.transport.write(b"\xc0\x00")

    def _packet(self, header: int, body: bytes) -> None:
        kind = header >> 4
        if kind == _PUBLISH:
            qos = (header >> 1) & 3
            tlen = (body[0] << 8) | body[1]
            topic_end = 2 + tlen
            i = topic_end
            mid = 0
            if qos:
                mid = (body[i] << 8) | body[i + 1]
                i += 2
            plen, mult = 0, 1
            while True:
                byte = body[i]
                i += 1
                plen += (byte & 0x7F) * mult
                mult *= 128
                if not byte & 0x80:
                    break
            i += plen
            try:
                topic = body[2:topic_end].decode()
            except UnicodeDecodeError:
                topic = repr(body[2:topic_end])
            self._buf.append(Inbound(topic, body[i:], mid, qos, time.time(), self._generation))
            if not self._arrived.is_set():
                self._arrived.set()
        elif kind == _CONNACK:
            self._on_connack(body)
        elif kind == _SUBACK:
            codes = body[2 + 1 + body[2] :]
            refused = [c for c in codes if c >= 0x80]
            if refused:
                log.error("mqtt subscription refused", extra={"reasons": refused})
            else:
                log.info("mqtt subscribed", extra={"filters": list(self.options.subscriptions)})
        elif kind == _DISCONNECT:
            log.warning("mqtt broker disconnected us", extra={"reason": body[:1].hex()})

    def _on_connack(self, body: bytes) -> None:
        proto = self._proto
        assert proto is not None
        assert proto.transport is not None
        if body[1] >= 0x80:
            log.error("mqtt connect refused", extra={"reason": hex(body[1])})
            proto.transport.close()
            return
        self._generation += 1
        if self.options.subscriptions:
            proto.transport.write(subscribe_packet(self.options.subscriptions, 1))
        self._connected.set()
        log.info(
            "mqtt connected", extra={"session_present": bool(body[0] & 1), "gen": self._generation}
        )

    async def next_batch(self, max_n: int, wait_s: float) -> list[Inbound]:
        if not self._buf:
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), wait_s)
            except TimeoutError:
                return []
        if len(self._buf) < max_n:
            deadline = time.monotonic() + wait_s
            while len(self._buf) < max_n:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._arrived.clear()
                try:
                    await asyncio.wait_for(self._arrived.wait(), remaining)
                except TimeoutError:
                    break
        buf = self._buf
        return [buf.popleft() for _ in range(min(max_n, len(buf)))]

    def ack(self, messages: Sequence[Inbound]) -> int:
        proto = self._proto
        if proto is None or proto.transport is None or proto.closed.is_set():
            return 0
        gen = self._generation
        pack = _PUBACK.pack
        blob = b"".join(pack(0x40, 2, m.mid) for m in messages if m.qos and m.generation == gen)
        if blob:
            proto.transport.write(blob)
        return len(blob) // 4
