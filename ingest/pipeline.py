"""The per-batch pipeline, visible in one place: :func:`build_stages` lists the stages in order.

    decode -> validate -> order -> write [one transaction: store fixes, dead letters, device
    status -> judge the new fixes (evaluation hooks) or queue them] -> ack

Each stage takes the :class:`Batch` and fills its part. A batch is a list of messages taken
together (size- and time-bounded); it commits in one transaction and is acknowledged only after.
A batch's messages need not come from MQTT (a replay of dead letters has nothing to ack): the ack
stage hands the source what it was given. Fixes go to evaluation in arrival order (message order,
then their order in the message): lateness and episodes are the engine's, from the fixes and
their arrival order alone, whatever the batching (``docs/architecture-notes.md``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg

from broker.client import Inbound, MessageSource
from ingest.db import Database
from ingest.decode import Decoder
from ingest.directory import DeviceDirectory
from ingest.judging import EvaluateHook as EvaluateHook
from ingest.metrics import IngestMetrics, observe_many
from ingest.models import Decoded, Event, Ping, Reject, Status
from ingest.skew import SkewTracker
from ingest.validate import CheckContext, check_ping, ping_reject, sort_key
from ingest.writer import BatchWriter

log = logging.getLogger(__name__)


@dataclass
class Batch:
    """One batch on its way through the stages."""

    messages: list[Inbound]
    decoded: list[Decoded] = field(default_factory=list)
    #: Accepted fixes in arrival order (message order, then order within the message).
    pings: list[Ping] = field(default_factory=list)
    #: Fix time (epoch s) of each accepted fix, parallel to ``pings``.
    times: list[float] = field(default_factory=list)
    statuses: list[Status] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    #: Per device: skew estimate (s) after this batch's messages.
    skew: dict[str, float] = field(default_factory=dict)
    #: Filled by write: fixes that were new rows (the rest were duplicates).
    stored: int = 0
    committed_at: float = 0.0

    async def record_source(self, conn: asyncpg.Connection) -> None:
        """What the batch's source records about it inside the write transaction: nothing for
        MQTT messages, whose record is the ack after the commit (a replayed batch of dead
        letters marks their outcome: ``ingest.replay.ReplayBatch``)."""


Stage = Callable[[Batch], Awaitable[None]]

#: The CPU-bound stages give the event loop a turn after this many messages or fixes, so the
#: previous batch's write can send its next statement as soon as the database answers the last
#: one (the database and Python then work at the same time) and MQTT input keeps flowing.
YIELD_EVERY = 200


@dataclass
class Pipeline:
    """The stages' shared parts; one per ingester process."""

    decoder: Decoder
    directory: DeviceDirectory
    checks: CheckContext
    metrics: IngestMetrics
    source: MessageSource
    db: Database
    writer: BatchWriter
    skew: SkewTracker = field(default_factory=SkewTracker)

    async def decode(self, batch: Batch) -> None:
        """Decode every message (pure, never raises)."""
        decode = self.decoder.decode
        for i, m in enumerate(batch.messages, 1):
            batch.decoded.append(
                decode(m.topic, m.payload, datetime.fromtimestamp(m.received_at, UTC))
            )
            if not i % YIELD_EVERY:
                await asyncio.sleep(0)

    async def validate(self, batch: Batch) -> None:
        """Named checks; refused records become rejects, the rest go on; per-message outcome."""
        ids = {r.device_id for d in batch.decoded for r in d.records}
        if self.directory.stale(ids, time.monotonic()):
            await self.db.run(lambda conn: self.directory.ensure(conn, ids), dedicated=False)
        candidates: list[tuple[Ping, int, int]] = []
        #: Refused records per message index.
        refused: Counter[int] = Counter()
        for mi, d in enumerate(batch.decoded):
            batch.rejects.extend(d.rejects)
            for ri, r in enumerate(d.records):
                if isinstance(r, Ping):
                    candidates.append((r, mi, ri))
                elif self.directory.get(r.device_id) is None:
                    m = batch.messages[mi]
                    rej = Reject(
                        m.topic, m.payload, r.received_at, ("unknown_device",), r.device_id
                    )
                    batch.rejects.append(rej)
                    refused[mi] += 1
                elif isinstance(r, Status):
                    batch.statuses.append(r)
                else:
                    batch.events.append(r)
        candidates.sort(key=lambda c: sort_key(c[0]))
        accepted: list[tuple[int, int, Ping, float]] = []
        for i, (ping, mi, ri) in enumerate(candidates, 1):
            if not i % YIELD_EVERY:
                await asyncio.sleep(0)
            reasons = check_ping(ping, self.checks)
            if reasons:
                m, d = batch.messages[mi], batch.decoded[mi]
                index = d.positions[ri] if d.positions is not None else None
                batch.rejects.append(ping_reject(ping, reasons, m.topic, m.payload, index))
                refused[mi] += 1
            else:
                accepted.append((mi, ri, ping, self.checks.t))
        accepted.sort(key=lambda a: (a[0], a[1]))
        batch.pings = [a[2] for a in accepted]
        batch.times = [a[3] for a in accepted]
        self._count(batch, refused)

    def _count(self, batch: Batch, refused: Counter[int]) -> None:
        outcomes: Counter[str] = Counter()
        for mi, d in enumerate(batch.decoded):
            if d.ignored:
                outcome = "ignored"
            elif not d.rejects and not refused[mi]:
                outcome = "stored"
            elif len(d.records) > refused[mi]:
                outcome = "partial"
            else:
                outcome = "rejected"
            outcomes[outcome] += 1
        for outcome, n in outcomes.items():
            self.metrics.messages.labels(outcome).inc(n)
        reasons = Counter(reason for rej in batch.rejects for reason in rej.reasons)
        for reason, n in reasons.items():
            self.metrics.rejects.labels(reason).inc(n)

    async def order(self, batch: Batch) -> None:
        """Per device clock skew (the fixes stay in arrival order, which evaluation follows)."""
        for m, d in zip(batch.messages, batch.decoded, strict=True):
            times = [_record_time(r) for r in d.records]
            if times:
                delay = m.received_at - max(times)
                device_id = d.records[0].device_id
                batch.skew[device_id] = self.skew.add(device_id, delay)
        observe_many(self.metrics.clock_skew, list(batch.skew.values()))

    async def write(self, batch: Batch) -> None:
        """One transaction for the batch, retried until it commits (the batch is kept): the
        fixes, dead letters and statuses, then the new fixes judged (or queued unjudged)."""
        started = time.perf_counter()
        batch.stored = await self.db.run(lambda conn: self.writer.write(conn, batch))
        self.metrics.commit_seconds.observe(time.perf_counter() - started)
        self.metrics.batch_messages.observe(len(batch.messages))
        self.metrics.fixes.labels("stored").inc(batch.stored)
        self.metrics.fixes.labels("duplicate").inc(len(batch.pings) - batch.stored)
        self.metrics.fixes.labels("rejected").inc(
            sum(1 for r in batch.rejects if r.reasons[0] not in _WHOLE_MESSAGE_REASONS)
        )

    async def ack(self, batch: Batch) -> None:
        """Acknowledge every message of the committed batch (stored or dead-lettered)."""
        self.metrics.acks.inc(self.source.ack(batch.messages))
        now = time.time()
        observe_many(self.metrics.lag_seconds, [now - t for t in batch.times])


