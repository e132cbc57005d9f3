"""Fuzz decode + validate: no exception escapes, every input is stored or dead-lettered."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.decode import Decoder
from ingest.directory import DeviceDirectory
from ingest.models import Ping
from ingest.validate import CheckContext, Limits, check_ping

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "ingest"
SAMPLES = [p.read_bytes() for p in sorted(FIXTURES.iterdir())]
TOPICS = ["bw/v1/dev/w1/loc", "bw/v1/dev/w1/status", "bw/v1/dev/w1/event",
          "owntracks/w1/phone", "owntracks/w1/phone/event", "bw/v1/dev/w1", "x"]  # fmt: skip
RECEIVED = datetime(2025, 11, 22, 2, 0, 30, tzinfo=UTC)
DECODER = Decoder(max_payload_bytes=4096)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=5)
    ),
    max_leaves=12,
)


@st.composite
def mutated_samples(draw: st.DrawFn) -> bytes:
    """A valid sample with fields replaced, dropped or added, or its bytes cut or flipped."""
    raw = draw(st.sampled_from(SAMPLES))
    how = draw(st.sampled_from(["fields", "truncate", "flip"]))
    if how == "truncate":
        return raw[: draw(st.integers(0, len(raw)))]
    if how == "flip":
        i = draw(st.integers(0, max(len(raw) - 1, 0)))
        return raw[:i] + bytes([draw(st.integers(0, 255))]) + raw[i + 1 :]
    try:
        doc = json.loads(raw)
    except ValueError:
        return raw
    items = doc if isinstance(doc, list) else [doc]
    for item in items:
        if isinstance(item, dict) and item:
            key = draw(st.sampled_from(sorted(item)))
            if draw(st.booleans()):
                item[key] = draw(json_values)
            else:
                del item[key]
    return json.dumps(doc, allow_nan=True).encode()


def context() -> CheckContext:
    directory = DeviceDirectory(ttl_s=60, negative_ttl_s=5)
    directory.put("w1", assignments=((0.0, math.inf, 1),))
    return CheckContext(Limits(300, 30, 150), directory)


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(topic=st.sampled_from(TOPICS), payload=st.binary(max_size=600) | mutated_samples())
def test_every_input_is_stored_or_dead_lettered(topic: str, payload: bytes) -> None:
    out = DECODER.decode(topic, payload, RECEIVED)
    assert out.records or out.rejects, "nothing may vanish"
    ctx = context()
    for record in out.records:
        if isinstance(record, Ping):
            reasons = check_ping(record, ctx)
            assert all(isinstance(r, str) for r in reasons)
    for reject in out.rejects:
        assert reject.reasons
        assert reject.payload == payload
        assert reject.topic == topic
