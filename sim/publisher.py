"""MQTT I/O of the simulator (paho-mqtt 2.x, MQTT v5, QoS 1).

Two ways to connect, both behind ``Publisher``:

- one connection per watch (the demo): client id = device id, the watch's own credentials when the
  credentials file lists it, subscribed to its own ``cmd`` topic like a real watch;
- a few shared connections with the simulator's own credentials (high-rate benchmarks: 10,000
  connections would measure the simulator, not the ingester).

``publish`` never blocks: paho queues the message; when its queue is full the call returns False
and the runner counts back-pressure. Broker acknowledgements (PUBACK) are counted in ``acked``.
"""

from __future__ import annotations

import logging
import threading
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from config.settings import MqttSettings
from sim.credentials import Credential
from sim.payloads import topic

log = logging.getLogger(__name__)


class PublishError(Exception):
    """The simulator could not connect to the broker."""


class Publisher(Protocol):
    """Where the runner sends messages (a fake in unit tests, MQTT for real)."""

    def publish(self, device_id: str, topic: str, payload: bytes) -> bool: ...

    @property
    def acked(self) -> int: ...

    def close(self, timeout_s: float) -> None: ...


@dataclass(frozen=True)
class Connection:
    """One MQTT client: its id, login, and the device whose ``cmd`` topic it reads (if any)."""

    client_id: str
    credential: Credential
    device_id: str | None = None


class MqttPublisher:
    """Publishes over one or more paho clients, each with its own network thread."""

    def __init__(
        self,
        settings: MqttSettings,
        connections: Sequence[Connection],
        *,
        max_queued: int = 200_000,
        session_expiry_s: int = 3600,
    ) -> None:
        if not connections:
            raise ValueError("at least one connection")
        self._settings = settings
        self._connections = list(connections)
        self._by_device = {c.device_id: k for k, c in enumerate(connections) if c.device_id}
        self._clients = [self._client(c, max_queued) for c in connections]
        self._connected = [threading.Event() for _ in connections]
        self._session_expiry_s = session_expiry_s
        self._lock = threading.Lock()
        self._acked = 0
        self._sent = 0

    @classmethod
    def per_device(
        cls, settings: MqttSettings, device_ids: Sequence[str], logins: dict[str, Credential]
    ) -> MqttPublisher:
        """One connection per watch, logged in as ``logins[device_id]``."""
        return cls(settings, [Connection(d, logins[d], d) for d in device_ids])

    @classmethod
    def shared(cls, settings: MqttSettings, login: Credential, *, count: int = 1) -> MqttPublisher:
        """``count`` connections with the simulator's own login; watches spread over them."""
        tag = f"bw-sim-{int(time.time() * 1000) % 10**9}"
        return cls(settings, [Connection(f"{tag}-{k}", login) for k in range(count)])

    def _client(self, conn: Connection, max_queued: int) -> mqtt.Client:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=conn.client_id, protocol=mqtt.MQTTv5
        )
        if conn.credential.username:
            client.username_pw_set(conn.credential.username, conn.credential.password)
        client.max_inflight_messages_set(1000)
        client.max_queued_messages_set(max_queued)
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        client.user_data_set(conn)
        return client

    def start(self, *, timeout_s: float = 10.0) -> None:
        """Connect every client and wait until all are connected (or raise ``PublishError``)."""
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = self._session_expiry_s
        for client in self._clients:
            client.connect_async(
                self._settings.host,
                self._settings.port,
                keepalive=self._settings.keepalive_s,
                clean_start=False,
                properties=props,
            )
            client.loop_start()
        deadline = time.monotonic() + timeout_s
        for conn, event in zip(self._connections, self._connected, strict=True):
            if not event.wait(max(0.0, deadline - time.monotonic())):
                self.close(0.0)
                raise PublishError(
                    f"MQTT client {conn.client_id} did not connect to "
                    f"{self._settings.host}:{self._settings.port} within {timeout_s} s"
                )

    def _index(self, conn: Connection) -> int:
        return self._connections.index(conn)

    def _on_connect(
        self, client: mqtt.Client, conn: Connection, flags: Any, reason: Any, props: Any
    ) -> None:
        if reason.is_failure:
            log.error(
                "MQTT connect refused", extra={"client_id": conn.client_id, "reason": str(reason)}
            )
            return
        if conn.device_id:
            client.subscribe(topic(conn.device_id, "cmd"), qos=1)
        self._connected[self._index(conn)].set()

    def _on_disconnect(
        self, client: mqtt.Client, conn: Connection, flags: Any, reason: Any, props: Any
    ) -> None:
        self._connected[self._index(conn)].clear()
        if reason.is_failure:
            log.warning(
                "MQTT disconnected", extra={"client_id": conn.client_id, "reason": str(reason)}
            )

    def _on_publish(
        self, client: mqtt.Client, conn: Connection, mid: int, reason: Any, props: Any
    ) -> None:
        with self._lock:
            self._acked += 1

    def _on_message(self, client: mqtt.Client, conn: Connection, msg: mqtt.MQTTMessage) -> None:
        log.info(
            "command received (the simulator only logs it)",
            extra={"device_id": conn.device_id, "topic": msg.topic, "payload": msg.payload[:200]},
        )

    def publish(self, device_id: str, topic: str, payload: bytes) -> bool:
        """Queue one QoS 1 message on the watch's connection; False when the queue is full."""
        k = self._by_device.get(device_id)
        if k is None:
            k = zlib.crc32(device_id.encode()) % len(self._clients)
        info = self._clients[k].publish(topic, payload, qos=1)
        if info.rc == mqtt.MQTT_ERR_QUEUE_SIZE:
            return False
        with self._lock:
            self._sent += 1
        return True

    @property
    def acked(self) -> int:
        """Messages the broker acknowledged so far."""
        with self._lock:
            return self._acked

    def close(self, timeout_s: float) -> None:
        """Wait up to ``timeout_s`` for outstanding acknowledgements, then disconnect cleanly."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                if self._acked >= self._sent:
                    break
            time.sleep(0.05)
        for client in self._clients:
            client.disconnect()
        for client in self._clients:
            client.loop_stop()
