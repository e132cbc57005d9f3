"""A small Server-Sent Events client for tests and the benchmark (httpx, in a thread)."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class SseClient:
    """Reads ``url`` in a thread until ``close()``; ``events`` are (id, type, data, arrival s)."""

    url: str
    headers: dict[str, str]
    events: list[tuple[int, str, dict[str, Any], float]] = field(default_factory=list)
    connected: threading.Event = field(default_factory=threading.Event)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> SseClient:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self.connected.wait(10):
            raise RuntimeError(f"SSE stream {self.url} did not connect")
        return self

    def _run(self) -> None:
        with (
            httpx.Client(timeout=httpx.Timeout(5.0, read=None)) as client,
            client.stream("GET", self.url, headers=self.headers) as response,
        ):
            response.raise_for_status()
            block: dict[str, str] = {}
            for line in response.iter_lines():
                if self._stop.is_set():
                    return
                if line.startswith(":"):
                    self.connected.set()
                elif not line:
                    if "id" in block:
                        doc = json.loads(block.get("data", "{}"))
                        self.events.append((int(block["id"]), block.get("event", ""), doc,
                                            time.time()))  # fmt: skip
                    block = {}
                else:
                    key, _, value = line.partition(": ")
                    block[key] = value

    def close(self) -> None:
        self._stop.set()

    def ids(self) -> list[int]:
        return [e[0] for e in self.events]
