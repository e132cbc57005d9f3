"""A real local HTTP receiver for webhook tests: answers 500 to the first ``fail_first``
requests, then 200; records every request (headers and body)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    """What the receiver saw: (status answered, headers, body) per request."""

    fail_first: int
    requests: list[tuple[int, dict[str, str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def accepted(self) -> list[tuple[dict[str, str], bytes]]:
        with self.lock:
            return [(h, b) for status, h, b in self.requests if status == 200]


@contextmanager
def receiver(fail_first: int) -> Iterator[tuple[str, Received]]:
    """A server on a free loopback port; yields its URL and the record."""
    record = Received(fail_first)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with record.lock:
                status = 500 if len(record.requests) < record.fail_first else 200
                record.requests.append((status, dict(self.headers.items()), body))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", record
    finally:
        server.shutdown()
        server.server_close()