#: Reasons that refuse a whole message rather than a fix (not counted as rejected fixes).
_WHOLE_MESSAGE_REASONS = frozenset(
    {"oversized_payload", "unknown_topic", "bad_device_id", "malformed_json", "no_fixes",
     "unknown_type", "decoder_error"}
)  # fmt: skip


def _record_time(r: Ping | Status | Event) -> float:
    return (r.fix_time if isinstance(r, Ping) else r.at).timestamp()


def build_stages(pipeline: Pipeline) -> list[tuple[str, Stage]]:
    """The ordered stages of one batch (Traccar's ProcessingHandler, in one list)."""
    return [
        ("decode", pipeline.decode),
        ("validate", pipeline.validate),
        ("order", pipeline.order),
        ("write", pipeline.write),
        ("ack", pipeline.ack),
    ]


#: A batch whose stages take longer than this (seconds, wall clock) is logged with each stage's
#: time, so a stall can be traced to its stage.
SLOW_BATCH_S = 0.5


async def run_batch(stages: list[tuple[str, Stage]], batch: Batch) -> None:
    """Run ``batch`` through ``stages`` in order; log the stage times of a slow batch."""
    took: dict[str, float] = {}
    for name, stage in stages:
        started = time.perf_counter()
        await stage(batch)
        took[name] = round(time.perf_counter() - started, 3)
    if sum(took.values()) > SLOW_BATCH_S:
        log.warning("slow batch", extra={"messages": len(batch.messages), "stage_seconds": took})
