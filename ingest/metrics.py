"""Prometheus metrics of the ingester, in their own registry (one per process or test)."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

_LAG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21600, 86400)
_FAST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
_SIZE_BUCKETS = (1, 5, 10, 50, 100, 250, 500, 1000, 2000, 5000, 10000)
_SKEW_BUCKETS = (-300, -60, -10, -1, 0, 1, 10, 60, 300, 3600)


def observe_many(histogram: Histogram, values: Sequence[float]) -> None:
    """``histogram.observe(v)`` for every value, counting per bucket first (one lock per bucket
    instead of two per value: the lag histogram sees every fix). Uses prometheus_client's
    internal bucket list (pinned version); falls back to ``observe`` if it is not there."""
    bounds: list[float] | None = getattr(histogram, "_upper_bounds", None)
    buckets = getattr(histogram, "_buckets", None)
    total = getattr(histogram, "_sum", None)
    if bounds is None or buckets is None or total is None:
        for v in values:
            histogram.observe(v)
        return
    counts = [0] * len(bounds)
    for v in values:
        counts[bisect_left(bounds, v)] += 1
    for i, n in enumerate(counts):
        if n:
            buckets[i].inc(n)
    total.inc(sum(values))


class IngestMetrics:
    """``bailwatch_ingest_*``: outcomes, reject reasons, batch sizes, commit time, lag, queue."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.messages = Counter(
            "bailwatch_ingest_messages_total",
            "MQTT messages by outcome (stored, partial, rejected, ignored)",
            ["outcome"], registry=r,
        )  # fmt: skip
        self.fixes = Counter(
            "bailwatch_ingest_fixes_total",
            "Fixes by outcome (stored: new row, duplicate: already stored, rejected)",
            ["outcome"], registry=r,
        )  # fmt: skip
        self.rejects = Counter(
            "bailwatch_ingest_rejects_total", "Refused records by reason", ["reason"], registry=r
        )
        self.batch_messages = Histogram(
            "bailwatch_ingest_batch_messages", "Messages per committed batch",
            buckets=_SIZE_BUCKETS, registry=r,
        )  # fmt: skip
        self.commit_seconds = Histogram(
            "bailwatch_ingest_commit_seconds", "Time of one batch transaction, seconds",
            buckets=_FAST_BUCKETS, registry=r,
        )  # fmt: skip
        self.lag_seconds = Histogram(
            "bailwatch_ingest_lag_seconds", "Fix time to commit, seconds (per stored fix)",
            buckets=_LAG_BUCKETS, registry=r,
        )  # fmt: skip
        self.queue_depth = Gauge(
            "bailwatch_ingest_queue_messages", "Messages received and not yet in a batch",
            registry=r,
        )  # fmt: skip
        self.inflight = Gauge(
            "bailwatch_ingest_inflight_messages", "Messages taken and not yet acknowledged",
            registry=r,
        )  # fmt: skip
        self.write_retries = Counter(
            "bailwatch_ingest_write_retries_total", "Failed batch commits, retried", ["error"],
            registry=r,
        )  # fmt: skip
        self.hook_errors = Counter(
            "bailwatch_ingest_hook_errors_total", "Evaluation hooks that raised", ["hook"],
            registry=r,
        )  # fmt: skip
        self.clock_skew = Histogram(
            "bailwatch_ingest_clock_skew_seconds",
            "Clock skew estimate of each device in each batch (receive minus device time), seconds",
            buckets=_SKEW_BUCKETS, registry=r,
        )  # fmt: skip
        self.acks = Counter("bailwatch_ingest_acks_total", "PUBACKs sent after commit", registry=r)

    def serve(self, port: int) -> None:
        """Expose ``/metrics`` on ``port`` (a daemon thread); 0 = do not serve."""
        if port:
            start_http_server(port, registry=self.registry)
