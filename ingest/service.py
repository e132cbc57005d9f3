"""The ingester process: services composed in one lifespan, and the batch loop.

Start order (stopped in reverse by ``AsyncExitStack``): migrations, database pool, device
directory warm-up, metrics endpoint, MQTT consumer (subscribed: the broker queues from here on),
alert rules warm-up, dead-letter replay feed. The loop takes a batch (``batch_max`` messages or
``batch_max_wait_ms`` after the first), runs it through the stages, then a batch of replayed dead
letters if the feed has one ready (``ingest.replay``: the same stages, ack excluded), and repeats
until asked to stop; then it drains what is already received, within ``shutdown_deadline_s``, and
disconnects. A batch interrupted by the deadline is not acknowledged: the broker redelivers it.
Every ``SWEEP_EVERY_S``, between batches, the sweeper judges stored fixes that their batch could
not judge (``alerts.sweep``).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from contextlib import AsyncExitStack

from alerts.hook import AlertHook
from alerts.metrics import AlertMetrics
from alerts.sweep import Sweeper
from broker.aio import AsyncioSource
from broker.client import ConnectOptions, MessageSource, PahoSource
from config.runtime import settle_gc
from config.settings import Settings
from ingest.db import Database
from ingest.decode import TOPIC_FILTERS, Decoder
from ingest.directory import DeviceDirectory
from ingest.judging import Judge, JudgeMetrics
from ingest.metrics import IngestMetrics
from ingest.pipeline import Batch, Pipeline, Stage, build_stages, run_batch
from ingest.replay import ReplayFeed
from ingest.validate import CheckContext, Limits
from ingest.writer import BatchWriter
from store.migrate import migrate, wait_for_database
from store.pool import open_pool

log = logging.getLogger(__name__)


def connect_options(settings: Settings) -> ConnectOptions:
    """The ingester's MQTT session: persistent, Receive Maximum, shared subscriptions."""
    m = settings.mqtt
    group = m.shared_group
    return ConnectOptions(
        host=m.host,
        port=m.port,
        client_id=settings.ingest.client_id,
        username=m.username,
        password=m.password.get_secret_value() if m.password else None,
        keepalive_s=m.keepalive_s,
        session_expiry_s=m.session_expiry_s,
        receive_maximum=m.receive_maximum,
        subscriptions=tuple(f"$share/{group}/{t}" for t in TOPIC_FILTERS),
    )


def message_source(kind: str, options: ConnectOptions) -> MessageSource:
    """The configured MQTT client behind the :class:`MessageSource` interface."""
    if kind == "asyncio":
        return AsyncioSource(options)
    return PahoSource(options)


#: Seconds between the sweeper's rounds (it runs between batches).
SWEEP_EVERY_S = 1.0


async def judging(
    settings: Settings, metrics: IngestMetrics, db: Database
) -> tuple[Judge, Sweeper]:
    """The judge of the write stage (zone and device-condition alerts, written in the batch's
    transaction, their metrics on the ingester's registry) and the sweeper of what it could not
    judge, sharing one evaluator. Its rules are loaded before the first batch is taken, so that
    the first batch does not stall on that."""
    alerts = AlertHook(settings.alerts, AlertMetrics(metrics.registry))
    await db.run(alerts.evaluator.load_ruleset, dedicated=False)
    judge_metrics = JudgeMetrics(metrics.registry)
    judge = Judge([alerts], judge_metrics)
    return judge, Sweeper(alerts.evaluator, judge_metrics)


