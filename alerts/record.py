"""Apply alert operations in the caller's transaction (ingest batch or watchdog round).

Each operation is one idempotent statement (``store.alert_episodes``); the timeline entry's
outbox row follows by trigger, in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import asyncpg

from alerts.episodes import Action, AlertOp
from alerts.metrics import AlertMetrics
from store import alert_episodes as sql


async def apply_ops(
    conn: asyncpg.Connection,
    ops: Sequence[AlertOp],
    *,
    unit_of_case: Mapping[int, int],
    metrics: AlertMetrics,
) -> list[AlertOp]:
    """Apply ``ops`` in order; returns the operations that opened a new alert.

    Operations of cases without a known unit (case no longer active) are skipped.
    """
    opened: list[AlertOp] = []
    for op in ops:
        unit = unit_of_case.get(op.case_id)
        if unit is None:
            continue
        data = op.timeline_data()
        if op.action is Action.open:
            row = await conn.fetchval(
                sql.OPEN_ALERT,
                op.case_id, op.rule_id, op.device_id, unit, op.kind.value, op.severity.value,
                op.episode_key, op.started_at, op.late, list(op.evidence), op.event_key, data,
            )  # fmt: skip
            if row is not None:
                opened.append(op)
                metrics.opened.labels(op.kind.value).inc()
        elif op.action is Action.evidence:
            await conn.execute(
                sql.ADD_EVIDENCE, op.episode_key, op.event_key, data, list(op.evidence)
            )
        else:
            row = await conn.fetchval(sql.CLEAR_ALERT, op.episode_key, op.event_key, op.at, data)
            if row is not None:
                metrics.cleared.labels(op.kind.value).inc()
    return opened
