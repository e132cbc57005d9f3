"""A minimal MQTT v5 QoS 1 publisher over a plain socket, for loading the broker fast.

Benchmarks only: pre-encodes PUBLISH packets and writes them in large chunks, keeping at most
``window`` packet ids in flight (PUBACKs are read by a thread). It is the cheapest way to put
hundreds of thousands of messages into the broker from Python without the publisher's CPU
muddying the consumer's figures.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Iterable


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _utf8(s: str) -> bytes:
    b = s.encode()
    return struct.pack("!H", len(b)) + b


def connect_packet(client_id: str, username: str, password: str) -> bytes:
    var = _utf8("MQTT") + bytes([5, 0xC2]) + struct.pack("!H", 60) + b"\x00"
    body = var + _utf8(client_id) + _utf8(username) + _utf8(password)
    return b"\x10" + _varint(len(body)) + body


def publish_packet(topic: bytes, payload: bytes, mid: int) -> bytes:
    body = struct.pack("!H", len(topic)) + topic + struct.pack("!H", mid) + b"\x00" + payload
    return b"\x32" + _varint(len(body)) + body


class RawPublisher:
    """Connect, publish QoS 1 with a bounded window, wait for every PUBACK."""

    def __init__(self, host: str, port: int, *, username: str, password: str,
                 window: int = 20_000) -> None:  # fmt: skip
        self.sock = socket.create_connection((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.window = threading.Semaphore(window)
        self.acked = 0
        self.refused = 0
        self.sock.sendall(connect_packet(f"bench-pub-{time.time_ns()}", username, password))
        head = self.sock.recv(2)
        rest = self.sock.recv(head[1])
        if head[0] != 0x20 or rest[1] != 0:
            raise RuntimeError(f"broker refused the publisher: reason {rest[1]:#x}")
        self._reader = threading.Thread(target=self._read_acks, daemon=True)
        self._reader.start()

    def _read_acks(self) -> None:
        buf = b""
        while True:
            try:
                chunk = self.sock.recv(1 << 16)
            except OSError:
                return
            if not chunk:
                return
            buf += chunk
            i = 0
            while len(buf) - i >= 2:
                length = buf[i + 1]  # PUBACKs are short: one-byte remaining length
                if len(buf) - i < 2 + length:
                    break
                if buf[i] >> 4 == 4:
                    if length >= 3 and buf[i + 4] >= 0x80:
                        self.refused += 1
                    self.acked += 1
                    self.window.release()
                i += 2 + length
            buf = buf[i:]

    def publish(self, messages: Iterable[tuple[bytes, bytes]], *, chunk: int = 500) -> int:
        """Publish every (topic, payload); returns how many were sent."""
        out: list[bytes] = []
        sent = 0
        for topic, payload in messages:
            self.window.acquire()
            sent += 1
            out.append(publish_packet(topic, payload, (sent - 1) % 65_535 + 1))
            if len(out) >= chunk:
                self.sock.sendall(b"".join(out))
                out.clear()
        if out:
            self.sock.sendall(b"".join(out))
        return sent

    def wait_acked(self, n: int, timeout_s: float = 120) -> None:
        deadline = time.monotonic() + timeout_s
        while self.acked < n:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.acked}/{n} PUBACKs")
            time.sleep(0.01)

    def close(self) -> None:
        try:
            self.sock.sendall(b"\xe0\x00")
        finally:
            self.sock.close()
