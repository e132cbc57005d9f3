"""Login throttling: failed attempts per key (username, client address) in a sliding window.

Per process: behind several API processes an attacker gets at most N times the attempts, still
a few per minute; argon2 verification (tens of ms) bounds the rest.
"""

from __future__ import annotations

import math
from collections import deque


class LoginThrottle:
    """At most ``max_failures`` failed logins per key within ``window_s`` seconds."""

    def __init__(self, *, max_failures: int, window_s: float) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            del self._failures[key]
            return deque()
        return times

    def retry_after_s(self, keys: list[str], now: float) -> int:
        """Seconds until a login may be tried again for all ``keys`` (0: allowed now)."""
        wait = 0.0
        for key in keys:
            times = self._recent(key, now)
            if len(times) >= self.max_failures:
                wait = max(wait, times[-self.max_failures] + self.window_s - now)
        return math.ceil(wait)

    def failed(self, keys: list[str], now: float) -> None:
        """Record one failed attempt against each key."""
        for key in keys:
            self._recent(key, now)
            self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, keys: list[str]) -> None:
        """Forget the failures of the username (not of the address) after a good login."""
        for key in keys:
            if key.startswith("user:"):
                self._failures.pop(key, None)
