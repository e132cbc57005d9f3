"""The per-batch pipeline, visible in one place: :func:`build_stages` lists the stages in order.

    decode -> validate -> order per device -> evaluate (hooks) -> write -> ack

Each stage takes the :class:`Batch` and fills its part. A batch is a list of MQTT messages taken
together (size- and time-bounded); it commits in one transaction and is acknowledged only after.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import asyncpg

from broker.client import Inbound, MessageSource
from ingest.db import Database
from ingest.decode import Decoder
from ingest.directory import DeviceDirectory
from ingest.metrics import IngestMetrics, observe_many
from ingest.models import Decoded, Event, Ping, Reject, Status
from ingest.skew import SkewTracker
from ingest.validate import CheckContext, check_ping, ping_reject, sort_key
from ingest.writer import BatchWriter

log = logging.getLogger(__name__)

#: Work an evaluation hook wants done inside the batch's transaction (geofence state, alerts,
#: outbox rows), after the fixes are inserted.
TxEffect = Callable[[asyncpg.Connection], Awaitable[None]]


class EvaluateHook(Protocol):
    """The seam for zone and alert evaluation (geofence/, alerts/): not implemented here.

    Called once per batch with the accepted fixes in per-device fix-time order and, for each,
    whether it is *late* (older than the newest fix already seen for its device), and the batch's
    statuses, events and rejects (an impossible-speed reject is evidence too). Returns effects
    to run in the write transaction, so evaluation results commit atomically with the fixes (and are
    retried with them). A redelivered message re-presents its fixes: hooks must be idempotent per
    (device, fix_time, seq). A hook that raises is logged and counted; the batch still commits.
    """

    __name__: str

    async def __call__(
        self,
        pings: Sequence[Ping],
        late: Sequence[bool],
        *,
        statuses: Sequence[Status],
        events: Sequence[Event],
        rejects: Sequence[Reject],
    ) -> list[TxEffect]: ...


@dataclass
class Batch:
    """One batch on its way through the stages."""

    messages: list[Inbound]
    decoded: list[Decoded] = field(default_factory=list)
    pings: list[Ping] = field(default_factory=list)
    late: list[bool] = field(default_factory=list)
    #: Fix time (epoch s) of each accepted fix, parallel to ``pings``.
    times: list[float] = field(default_factory=list)
    statuses: list[Status] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    #: Per device: skew estimate (s) after this batch's messages.
    skew: dict[str, float] = field(default_factory=dict)
    effects: list[TxEffect] = field(default_factory=list)
    #: Filled by write: fixes that were new rows (the rest were duplicates).
    stored: int = 0
    committed_at: float = 0.0


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
    hooks: list[EvaluateHook] = field(default_factory=list)
    skew: SkewTracker = field(default_factory=SkewTracker)
    #: Newest fix time seen per device (epoch s): a fix older than this is late.
    newest: dict[str, float] = field(default_factory=dict)

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
                batch.pings.append(ping)
                batch.times.append(self.checks.t)
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
        """Per device, fix-time order (already sorted by validate); mark late fixes; skew."""
        newest = self.newest
        for p, t in zip(batch.pings, batch.times, strict=True):
            prev = newest.get(p.device_id)
            batch.late.append(prev is not None and t < prev)
            if prev is None or t > prev:
                newest[p.device_id] = t
        for m, d in zip(batch.messages, batch.decoded, strict=True):
            times = [_record_time(r) for r in d.records]
            if times:
                delay = m.received_at - max(times)
                device_id = d.records[0].device_id
                batch.skew[device_id] = self.skew.add(device_id, delay)
        observe_many(self.metrics.clock_skew, list(batch.skew.values()))

    async def evaluate(self, batch: Batch) -> None:
        """Run the evaluation hooks (alerts: geofence rules and device conditions)."""
        for hook in self.hooks:
            try:
                effects = await hook(
                    batch.pings, batch.late, statuses=batch.statuses, events=batch.events,
                    rejects=batch.rejects,
                )  # fmt: skip
                batch.effects.extend(effects)
            except Exception:
                log.exception("evaluation hook failed", extra={"hook": hook.__name__})
                self.metrics.hook_errors.labels(hook.__name__).inc()

    async def write(self, batch: Batch) -> None:
        """One transaction for the batch, retried until it commits (the batch is kept)."""
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
        ("evaluate", pipeline.evaluate),
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
