"""Pure parts of the pipeline: stage order, per-device order and lateness, status rows, acks."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from broker.client import Inbound
from ingest.decode import Decoder
from ingest.directory import DeviceDirectory
from ingest.metrics import IngestMetrics
from ingest.models import Ping, Status
from ingest.pipeline import Batch, Pipeline, build_stages
from ingest.validate import CheckContext, Limits
from ingest.writer import BatchWriter, _status_rows, dedup_key

T0 = datetime(2025, 11, 22, 2, 0, tzinfo=UTC)


class FakeSource:
    """A MessageSource that records acks."""

    def __init__(self) -> None:
        self.acked: list[int] = []
        self.depth = 0
        self.connected = True

    def ack(self, messages: Sequence[Inbound]) -> int:
        self.acked.extend(m.mid for m in messages)
        return len(messages)


class EmptyDatabase:
    """A Database whose connection knows no devices (directory look-ups find nothing)."""

    class Conn:
        async def fetch(self, sql: str, *args: object) -> list[object]:
            return []

    async def run(self, fn: Any, *, dedicated: bool = True) -> Any:
        return await fn(self.Conn())


def pipeline(source: Any = None) -> Pipeline:
    directory = DeviceDirectory(ttl_s=60, negative_ttl_s=5)
    directory.put("w1", assignments=((0.0, math.inf, 1),))
    return Pipeline(
        decoder=Decoder(max_payload_bytes=4096), directory=directory,
        checks=CheckContext(Limits(300, 30, 150), directory), metrics=IngestMetrics(),
        source=source or FakeSource(), db=EmptyDatabase(), writer=BatchWriter(),  # type: ignore[arg-type]
    )  # fmt: skip


def ping(seconds: int, seq: int, device: str = "w1") -> Ping:
    t = T0 + timedelta(seconds=seconds)
    return Ping(device, t, seq, T0 + timedelta(seconds=600), 121.47, 31.23, 5.0, "gnss")


def test_the_stage_list_documents_the_pipeline() -> None:
    names = [name for name, _ in build_stages(pipeline())]
    assert names == ["decode", "validate", "order", "write", "ack"]


async def test_accepted_fixes_keep_their_arrival_order() -> None:
    """A watch's current fix, then its offline buffer (two messages, one batch): evaluation gets
    them in the order they arrived, not sorted by fix time (lateness is judged from it)."""
    p = pipeline()
    now = int(time.time()) * 1000
    current = [{"ts": now, "lat": 31.23, "lon": 121.47, "acc": 5, "src": "gnss", "seq": 9}]
    buffer = [
        {"ts": now - 60_000 * k, "lat": 31.23, "lon": 121.47, "acc": 5, "src": "gnss", "seq": 9 - k}
        for k in (3, 2, 1)
    ]
    msgs = [
        Inbound("bw/v1/dev/w1/loc", json.dumps(body).encode(), mid, 1, now / 1000 + 1, 1)
        for mid, body in ((1, current), (2, buffer))
    ]
    batch = Batch(messages=msgs)
    await p.decode(batch)
    await p.validate(batch)
    assert not batch.rejects, batch.rejects
    assert [x.seq for x in batch.pings] == [9, 6, 7, 8]
    assert batch.times == [x.fix_time.timestamp() for x in batch.pings]


def test_status_row_takes_newest_fix_and_merges_statuses_in_device_time() -> None:
    batch = Batch(messages=[])
    batch.pings = [ping(300, 3), ping(100, 1), ping(200, 2)]
    batch.statuses = [
        Status("w1", T0 + timedelta(seconds=50), T0, battery_pct=80, firmware="1.0"),
        Status("w1", T0 + timedelta(seconds=10), T0, battery_pct=99, charging=True),
        Status("w1", T0 + timedelta(seconds=60), T0, strap_closed=False, derived=True),
    ]
    (row,) = _status_rows(batch)
    assert row[2] == T0 + timedelta(seconds=300)  # last fix: newest fix time
    assert row[7] == T0 + timedelta(seconds=60)  # last status time
    assert row[8:13] == (80, True, False, None, "1.0")


async def test_ack_acknowledges_every_message_of_the_batch() -> None:
    source = FakeSource()
    p = pipeline(source)
    msgs = [Inbound("bw/v1/dev/w1/loc", b"{}", mid, 1, 0.0, 1) for mid in (7, 8, 9)]
    await p.ack(Batch(messages=msgs))
    assert source.acked == [7, 8, 9]


def test_dead_letter_key_is_per_message_and_element() -> None:
    from ingest.models import Reject

    a = Reject("t", b"x", T0, ("malformed_json",))
    assert dedup_key(a) == dedup_key(Reject("t", b"x", T0 + timedelta(seconds=5), ("other",)))
    assert dedup_key(a) != dedup_key(Reject("t", b"x", T0, ("wrong_types",), index=0))
    assert dedup_key(a) != dedup_key(Reject("u", b"x", T0, ("malformed_json",)))


def test_observe_many_matches_observe() -> None:
    from prometheus_client import CollectorRegistry, Histogram

    from ingest.metrics import observe_many

    values = [0.01, 0.5, 0.5, 3.0, 99.0, 1e9, 0.25]
    one, many = CollectorRegistry(), CollectorRegistry()
    h1 = Histogram("h", "h", buckets=(0.1, 0.5, 1, 10, 100), registry=one)
    h2 = Histogram("h", "h", buckets=(0.1, 0.5, 1, 10, 100), registry=many)
    for v in values:
        h1.observe(v)
    observe_many(h2, values)

    def samples(r: CollectorRegistry) -> list[tuple[str, dict[str, str], float]]:
        return [(s.name, s.labels, s.value) for m in r.collect() for s in m.samples
                if not s.name.endswith("_created")]  # fmt: skip

    assert samples(one) == samples(many)


async def test_outcomes_and_reasons_are_counted_per_message() -> None:
    p = pipeline()
    fix = b'{"ts":%d,"lat":31.2,"lon":121.4,"acc":5,"src":"gnss","seq":%d}'
    now = int(T0.timestamp() * 1000)
    msgs = [
        Inbound("bw/v1/dev/w1/loc", fix % (now, 1), 1, 1, T0.timestamp(), 1),
        Inbound("bw/v1/dev/w1/loc", b"[" + fix % (now + 1, 2) + b',{"ts":1}]', 2, 1,
                T0.timestamp(), 1),
        Inbound("bw/v1/dev/ghost/status", b'{"ts":%d}' % now, 3, 1, T0.timestamp(), 1),
        Inbound("bw/v1/dev/w1/loc", b"nope", 4, 1, T0.timestamp(), 1),
    ]  # fmt: skip
    batch = Batch(msgs)
    await p.decode(batch)
    await p.validate(batch)
    got = {
        s.labels["outcome"]: s.value
        for m in p.metrics.registry.collect() if m.name == "bailwatch_ingest_messages"
        for s in m.samples if s.name.endswith("_total")
    }  # fmt: skip
    assert got == {"stored": 1, "partial": 1, "rejected": 2}
    assert sorted(r.reasons[0] for r in batch.rejects) == [
        "malformed_json", "unknown_device", "wrong_types",
    ]  # fmt: skip
