"""The alerts process's HTTP endpoint on its metrics port: ``/healthz`` (each supervised loop's
last successful cycle; 503 when one is stale or ended) and Prometheus metrics on every other path.

It runs in a daemon thread (like ``prometheus_client.start_http_server``), so it answers even
when the event loop is stuck, and then says so: a stuck loop stops beating and goes stale.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable, Iterable, Sequence
from socketserver import ThreadingMixIn
from types import TracebackType
from typing import Any, Self
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app

from alerts.looping import LoopHealth

StartResponse = Callable[..., Any]


def health_document(loops: Sequence[LoopHealth]) -> tuple[int, dict[str, Any]]:
    """The HTTP status and JSON body of ``/healthz``: 200 when every loop is alive and fresh."""
    ok = bool(loops) and all(h.ok for h in loops)
    body = {
        "status": "ok" if ok else "unhealthy",
        "loops": {
            h.name: {
                "ok": h.ok, "alive": h.alive, "last_success_age_s": round(h.age_s, 3),
                "stale_after_s": None if math.isinf(h.stale_after_s) else h.stale_after_s,
            }
            for h in loops
        },
    }  # fmt: skip
    return (200 if ok else 503), body


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


class HealthServer:
    """``/healthz`` from ``loops()`` and metrics from ``registry`` on ``port`` (0: none)."""

    def __init__(
        self, port: int, registry: CollectorRegistry, loops: Callable[[], Sequence[LoopHealth]]
    ) -> None:
        self.port = port
        self._loops = loops
        self._metrics = make_wsgi_app(registry)
        self._server: _Server | None = None

    def _app(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != "/healthz":
            return self._metrics(environ, start_response)  # type: ignore[no-any-return]
        status, body = health_document(self._loops())
        payload = json.dumps(body).encode()
        reason = "OK" if status == 200 else "Service Unavailable"
        start_response(
            f"{status} {reason}",
            [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))],
        )
        return [payload]

    def __enter__(self) -> Self:
        if self.port:
            self._server = make_server(
                "", self.port, self._app, server_class=_Server, handler_class=_QuietHandler
            )
            threading.Thread(
                target=self._server.serve_forever, name="alerts-health", daemon=True
            ).start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
