"""The alerts process's broker connection: publishes unit topics and watch commands (QoS 1).

paho runs its network loop in its own thread and reconnects by itself; ``publish`` waits for the
broker's PUBACK off the event loop and raises :class:`PublishError` when the broker is not there,
so the outbox drain leaves the rows for its next round.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from types import TracebackType
from typing import Any, Self

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

log = logging.getLogger(__name__)


class PublishError(RuntimeError):
    """A message was not acknowledged by the broker."""


def unit_topic(unit_code: str) -> str:
    """Alerts of a police unit, one message per timeline entry."""
    return f"bw/v1/unit/{unit_code}/alerts"


def summary_topic(unit_code: str) -> str:
    """Retained summary (open / acknowledged counts) of a police unit."""
    return f"bw/v1/unit/{unit_code}/alerts/summary"


def command_topic(device_id: str) -> str:
    """Downlink of one watch."""
    return f"bw/v1/dev/{device_id}/cmd"


class Publisher:
    """A connected paho client (MQTT v5) used as an async context manager."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        client_id: str,
        username: str | None,
        password: str | None,
        timeout_s: float,
    ) -> None:
        self.timeout_s = timeout_s
        self._connected = threading.Event()
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5
        )
        if username:
            self._client.username_pw_set(username, password)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.reconnect_delay_set(min_delay=1, max_delay=10)
        self._host, self._port = host, port

    def _on_connect(self, client: paho.Client, ud: Any, flags: Any, rc: Any, props: Any) -> None:
        if rc.is_failure:
            log.error("alerts broker login refused", extra={"reason": str(rc)})
            return
        self._connected.set()
        log.info("alerts publisher connected")

    def _on_disconnect(self, client: paho.Client, ud: Any, flags: Any, rc: Any, p: Any) -> None:
        self._connected.clear()
        log.warning("alerts publisher disconnected", extra={"reason": str(rc)})

    async def __aenter__(self) -> Self:
        self._client.connect_async(self._host, self._port, keepalive=30)
        self._client.loop_start()
        await asyncio.to_thread(self._connected.wait, self.timeout_s)
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        """Publish at QoS 1 and wait for the PUBACK (raises :class:`PublishError`)."""
        if not self.connected:
            raise PublishError("broker not connected")
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        try:
            await asyncio.to_thread(info.wait_for_publish, self.timeout_s)
        except (RuntimeError, ValueError) as exc:
            raise PublishError(f"publish to {topic} failed: {exc}") from exc
        if not info.is_published():
            raise PublishError(f"publish to {topic} not acknowledged within {self.timeout_s}s")
