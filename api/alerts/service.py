"""Alert reads and lifecycle steps. Each step locks the alert, asks ``alerts.lifecycle`` whether
it is allowed, updates the status and appends to ``alert_events`` in one transaction."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from alerts import lifecycle
from alerts.kinds import AlertKind
from api.alerts.models import AlertDetail, AlertEventOut, Resolution
from api.auth.models import Principal
from api.cases.service import scope_args
from api.errors import ConflictError, NotFoundError
from api.metrics import ALERT_ACK_SECONDS
from store import alerts as sql

#: Alert kinds that cannot go on unseen: silence is found by the watchdog, and anything heard
#: from the watch ends it, so a resolved no-signal alert opens again only after a new silence.
#: Every other kind re-alerts while its condition goes on (``alerts.record``).
ONCE_KINDS = frozenset({AlertKind.no_signal.value})


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


def realert_notice(kind: str, realert_after_s: float) -> str:
    """What resolving an alert of ``kind`` whose condition goes on leads to (Chinese first)."""
    if kind in ONCE_KINDS:
        return (
            "条件仍在持续；该条件结束前不会再次告警。"
            " / The condition is still going on; no new alert opens until it ends."
        )
    return (
        f"条件仍在持续：处置后如再持续 {realert_after_s:g} 秒，将产生新的告警。"
        f" / The condition is still going on: a new alert opens if it lasts {realert_after_s:g}"
        " s more after this resolution."
    )


async def resolve(
    *,
    conn: asyncpg.Connection,
    principal: Principal,
    alert_id: int,
    resolution: Resolution,
    realert_after_s: float,
) -> AlertDetail:
    """Resolve an open or acknowledged alert (an open one is acknowledged implicitly). When its
    condition is still going on, the resolution is recorded as such and the answer's ``notice``
    says when a new alert will open (``alerts.episodes``: re-alert)."""
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
        ongoing = row["cleared_at"] is None
        for kind in step.events:
            data = (
                {"disposition": resolution.disposition.value, "note": note,
                 "condition_ongoing": ongoing}
                if kind is lifecycle.EventKind.resolved
                else {"implicit": True}
            )  # fmt: skip
            await conn.execute(sql.INSERT_EVENT, alert_id, at, principal.user_id, kind.value, data)
    if step.acknowledges:
        _observe_ack(row, at)
    out = await detail(conn=conn, principal=principal, alert_id=alert_id)
    if ongoing:
        out.notice = realert_notice(row["kind"], realert_after_s)
    return out
