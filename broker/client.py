"""The MQTT consumer behind a small interface, and its paho-mqtt 2.x implementation.

The ingester depends on :class:`MessageSource` only: batches of :class:`Inbound` messages and an
``ack`` that is called after the batch holding them has committed. Acknowledgement is manual
(paho ``manual_ack=True``), so a message the broker delivered stays the broker's responsibility
until we have stored it; the MQTT v5 Receive Maximum bounds how many unacknowledged messages the
broker puts in flight to us, which is the backpressure: the rest stays queued at the broker.

paho runs its network loop in its own thread. Its callbacks only append to a deque and, when the
asyncio side is not already due to wake, schedule one wake-up with ``call_soon_threadsafe``.
Subscriptions are made in ``on_connect`` so that a reconnect restores them; each connection is a
new *session generation*, and an ack is only sent for a message received on the current
connection (an older one will be redelivered by the broker and acknowledged then).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Protocol, Self

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Inbound:
    """One message as received: topic, raw payload, packet id, QoS, receive time (epoch s)."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    received_at: float
    #: Connection generation it arrived on; acks for older generations are not sent.
    generation: int


@dataclass(frozen=True)
class ConnectOptions:
    """How to reach the broker and what session to ask for."""

    host: str
    port: int
    client_id: str
    username: str | None = None
    password: str | None = None
    keepalive_s: int = 30
    #: MQTT v5 Session Expiry Interval (s): queued QoS 1 messages survive this long offline.
    session_expiry_s: int = 86_400
    #: MQTT v5 Receive Maximum: unacknowledged QoS 1 messages the broker may have in flight to us.
    receive_maximum: int = 20_000
    #: Topic filters subscribed (QoS 1) on every connect, e.g. ``$share/ingest/bw/v1/dev/+/loc``.
    subscriptions: tuple[str, ...] = field(default_factory=tuple)
    #: Keep the session across connections (clean_start=False).
    persistent: bool = True


class MessageSource(Protocol):
    """What a consumer of MQTT messages needs; an async context manager for its connection."""

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    async def next_batch(self, max_n: int, wait_s: float) -> list[Inbound]:
        """Up to ``max_n`` messages: returns as soon as ``max_n`` are there or ``wait_s`` passed
        since the first one arrived (empty after ``wait_s`` with nothing)."""
        ...

    def ack(self, messages: Sequence[Inbound]) -> int:
        """Acknowledge messages that are stored; returns how many acks were sent."""
        ...

    @property
    def depth(self) -> int:
        """Messages received and not yet taken by ``next_batch``."""
        ...

    @property
    def connected(self) -> bool: ...


class PahoSource:
    """:class:`MessageSource` over paho-mqtt 2.x (MQTT v5, manual acks, threaded network loop)."""

    def __init__(self, options: ConnectOptions) -> None:
        self.options = options
        self._buf: deque[Inbound] = deque()
        self._generation = 0
        self._wake_pending = False
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._arrived = asyncio.Event()
        self._connected = threading.Event()
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=options.client_id,
            protocol=paho.MQTTv5,
            manual_ack=True,
        )
        if options.username:
            self._client.username_pw_set(options.username, options.password)
        self._client.reconnect_delay_set(min_delay=1, max_delay=10)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def depth(self) -> int:
        return len(self._buf)

    @property
    def generation(self) -> int:
        return self._generation

    def _connect_properties(self) -> Properties:
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = self.options.session_expiry_s
        props.ReceiveMaximum = self.options.receive_maximum
        return props

    async def __aenter__(self) -> Self:
        self._loop = asyncio.get_running_loop()
        self._arrived = asyncio.Event()
        # connect_async: the network loop keeps retrying if the broker is not up yet.
        self._client.connect_async(
            self.options.host,
            self.options.port,
            keepalive=self.options.keepalive_s,
            clean_start=not self.options.persistent,
            properties=self._connect_properties(),
        )
        self._client.loop_start()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await asyncio.to_thread(self._stop)

    def _stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    async def wait_connected(self, timeout_s: float) -> bool:
        """Whether the first CONNACK arrived within ``timeout_s`` seconds."""
        return await asyncio.to_thread(self._connected.wait, timeout_s)

    # paho thread ------------------------------------------------------------------------------

    def _on_connect(
        self, client: paho.Client, userdata: Any, flags: Any, rc: ReasonCode, props: Any
    ) -> None:
        if rc.is_failure:
            log.error("mqtt connect refused", extra={"reason": str(rc)})
            return
        with self._lock:
            self._generation += 1
        opts = SubscribeOptions(qos=1)
        if self.options.subscriptions:
            client.subscribe([(t, opts) for t in self.options.subscriptions])
        self._connected.set()
        log.info(
            "mqtt connected",
            extra={"session_present": bool(flags.session_present), "gen": self._generation},
        )

    def _on_subscribe(
        self, client: paho.Client, userdata: Any, mid: int, rcs: list[ReasonCode], props: Any
    ) -> None:
        refused = [str(rc) for rc in rcs if rc.is_failure]
        if refused:
            log.error("mqtt subscription refused", extra={"reasons": refused})
        else:
            log.info("mqtt subscribed", extra={"filters": list(self.options.subscriptions)})

    def _on_disconnect(
        self, client: paho.Client, userdata: Any, flags: Any, rc: ReasonCode, props: Any
    ) -> None:
        self._connected.clear()
        log.warning("mqtt disconnected", extra={"reason": str(rc)})

    def _on_message(self, client: paho.Client, userdata: Any, msg: paho.MQTTMessage) -> None:
        try:
            topic = msg.topic
        except UnicodeDecodeError:
            topic = repr(msg._topic)
        self._buf.append(
            Inbound(topic, bytes(msg.payload), msg.mid, msg.qos, time.time(), self._generation)
        )
        if not self._wake_pending and self._loop is not None:
            self._wake_pending = True
            self._loop.call_soon_threadsafe(self._arrived.set)

    # asyncio side -----------------------------------------------------------------------------

    async def next_batch(self, max_n: int, wait_s: float) -> list[Inbound]:
        if not self._buf:
            self._arrived.clear()
            self._wake_pending = False
            if not self._buf:
                try:
                    await asyncio.wait_for(self._arrived.wait(), wait_s)
                except TimeoutError:
                    return []
        if len(self._buf) < max_n:
            deadline = time.monotonic() + wait_s
            while len(self._buf) < max_n and time.monotonic() < deadline:
                self._arrived.clear()
                self._wake_pending = False
                try:
                    await asyncio.wait_for(self._arrived.wait(), deadline - time.monotonic())
                except TimeoutError:
                    break
        buf = self._buf
        n = min(max_n, len(buf))
        return [buf.popleft() for _ in range(n)]

    def ack(self, messages: Sequence[Inbound]) -> int:
        gen = self._generation
        sent = 0
        client = self._client
        for m in messages:
            if m.qos > 0 and m.generation == gen:
                client.ack(m.mid, m.qos)
                sent += 1
        return sent


def new_client_id(prefix: str) -> str:
    """A unique client id for a throwaway connection (tools, tests)."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"
