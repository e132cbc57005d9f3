"""Alert reads and lifecycle steps. Each step locks the alert, asks ``alerts.lifecycle`` whether
it is allowed, updates the status and appends to ``alert_events`` in one transaction."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from alerts import lifecycle
from api.alerts.models import AlertDetail, AlertEventOut, Resolution
from api.auth.models import Principal
from api.cases.service import scope_args
from api.errors import ConflictError, NotFoundError
from api.metrics import ALERT_ACK_SECONDS
from store import alerts as sql


async def get_visible(
    *, conn: asyncpg.Connection, principal: Principal, alert_id: int, for_update: bool = False
) -> asyncpg.Record:
    """The alert if the caller may see it, else 404 (existence does not leak)."""
    query = sql.SELECT_VISIBLE_FOR_UPDATE if for_update else sql.SELECT_VISIBLE
    row: asyncpg.Record | None = await conn.fetchrow(query, alert_id, *scope_args(principal))
    if row is None:
        raise NotFoundError(f"no alert {alert_id}")
    return row


async def detail(*, conn: asyncpg.Connection, principal: Principal, alert_id: int) -> AlertDetail:
    """The alert with its timeline."""
    row = await get_visible(conn=conn, principal=principal, alert_id=alert_id)
    events = [
        AlertEventOut.model_validate(dict(e)) for e in await conn.fetch(sql.SELECT_EVENTS, alert_id)
    ]
    return AlertDetail.model_validate({**dict(row), "events": events})


def _observe_ack(row: asyncpg.Record, at: datetime) -> None:
    """Time from raising to acknowledging, in seconds, by severity."""
    ALERT_ACK_SECONDS.labels(row["severity"]).observe(
        max(0.0, (at - row["opened_at"]).total_seconds())
    )


async def acknowledge(
    *, conn: asyncpg.Connection, principal: Principal, alert_id: int
) -> AlertDetail:
    """Acknowledge an open alert; 409 with the reason otherwise."""
    at = datetime.now(UTC)
    async with conn.transaction():
        row = await get_visible(conn=conn, principal=principal, alert_id=alert_id, for_update=True)
        try:
            step = lifecycle.acknowledge(lifecycle.AlertStatus(row["status"]))
        except lifecycle.IllegalTransitionError as exc:
            raise ConflictError(exc.reason, status_now=row["status"]) from exc
        await conn.execute(sql.UPDATE_ACKNOWLEDGED, alert_id, at, principal.user_id)
        for kind in step.events:
            await conn.execute(sql.INSERT_EVENT, alert_id, at, principal.user_id, kind.value, {})
    _observe_ack(row, at)
    return await detail(conn=conn, principal=principal, alert_id=alert_id)


async def resolve(
    *, conn: asyncpg.Connection, principal: Principal, alert_id: int, resolution: Resolution
) -> AlertDetail:
    """Resolve an open or acknowledged alert (an open one is acknowledged implicitly)."""
    at = datetime.now(UTC)
    async with conn.transaction():
        row = await get_visible(conn=conn, principal=principal, alert_id=alert_id, for_update=True)
        try:
            step = lifecycle.resolve(
                lifecycle.AlertStatus(row["status"]), resolution.disposition, resolution.note
            )
        except lifecycle.IllegalTransitionError as exc:
            raise ConflictError(exc.reason, status_now=row["status"]) from exc
        note = resolution.note.strip()
        await conn.execute(
            sql.UPDATE_RESOLVED, alert_id, at, principal.user_id, resolution.disposition.value, note
        )
        for kind in step.events:
            data = (
                {"disposition": resolution.disposition.value, "note": note}
                if kind is lifecycle.EventKind.resolved
                else {"implicit": True}
            )
            await conn.execute(sql.INSERT_EVENT, alert_id, at, principal.user_id, kind.value, data)
    if step.acknowledges:
        _observe_ack(row, at)
    return await detail(conn=conn, principal=principal, alert_id=alert_id)
