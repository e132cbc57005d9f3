"""Webhook delivery: signed POSTs per unit, retried with backoff, failed after a horizon.

Signature header (like Stripe's): ``X-Bailwatch-Signature: t=<unix seconds>,v1=<hex>`` where
``hex = HMAC-SHA256(secret, f"{t}.{body}")``; receivers should refuse a ``t`` far from their clock.
``X-Bailwatch-Delivery`` is the outbox id: the same alert event always carries the same id, so a
receiver can drop a repeat (a response lost after it was processed is retried).
Deliveries are claimed with a lease (several alerts processes are safe) and never touch the
ingest path: they read the outbox after it committed. A delivery that fails in any way (even one
whose request cannot be built) is retried and failed alone; it never stops the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from typing import Any

import asyncpg
import httpx

from alerts.looping import LoopService, transient
from alerts.metrics import AlertMetrics
from config.settings import AlertsSettings
from store import webhooks as sql

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Bailwatch-Signature"
DELIVERY_HEADER = "X-Bailwatch-Delivery"


def sign(secret: str, body: bytes, t: int) -> str:
    """The signature header value of ``body`` sent at unix second ``t``."""
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verify(secret: str, header: str, body: bytes, *, now: float, tolerance_s: float) -> bool:
    """Whether ``header`` signs ``body`` with ``secret`` within ``tolerance_s`` of ``now``."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        t = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs(now - t) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, body, t), header)


def backoff_s(
    attempts: int, *, base_s: float, max_s: float, rand: Callable[[], float] = random.random
) -> float:
    """Delay before attempt ``attempts + 1``: base * 2^(attempts-1), capped, "full jitter"
    between half and all of it."""
    ceiling = min(max_s, base_s * 2.0 ** max(attempts - 1, 0))
    return float(ceiling * (0.5 + 0.5 * rand()))


def body_of(outbox_id: int, topic: str, payload: Mapping[str, Any]) -> bytes:
    """The JSON body of one outbox row (also the unit-topic message)."""
    doc = {"id": outbox_id, "type": topic, **payload}
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"), default=str).encode()


class WebhookDeliverer(LoopService):
    """The delivery loop; an async context manager. ``wake()`` after new deliveries."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        settings: AlertsSettings,
        metrics: AlertMetrics,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.pool = pool
        self.settings = settings
        self.metrics = metrics
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(settings.webhook_timeout_s), transport=transport
        )
        self._wake = asyncio.Event()
        self.name = "webhooks"
        self.stale_after_s = settings.health_stale_s

    def wake(self) -> None:
        self._wake.set()

    async def _close(self) -> None:
        await self._client.aclose()

    async def _loop(self) -> None:
        while True:
            try:
                done = await self.round()
                self.beat()
            except Exception as exc:
                if not transient(exc):
                    raise
                log.warning("webhook round failed", extra={"error": repr(exc)})
                done = 0
            if done:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=0.5)
            self._wake.clear()

    async def round(self) -> int:
        """Attempt every due delivery once (concurrently); returns how many were attempted."""
        s = self.settings
        lease_s = s.webhook_timeout_s * 2 + 5
        async with self.pool.acquire() as conn:
            due = await conn.fetch(sql.CLAIM_DUE, s.webhook_batch, lease_s)
        if due:
            await asyncio.gather(*(self._attempt(r) for r in due))
        return len(due)

    async def _attempt(self, row: asyncpg.Record) -> None:
        error: str | None
        try:
            body = body_of(row["outbox_id"], row["topic"], row["payload"])
            headers = {
                "Content-Type": "application/json",
                SIGNATURE_HEADER: sign(row["secret"], body, int(time.time())),
                DELIVERY_HEADER: str(row["outbox_id"]),
            }
            response = await self._client.post(row["url"], content=body, headers=headers)
            error = None if response.is_success else f"HTTP {response.status_code}"
        except (httpx.HTTPError, httpx.InvalidURL) as exc:  # a bad URL fails like a refusal
            error = f"{type(exc).__name__}: {exc}"
        except Exception as exc:  # one delivery that cannot be built fails alone, not the loop
            log.exception("webhook delivery could not be built", extra={"delivery": row["id"]})
            error = f"{type(exc).__name__}: {exc}"
        async with self.pool.acquire() as conn:
            if error is None:
                await conn.execute(sql.MARK_DELIVERED, row["id"])
                self.metrics.deliveries.labels("webhook", "delivered").inc()
                return
            delay = backoff_s(
                row["attempts"], base_s=self.settings.webhook_backoff_base_s,
                max_s=self.settings.webhook_backoff_max_s,
            )  # fmt: skip
            status = await conn.fetchval(
                sql.MARK_FAILED_ATTEMPT, row["id"], error, delay, self.settings.webhook_horizon_s
            )
        self.metrics.delivery_failures.labels("webhook").inc()
        if status == "failed":
            self.metrics.deliveries.labels("webhook", "failed").inc()
            log.error(
                "webhook delivery failed for good", extra={"delivery": row["id"], "error": error}
            )
        else:
            log.info("webhook attempt failed", extra={"delivery": row["id"], "error": error,
                                                      "retry_in_s": round(delay, 2)})  # fmt: skip
