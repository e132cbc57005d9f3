"""Prometheus metrics of alerts, in a registry given by the process (the ingester's own, or the
alerts service's), so tests and processes do not share collectors."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

_ACK_BUCKETS = (5, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14_400, 43_200, 86_400)
_FAST_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0)


class AlertMetrics:
    """Alerts opened by kind, evaluation time and errors, time to acknowledge, escalations,
    outbox backlog and dead letters, deliveries and delivery failures by channel."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.opened = Counter(
            "bailwatch_alerts_opened_total", "Alerts opened (one per episode)", ["kind"], registry=r
        )
        self.cleared = Counter(
            "bailwatch_alerts_cleared_total", "Alert conditions cleared", ["kind"], registry=r
        )
        self.evaluation_seconds = Histogram(
            "bailwatch_alerts_evaluation_seconds",
            "Seconds of alert evaluation inside one ingest transaction",
            buckets=_FAST_BUCKETS, registry=r,
        )  # fmt: skip
        self.evaluation_errors = Counter(
            "bailwatch_alerts_evaluation_errors_total",
            "Batches whose alert evaluation failed (the fixes still committed)",
            registry=r,
        )
        self.ack_seconds = Histogram(
            "bailwatch_alerts_time_to_ack_seconds",
            "Seconds from an alert's opening to its acknowledgement",
            ["severity"], buckets=_ACK_BUCKETS, registry=r,
        )  # fmt: skip
        self.escalations = Counter(
            "bailwatch_alerts_escalations_total", "Escalations of unacknowledged alerts",
            ["level"], registry=r,
        )  # fmt: skip
        self.outbox_backlog = Gauge(
            "bailwatch_outbox_backlog_rows", "Outbox rows not yet delivered", registry=r
        )
        self.deliveries = Counter(
            "bailwatch_alerts_deliveries_total", "Deliveries by channel and outcome",
            ["channel", "outcome"], registry=r,
        )  # fmt: skip
        self.delivery_failures = Counter(
            "bailwatch_alerts_delivery_failures_total",
            "Failed delivery attempts by channel (webhooks: every failed attempt)",
            ["channel"], registry=r,
        )  # fmt: skip
        self.dead_letters = Counter(
            "bailwatch_outbox_dead_letters_total",
            "Outbox rows set aside because they could not be delivered, by exception type",
            ["reason"], registry=r,
        )  # fmt: skip
        self.no_signal_delay = Histogram(
            "bailwatch_alerts_no_signal_delay_seconds",
            "Seconds past a case's no-signal limit when the watchdog opened the alert",
            buckets=(0.25, 0.5, 1, 2, 3, 5, 10, 30, 60), registry=r,
        )  # fmt: skip
        self.leader = Gauge(
            "bailwatch_alerts_leader", "1 while this process runs the watchdog", registry=r
        )

    def serve(self, port: int) -> None:
        """Expose the registry on ``port`` (0: not at all)."""
        if port:
            start_http_server(port, registry=self.registry)
