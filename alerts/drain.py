"""The outbox drain: delivers committed alert timeline entries to the unit's MQTT topic, queues
them for the unit's webhooks, sends watch commands, and refreshes each unit's retained summary.

Rows are claimed with ``FOR UPDATE SKIP LOCKED`` (several drains are safe) and marked delivered
in the same transaction after the broker acknowledged them; if the broker is down the round
rolls back and the rows wait. A row the drain cannot turn into messages (a payload that breaks
its reader, a message the publisher refuses for good) is dead-lettered with the reason and
counted (``bailwatch_outbox_dead_letters_total``) while the rest of its batch is delivered; only
a fault a retry cannot mend outside the rows ends the loop (and the process). The drain wakes
on ``NOTIFY bw_outbox`` and every ``drain_poll_s``.
The live stream does not depend on the drain: API processes LISTEN themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from alerts.looping import LoopService, transient
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


@dataclass(frozen=True)
class Delivery:
    """What one outbox row becomes: its messages (topic, body) in order, the unit whose
    summary it changes, whether it carries a watch command, and (severity, seconds) of an
    acknowledgement."""

    messages: tuple[tuple[str, bytes], ...]
    unit_id: int | None
    command: bool
    ack: tuple[str, float] | None


def delivery_of(row: Mapping[str, Any]) -> Delivery:
    """The messages of one claimed outbox row; raises on a payload its reader cannot take."""
    payload = row["payload"]
    if not isinstance(payload, dict):
        raise TypeError(f"payload is a JSON {type(payload).__name__}, not an object")
    messages: list[tuple[str, bytes]] = []
    unit_id = None
    if row["unit_code"]:
        messages.append((unit_topic(row["unit_code"]), body_of(row["id"], row["topic"], payload)))
        unit_id = row["unit_id"]
    command = wearer_command(payload)
    if command is not None:
        messages.append(command)
    return Delivery(tuple(messages), unit_id, command is not None, ack_seconds(payload))


def dead_letter_reason(exc: BaseException) -> str:
    """The reason stored with a dead-lettered row: the exception's type and message."""
    return f"{type(exc).__name__}: {exc}"[:1000]


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
        self.name = "outbox_drain"
        self.stale_after_s = max(settings.health_stale_s, 3 * settings.drain_poll_s)

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
                self.beat()
            except PublishError as exc:
                log.warning("outbox drain waits for the broker", extra={"error": str(exc)})
                drained = 0
            except Exception as exc:
                if not transient(exc):
                    raise
                log.warning("outbox drain round failed", extra={"error": repr(exc)})
                drained = 0
            if drained >= self.settings.drain_batch:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.settings.drain_poll_s)

    async def _send(self, delivery: Delivery) -> None:
        for topic, body in delivery.messages:
            await self.publisher.publish(topic, body)

    async def round(self) -> int:
        """Deliver one batch of undelivered rows, dead-lettering those that cannot be; returns
        how many rows were settled (delivered or dead-lettered)."""
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(sql.CLAIM, self.settings.drain_batch)
            if not rows:
                return 0
            planned: list[tuple[int, Delivery]] = []
            dead: list[tuple[int, BaseException]] = []
            for r in rows:
                try:
                    planned.append((r["id"], delivery_of(r)))
                except Exception as exc:  # a broken payload is data: set aside, never retried
                    dead.append((r["id"], exc))
            results = await asyncio.gather(
                *(self._send(d) for _, d in planned), return_exceptions=True
            )
            delivered: list[Delivery] = []
            ids: list[int] = []
            for (row_id, delivery), result in zip(planned, results, strict=True):
                if result is None:
                    delivered.append(delivery)
                    ids.append(row_id)
                elif isinstance(result, PublishError):
                    self.metrics.delivery_failures.labels("mqtt").inc()
                    raise result  # the broker is away: the whole round waits for it
                elif not isinstance(result, Exception) or transient(result):
                    raise result
                else:
                    dead.append((row_id, result))
            self._count(delivered)
            await conn.execute(webhook_sql.ENQUEUE, ids)
            await conn.execute(sql.MARK_DELIVERED, ids)
            if dead:
                await self._dead_letter(conn, dead)
        self.on_enqueued()
        await self.publish_summaries({d.unit_id for d in delivered if d.unit_id is not None})
        return len(rows)

    def _count(self, delivered: list[Delivery]) -> None:
        sent = sum(len(d.messages) for d in delivered)
        self.metrics.deliveries.labels("mqtt", "delivered").inc(sent)
        for d in delivered:
            if d.command:
                self.metrics.deliveries.labels("command", "sent").inc()
            if d.ack is not None:
                self.metrics.ack_seconds.labels(d.ack[0]).observe(d.ack[1])

    async def _dead_letter(
        self, conn: asyncpg.Connection, dead: list[tuple[int, BaseException]]
    ) -> None:
        reasons = [dead_letter_reason(exc) for _, exc in dead]
        await conn.execute(sql.DEAD_LETTER, [i for i, _ in dead], reasons)
        for (row_id, exc), reason in zip(dead, reasons, strict=True):
            self.metrics.dead_letters.labels(type(exc).__name__).inc()
            log.error(
                "outbox row dead-lettered",
                exc_info=exc,
                extra={"outbox_id": row_id, "reason": reason},
            )

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
