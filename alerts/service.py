"""The alerts process (``python -m alerts``): watchdog and escalation (one leader at a time),
outbox drain and webhook deliveries (every process; rows are claimed, so several are safe).

Services are started in dependency order with ``AsyncExitStack`` and stopped in reverse:
database pool, broker publisher, webhook deliverer, outbox drain, leadership, watchdog. Their
loops are supervised (:class:`alerts.looping.Supervisor`): one that ends makes the process exit
with status 1 so that its supervisor restarts it; ``/healthz`` on the metrics port reports each
loop's last successful cycle and answers 503 when one is stale.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import signal
import sys
from contextlib import AsyncExitStack

import asyncpg

from alerts.drain import OutboxDrain
from alerts.health import HealthServer
from alerts.leader import Leadership
from alerts.looping import LoopDiedError, Supervisor
from alerts.metrics import AlertMetrics
from alerts.mqtt import Publisher
from alerts.watchdog import Watchdog
from alerts.webhooks import WebhookDeliverer
from config.settings import Settings
from store import webhooks as webhook_sql
from store.migrate import migrate, wait_for_database
from store.pool import open_pool

log = logging.getLogger(__name__)


def publisher_for(settings: Settings) -> Publisher:
    """The alerts process's broker login (its own dynsec client, see deploy/services.sh)."""
    a = settings.alerts
    return Publisher(
        host=settings.mqtt.host,
        port=settings.mqtt.port,
        client_id=a.mqtt_client_id,
        username=a.mqtt_username,
        password=a.mqtt_password.get_secret_value() if a.mqtt_password else None,
        timeout_s=a.publish_timeout_s,
    )


async def serve(settings: Settings, *, stop: asyncio.Event) -> None:
    """Run until ``stop`` is set; raises :class:`LoopDiedError` when a loop ends."""
    await asyncio.to_thread(wait_for_database, settings.db.dsn(), timeout_s=60)
    await asyncio.to_thread(migrate, settings.db.dsn(), settings.pings, prefer=settings.db.storage)
    a = settings.alerts
    metrics = AlertMetrics()
    supervisor = Supervisor()
    async with AsyncExitStack() as stack:
        try:
            await _start(stack, settings, metrics, supervisor)
            log.info("alerts service started", extra={"client_id": a.mqtt_client_id})
            await supervisor.run(stop)
        finally:
            supervisor.close()  # from here on, loops end because the stack stops them
        log.info("alerts service stopping")


async def _start(
    stack: AsyncExitStack, settings: Settings, metrics: AlertMetrics, supervisor: Supervisor
) -> None:
    """Enter the services in dependency order on ``stack``; their loops under ``supervisor``."""
    a = settings.alerts
    stack.enter_context(HealthServer(a.metrics_port, metrics.registry, supervisor.health))
    pool = await stack.enter_async_context(
        open_pool(settings.db, application_name=f"bw-alerts:{a.mqtt_client_id}")
    )
    publisher = await stack.enter_async_context(publisher_for(settings))
    webhooks = await stack.enter_async_context(WebhookDeliverer(pool, a, metrics))
    supervisor.watch(webhooks)
    drain = OutboxDrain(pool, settings.db, publisher, a, metrics, on_enqueued=webhooks.wake)
    supervisor.watch(await stack.enter_async_context(drain))
    leadership = await stack.enter_async_context(Leadership(settings.db))
    supervisor.watch(await stack.enter_async_context(Watchdog(pool, leadership, a, metrics)))


async def add_webhook(settings: Settings, unit_code: str, url: str, secret: str | None) -> str:
    """Register a webhook for a unit; returns its signing secret."""
    secret = secret or secrets.token_urlsafe(32)
    conn = await asyncpg.connect(settings.db.dsn())
    try:
        hook_id = await conn.fetchval(webhook_sql.INSERT_WEBHOOK, unit_code, url, secret)
    finally:
        await conn.close()
    if hook_id is None:
        raise SystemExit(f"no unit with code {unit_code!r}")
    return secret


def main(argv: list[str] | None = None) -> None:
    """``python -m alerts`` runs the service; ``python -m alerts add-webhook UNIT URL``
    registers a webhook and prints its secret."""
    import argparse

    from config.logs import configure_logging

    parser = argparse.ArgumentParser(prog="python -m alerts", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    hook = sub.add_parser("add-webhook", help="register a webhook for a police unit")
    hook.add_argument("unit_code")
    hook.add_argument("url")
    hook.add_argument("--secret", help="signing secret (default: generated)")
    args = parser.parse_args(argv)
    settings = Settings()
    configure_logging(settings.log_level)
    if args.command == "add-webhook":
        print(asyncio.run(add_webhook(settings, args.unit_code, args.url, args.secret)))
        return

    async def runner() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(settings, stop=stop)

    try:
        asyncio.run(runner())
    except LoopDiedError as exc:
        log.critical("alerts service exits", extra={"reason": str(exc)})
        sys.exit(1)
