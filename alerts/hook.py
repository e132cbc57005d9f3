"""The ingester's evaluate hook: alert evaluation inside the batch's write transaction.

The write stage (``ingest.judging.Judge``) calls the hook after the fixes, statuses and events are
stored, under a savepoint and with the batch's devices locked, with the fixes that are new rows
in arrival order, so alerts, their timeline and outbox rows commit with the fixes and the MQTT
acknowledgement follows the commit. If evaluation fails, the hook drops the evaluator's caches
and raises: the judge rolls the savepoint back and queues the fixes for the sweeper
(``alerts.sweep``), so a failure delays their alerts but never drops them.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from alerts.evaluate import EvaluationInput, Evaluator
from alerts.metrics import AlertMetrics
from config.settings import AlertsSettings
from ingest.models import Event, Ping, Reject, Status


class AlertHook:
    """Callable as the ingest pipeline's evaluate hook."""

    __name__ = "alerts"

    def __init__(self, settings: AlertsSettings, metrics: AlertMetrics) -> None:
        self.evaluator = Evaluator(settings, metrics)
        self.metrics = metrics

    async def __call__(
        self,
        conn: asyncpg.Connection,
        pings: Sequence[Ping],
        *,
        statuses: Sequence[Status] = (),
        events: Sequence[Event] = (),
        rejects: Sequence[Reject] = (),
    ) -> None:
        """Evaluate the batch (lateness is the engine's, from its watermarks)."""
        jumps = [r for r in rejects if r.reasons == ("impossible_speed",) and r.device_id]
        batch = EvaluationInput(list(pings), list(statuses), list(events), jumps)
        if not batch.device_ids():
            return
        try:
            await self.evaluator.run(conn, batch, locked=True)
        except Exception:
            self.metrics.evaluation_errors.inc()
            self.evaluator.forget()
            raise
