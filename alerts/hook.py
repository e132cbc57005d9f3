"""The ingester's evaluate hook: alert evaluation as an effect of the batch's transaction.

The hook itself only captures the batch; the work runs inside the write transaction (after the
fixes, statuses and events are stored) so alerts, their timeline and outbox rows commit with the
fixes and the MQTT acknowledgement follows the commit. Evaluation runs under a savepoint: if it
fails for a reason other than the database being unavailable, it is rolled back, logged and
counted, and the batch still commits (fixes are never held hostage by an alert bug). Transient
database errors propagate so that the ingester retries the whole batch.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

import asyncpg

from alerts.evaluate import EvaluationInput, Evaluator
from alerts.metrics import AlertMetrics
from config.settings import AlertsSettings
from ingest.models import Event, Ping, Reject, Status

log = logging.getLogger(__name__)

Effect = Callable[[asyncpg.Connection], Awaitable[None]]

#: Errors that mean "retry the batch", not "evaluation is broken".
TRANSIENT = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.OperatorInterventionError,
)


class AlertHook:
    """Callable as the ingest pipeline's evaluate hook."""

    __name__ = "alerts"

    def __init__(self, settings: AlertsSettings, metrics: AlertMetrics) -> None:
        self.evaluator = Evaluator(settings, metrics)
        self.metrics = metrics

    async def __call__(
        self,
        pings: Sequence[Ping],
        late: Sequence[bool],
        *,
        statuses: Sequence[Status] = (),
        events: Sequence[Event] = (),
        rejects: Sequence[Reject] = (),
    ) -> list[Effect]:
        """One effect evaluating the batch (late fixes are found by the engine's watermarks)."""
        jumps = [r for r in rejects if r.reasons == ("impossible_speed",) and r.device_id]
        batch = EvaluationInput(list(pings), list(statuses), list(events), jumps)
        if not batch.device_ids():
            return []

        async def effect(conn: asyncpg.Connection) -> None:
            try:
                async with conn.transaction():
                    await self.evaluator.run(conn, batch)
            except TRANSIENT:
                raise
            except Exception:
                log.exception("alert evaluation failed; the batch commits without it")
                self.metrics.evaluation_errors.inc()
                self.evaluator.ruleset = None
                self.evaluator.states.clear()

        return [effect]
