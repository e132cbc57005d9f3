"""Prometheus metrics of the API and the ``/metrics`` exposition route."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

REQUESTS = Counter(
    "bailwatch_api_requests_total", "API requests by route template, method and status",
    ["route", "method", "status"],
)  # fmt: skip
LATENCY = Histogram(
    "bailwatch_api_request_seconds", "API request duration in seconds by route template",
    ["route"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5),
)  # fmt: skip
TRACK_READS = Counter(
    "bailwatch_api_track_reads_total", "Reads of position data, each written to access_log"
)
ALERT_ACK_SECONDS = Histogram(
    "bailwatch_alert_ack_seconds", "Seconds from raising an alert to its acknowledgement",
    ["severity"], buckets=(30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14_400, 43_200, 86_400),
)  # fmt: skip

router = APIRouter(tags=["operations"])


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    """Prometheus text exposition of this process's metrics."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


async def observe(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """HTTP middleware: count and time every request by its route template (not raw path)."""
    start = time.perf_counter()
    response = await call_next(request)
    route = request.scope.get("route")
    template = getattr(route, "path", "unmatched")
    REQUESTS.labels(template, request.method, str(response.status_code)).inc()
    LATENCY.labels(template).observe(time.perf_counter() - start)
    return response
