"""The outbox drain: delivers committed alert timeline entries to the unit's MQTT topic, queues
them for the unit's webhooks, sends watch commands, and refreshes each unit's retained summary.

Rows are claimed with ``FOR UPDATE SKIP LOCKED`` (several drains are safe) and marked delivered
in the same transaction after the broker acknowledged them; if the broker is down the round
rolls back and the rows wait. The drain wakes on ``NOTIFY bw_outbox`` and every ``drain_poll_s``.
The live stream does not depend on the drain: API processes LISTEN themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg

from alerts.looping import LoopService
from alerts.metrics import AlertMetrics
from alerts.mqtt import Publisher, PublishError, command_topic, summary_topic, unit_topic
from alerts.webhooks import body_of
from config.settings import AlertsSettings, DatabaseSettings
from store import outbox as sql
from store import webhooks as webhook_sql

log = logging.getLogger(__name__)

CHANNEL = "bw_outbox"


def wearer_command(payload: dict[str, Any]) -> tuple[str, bytes] | None:
    """The (topic, payload) of the watch command an opened alert carries, if any."""
    event = payload.get("event") or {}
    cmd = (event.get("data") or {}).get("cmd")
    alert = payload.get("alert") or {}
    if event.get("kind") != "opened" or not isinstance(cmd, dict) or not alert.get("device_id"):
        return None
    body = {**cmd, "alert_id": alert.get("id")}
    return command_topic(alert["device_id"]), json.dumps(body, ensure_ascii=False).encode()


def ack_seconds(payload: dict[str, Any]) -> tuple[str, float] | None:
    """(severity, seconds from opening to acknowledgement) of an acknowledgement entry."""
    event, alert = payload.get("event") or {}, payload.get("alert") or {}
    if event.get("kind") != "acknowledged" or not alert.get("opened_at"):
        return None
    at = datetime.fromisoformat(str(event["at"]))
    opened = datetime.fromisoformat(str(alert["opened_at"]))
    return str(alert.get("severity")), (at - opened).total_seconds()


class OutboxDrain(LoopService):
    """The drain loop; an async context manager."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        db: DatabaseSettings,
        publisher: Publisher,
        settings: AlertsSettings,
        metrics: AlertMetrics,
        *,
        on_enqueued: Callable[[], None],
    ) -> None:
        self.pool = pool
        self.db = db
        self.publisher = publisher
        self.settings = settings
        self.metrics = metrics
        self.on_enqueued = on_enqueued
        self._wake = asyncio.Event()
        self._listener: asyncpg.Connection | None = None

    async def _close(self) -> None:
        if self._listener is not None and not self._listener.is_closed():
            await self._listener.close()

    async def _listen(self) -> None:
        """(Re)open the LISTEN connection when it is gone."""
        if self._listener is not None and not self._listener.is_closed():
            return
        try:
            conn = await asyncpg.connect(self.db.dsn(), timeout=self.db.connect_timeout_s)
            await conn.add_listener(CHANNEL, lambda *_: self._wake.set())
            self._listener = conn
        except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
            log.warning("outbox listener not connected", extra={"error": repr(exc)})

    async def _loop(self) -> None:
        while True:
            await self._listen()
            self._wake.clear()
            try:
                drained = await self.round()
                async with self.pool.acquire() as conn:
                    self.metrics.outbox_backlog.set(await conn.fetchval(sql.COUNT_BACKLOG))
            except PublishError as exc:
                log.warning("outbox drain waits for the broker", extra={"error": str(exc)})
                drained = 0
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("outbox drain round failed", extra={"error": repr(exc)})
                drained = 0
            if drained >= self.settings.drain_batch:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.settings.drain_poll_s)

    async def round(self) -> int:
        """Deliver one batch of undelivered rows; returns how many."""
        units: set[int] = set()
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(sql.CLAIM, self.settings.drain_batch)
            if not rows:
                return 0
            sends = []
            for r in rows:
                payload: dict[str, Any] = r["payload"]
                if r["unit_code"]:
                    body = body_of(r["id"], r["topic"], payload)
                    sends.append(self.publisher.publish(unit_topic(r["unit_code"]), body))
                    units.add(r["unit_id"])
                command = wearer_command(payload)
                if command is not None:
                    sends.append(self.publisher.publish(*command))
                    self.metrics.deliveries.labels("command", "sent").inc()
                acked = ack_seconds(payload)
                if acked is not None:
                    self.metrics.ack_seconds.labels(acked[0]).observe(acked[1])
            try:
                await asyncio.gather(*sends)
            except PublishError:
                self.metrics.delivery_failures.labels("mqtt").inc()
                raise
            self.metrics.deliveries.labels("mqtt", "delivered").inc(len(sends))
            ids = [r["id"] for r in rows]
            await conn.execute(webhook_sql.ENQUEUE, ids)
            await conn.execute(sql.MARK_DELIVERED, ids)
        self.on_enqueued()
        await self.publish_summaries(units)
        return len(rows)

    async def publish_summaries(self, unit_ids: set[int]) -> None:
        """Retained open/acknowledged counts of ``unit_ids``."""
        if not unit_ids:
            return
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(sql.UNIT_SUMMARY, sorted(unit_ids))
        now = datetime.now(UTC).isoformat()
        for r in rows:
            doc = {
                "unit": r["code"], "open": r["open"], "acknowledged": r["acknowledged"],
                "escalated": r["escalated"], "at": now,
            }  # fmt: skip
            await self.publisher.publish(
                summary_topic(r["code"]), json.dumps(doc).encode(), retain=True
            )