class Ingester:
    """The batch loop over a message source; ``stop()`` ends it after a drain."""

    def __init__(
        self,
        settings: Settings,
        pipeline: Pipeline,
        sweeper: Sweeper | None = None,
        replay: ReplayFeed | None = None,
    ) -> None:
        self.settings = settings
        self.pipeline = pipeline
        self.sweeper = sweeper
        self.replay = replay
        self.stages = build_stages(pipeline)
        split = [name for name, _ in self.stages].index("write")
        #: decode .. evaluate, then write and ack.
        self.prepare, self.commit = self.stages[:split], self.stages[split:]
        #: A replayed batch's write and outcome report: it owes the broker no ack.
        self.replay_commit: list[tuple[str, Stage]] = [
            (name, stage) for name, stage in self.commit if name != "ack"
        ]
        if replay is not None:
            self.replay_commit.append(("replayed", replay.report))
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def queue_waiting(self) -> bool:
        """Whether stored fixes wait to be judged (checked on a pooled connection, beside the
        batch in commit)."""
        if self.sweeper is None:
            return False
        return await self.pipeline.db.run(self.sweeper.waiting, dedicated=False)

    async def sweep(self) -> None:
        """One sweeper round (between batches: the batch in commit is finished first)."""
        if self.sweeper is not None:
            await self.pipeline.db.run(self.sweeper.sweep)

    async def run(self) -> None:
        """Take and process batches until stopped; then drain what was received."""
        ing = self.settings.ingest
        wait_s = ing.batch_max_wait_ms / 1000
        source = self.pipeline.source
        metrics = self.pipeline.metrics
        # Batch N commits while batch N+1 is decoded and validated: the database works on one
        # core while Python works on the other. Commits stay sequential and in order.
        pending: asyncio.Task[None] | None = None
        next_sweep = time.monotonic()
        try:
            while not self._stopping.is_set():
                if time.monotonic() >= next_sweep:
                    next_sweep = time.monotonic() + SWEEP_EVERY_S
                    if await self.queue_waiting():
                        if pending is not None:
                            await pending
                            pending = None
                        await self.sweep()
                messages = await source.next_batch(ing.batch_max, wait_s)
                metrics.queue_depth.set(source.depth)
                if messages:
                    batch = Batch(messages)
                    await run_batch(self.prepare, batch)
                    if pending is not None:
                        await pending
                    metrics.inflight.set(len(messages) + source.depth)
                    pending = asyncio.create_task(run_batch(self.commit, batch))
                replayed = self.replay.take() if self.replay is not None else None
                if replayed is not None:
                    await run_batch(self.prepare, replayed)
                    if pending is not None:
                        await pending
                    pending = asyncio.create_task(run_batch(self.replay_commit, replayed))
            if pending is not None:
                await pending
                pending = None
            deadline = time.monotonic() + ing.shutdown_deadline_s * 0.8
            while source.depth and time.monotonic() < deadline:
                messages = await source.next_batch(ing.batch_max, 0.001)
                await asyncio.wait_for(
                    run_batch(self.stages, Batch(messages)), max(deadline - time.monotonic(), 0.01)
                )
        finally:
            if pending is not None and not pending.done():
                pending.cancel()


async def serve(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """Run the ingester until ``stop`` is set (or SIGTERM/SIGINT in ``main``)."""
    ing = settings.ingest
    await asyncio.to_thread(wait_for_database, settings.db.dsn(), timeout_s=60)
    await asyncio.to_thread(migrate, settings.db.dsn(), settings.pings, prefer=settings.db.storage)
    metrics = IngestMetrics()
    async with AsyncExitStack() as stack:
        pool = await stack.enter_async_context(
            open_pool(settings.db, application_name=f"bw-ingest:{ing.client_id}")
        )
        db = Database(pool, metrics=metrics, retry_max_s=ing.retry_max_s)
        stack.push_async_callback(db.close)
        directory = DeviceDirectory(
            ttl_s=ing.directory_ttl_s, negative_ttl_s=ing.directory_negative_ttl_s
        )
        warmed = await db.run(directory.warm)
        metrics.serve(ing.metrics_port)
        source: MessageSource = await stack.enter_async_context(
            message_source(settings.mqtt.client, connect_options(settings))
        )
        judge, sweeper = await judging(settings, metrics, db)
        limits = Limits(ing.future_tolerance_s, ing.max_age_days, ing.max_speed_mps)
        pipeline = Pipeline(
            decoder=Decoder(max_payload_bytes=ing.max_payload_bytes),
            directory=directory,
            checks=CheckContext(limits, directory),
            metrics=metrics,
            source=source,
            db=db,
            writer=BatchWriter(judge),
        )
        replay = await stack.enter_async_context(
            ReplayFeed(
                db=db, directory=directory, metrics=metrics, batch_max=ing.replay_batch,
                poll_s=ing.replay_poll_s, lease_s=ing.replay_lease_s,
            )
        )  # fmt: skip
        ingester = Ingester(settings, pipeline, sweeper, replay)
        settle_gc()
        log.info("ingester started", extra={"client_id": ing.client_id, "devices": warmed})
        task = asyncio.create_task(ingester.run())
        stopper = asyncio.create_task((stop or asyncio.Event()).wait())
        done, _ = await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            stopper.cancel()
            task.result()
            return
        ingester.stop()
        try:
            await asyncio.wait_for(task, ing.shutdown_deadline_s * 0.9)
        except TimeoutError:
            log.warning("shutdown deadline passed; unacknowledged messages will be redelivered")
        log.info("ingester stopping")


def main() -> None:
    """``python -m ingest``: settings from the environment (``BW_``), JSON logs, signals."""
    from config.logs import configure_logging

    settings = Settings()
    configure_logging(settings.log_level)

    async def runner() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(settings, stop=stop)

    asyncio.run(runner())
