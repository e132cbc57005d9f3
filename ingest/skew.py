"""Per-device clock skew: receive time minus device time, the minimum over recent messages.

Each message contributes its newest record's delay. A live message's delay is network time plus
the device clock's error; an offline upload's is much larger, so the minimum over a window
estimates the clock error (plus the shortest network delay) and is not fooled by buffering.
Positive: the device clock is behind.
"""

from __future__ import annotations

from collections import deque

WINDOW = 32


class SkewTracker:
    """Recent delays per device (seconds) and their minimum."""

    def __init__(self, window: int = WINDOW) -> None:
        self.window = window
        self._samples: dict[str, deque[float]] = {}

    def add(self, device_id: str, delay_s: float) -> float:
        """Record one delay; returns the device's current skew estimate."""
        samples = self._samples.get(device_id)
        if samples is None:
            samples = self._samples[device_id] = deque(maxlen=self.window)
        samples.append(delay_s)
        return min(samples)

    def get(self, device_id: str) -> float | None:
        samples = self._samples.get(device_id)
        return min(samples) if samples else None
