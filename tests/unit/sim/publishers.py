"""A publisher for the simulator's runner that keeps every message in memory, in order."""

from __future__ import annotations


class RecordingPublisher:
    """Records (device id, topic, payload) of every message; ``closed`` once closed."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, str, bytes]] = []
        self.closed = False

    def publish(self, device_id: str, topic: str, payload: bytes) -> bool:
        self.messages.append((device_id, topic, payload))
        return True

    @property
    def acked(self) -> int:
        return len(self.messages)

    def close(self, timeout_s: float) -> None:
        self.closed = True
