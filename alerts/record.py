"""Apply alert operations in the caller's transaction (ingest batch or watchdog round).

Opening and clearing are one idempotent statement each (``store.alert_episodes``). Evidence goes
to the episode's newest alert unless that one is resolved: then the fixes shown after the
resolution are held, and a new alert of the episode opens once they meet the re-alert rule
(``alerts.episodes.realert_due``). The timeline entry's outbox row follows by trigger, in the
same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import asyncpg

from alerts.episodes import (
    Action,
    AlertOp,
    after_resolution,
    fix_time_of,
    realert_due,
    successor_key,
)
from alerts.metrics import AlertMetrics
from alerts.ruleset import grace_from
from store import alert_episodes as sql


async def apply_ops(
    conn: asyncpg.Connection,
    ops: Sequence[AlertOp],
    *,
    unit_of_case: Mapping[int, int],
    metrics: AlertMetrics,
    realert_after_s: float,
) -> list[AlertOp]:
    """Apply ``ops`` in order; returns the operations that opened a new alert (a re-alert: an
    ``open`` operation with the new alert's episode key).

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
            reopened = await _evidence(conn, op, unit, realert_after_s)
            if reopened is not None:
                opened.append(reopened)
                metrics.opened.labels(op.kind.value).inc()
        else:
            row = await conn.fetchval(sql.CLEAR_ALERT, op.episode_key, op.event_key, op.at, data)
            if row is not None:
                metrics.cleared.labels(op.kind.value).inc()
    return opened


async def _evidence(
    conn: asyncpg.Connection, op: AlertOp, unit: int, realert_after_s: float
) -> AlertOp | None:
    """Add ``op``'s evidence to its episode's current alert, or hold it after a resolution;
    returns the re-alert's operation when one opened."""
    current = await conn.fetchrow(sql.SELECT_CURRENT, op.episode_key)
    if current is None or not op.evidence:
        return None
    if current["status"] != "resolved":
        last = op.evidence[-1]
        await conn.execute(
            sql.ADD_EVIDENCE, current["id"], op.event_key, op.timeline_data(), list(op.evidence),
            last.get("device_id"), fix_time_of(last), last.get("seq"),
        )  # fmt: skip
        return None
    resolved_at = current["resolved_at"]
    fresh = after_resolution(op.evidence, resolved_at)
    if not fresh:
        return None
    times = [t for t in map(fix_time_of, fresh) if t is not None]
    held = await conn.fetchrow(
        sql.HOLD_EVIDENCE, op.episode_key, current["id"], fresh, min(times), max(times)
    )
    due = realert_due(
        held=held["n"], first=held["first_fix_at"], last=held["last_fix_at"],
        resolved_at=resolved_at, grace=grace_from(current["grace"]),
        realert_after_s=realert_after_s,
    )  # fmt: skip
    if not due:
        return None
    key = successor_key(op.episode_key, current["id"])
    data: dict[str, Any] = {
        **op.data, "at": held["last_fix_at"].isoformat(), "reason": "persists_after_resolution",
        "follows": {"alert_id": current["id"], "resolved_at": resolved_at.isoformat(),
                    "disposition": current["disposition"]},
    }  # fmt: skip
    row = await conn.fetchval(
        sql.OPEN_SUCCESSOR,
        op.episode_key, current["id"], op.case_id, op.rule_id, op.device_id, unit,
        op.kind.value, op.severity.value, key, f"{key}:opened", data,
    )  # fmt: skip
    if row is None:
        return None
    return replace(
        op, action=Action.open, episode_key=key, event_key=f"{key}:opened",
        started_at=held["first_fix_at"], at=held["last_fix_at"], evidence=tuple(fresh), data=data,
    )  # fmt: skip
