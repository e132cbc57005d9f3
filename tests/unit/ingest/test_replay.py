"""Pure parts of the dead-letter replay (ingest.replay) and the topic's device id on rejects."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ingest.decode import Decoder, topic_device_id
from ingest.models import Reject
from ingest.pipeline import Batch
from ingest.replay import REPLAY_QOS, Claimed, messages_of, outcomes
from ingest.writer import dedup_key

RECEIVED = datetime(2026, 12, 4, 1, 0, 0, 250_000, tzinfo=UTC)
IDS = st.from_regex(r"[A-Za-z0-9_.-]{1,64}", fullmatch=True)


def row(i: int, topic: str, payload: bytes, received_at: datetime = RECEIVED) -> dict[str, Any]:
    return {"id": i, "topic": topic, "payload": payload, "received_at": received_at}


def test_one_message_per_distinct_upload_with_its_receive_time_and_no_ack() -> None:
    rows = [
        row(1, "bw/v1/dev/w1/loc", b"[1,2,3]"),
        row(2, "bw/v1/dev/w1/loc", b"[1,2,3]"),  # another element of the same upload
        row(3, "bw/v1/dev/w1/loc", b"[4]"),
    ]
    messages = messages_of(rows)
    assert [(m.topic, m.payload) for m in messages] == [
        ("bw/v1/dev/w1/loc", b"[1,2,3]"), ("bw/v1/dev/w1/loc", b"[4]"),
    ]  # fmt: skip
    assert all(m.received_at == RECEIVED.timestamp() for m in messages)
    assert all(m.qos == REPLAY_QOS == 0 for m in messages)  # sources never ack QoS 0


def test_outcome_is_the_new_reject_of_the_same_element_or_stored() -> None:
    topic, payload = "bw/v1/dev/w1/loc", b"[...]"
    again = Reject(topic, payload, RECEIVED, ("impossible_speed",), "w1", 1)
    still = Reject(topic, payload, RECEIVED, ("unassigned_device", "stale_fix"), "w1", 2)
    claimed = [
        Claimed(10, "w1", dedup_key(Reject(topic, payload, RECEIVED, ("x",), "w1", 0))),
        Claimed(11, "w1", dedup_key(again)),
        Claimed(12, "w1", dedup_key(still)),
    ]
    batch = Batch([], rejects=[again, still])
    assert outcomes(claimed, batch) == (
        [10, 11, 12],
        ["stored", "rejected", "rejected"],
        ["", "impossible_speed", "unassigned_device,stale_fix"],
    )


@given(device=IDS, kind=st.sampled_from(["loc", "status", "event", "cmd", "loc/x"]))
def test_v1_topics_name_their_device(device: str, kind: str) -> None:
    assert topic_device_id(f"bw/v1/dev/{device}/{kind}") == device


@given(user=IDS, device=st.from_regex(r"[a-z]{1,8}(/event)?", fullmatch=True))
def test_owntracks_topics_name_the_id_the_decoder_uses(user: str, device: str) -> None:
    assert topic_device_id(f"owntracks/{user}/{device}") == user


@given(topic=st.text(max_size=80))
def test_a_named_id_is_always_well_formed(topic: str) -> None:
    found = topic_device_id(topic)
    assert found is None or (found and all(c.isalnum() or c in "_.-" for c in found))
    if found is not None:
        assert f"/{found}/" in topic


@given(device=IDS, payload=st.binary(max_size=600))
def test_undecodable_bytes_keep_the_topics_device_id(device: str, payload: bytes) -> None:
    """Whatever the bytes (oversized, garbage, wrong types), every reject on a device's topic
    carries its id, so its dead letters can be found and replayed per device."""
    decoder = Decoder(max_payload_bytes=256)
    for topic in (f"bw/v1/dev/{device}/loc", f"bw/v1/dev/{device}/bogus",
                  f"bw/v1/dev/{device}/loc/extra", f"owntracks/{device}/phone"):  # fmt: skip
        out = decoder.decode(topic, payload, RECEIVED)
        assert all(r.device_id == device for r in out.rejects), (topic, out.rejects)


def test_a_bad_device_id_is_not_carried() -> None:
    out = Decoder(max_payload_bytes=256).decode("bw/v1/dev/bad id!/loc", b"{}", RECEIVED)
    assert [(r.reasons, r.device_id) for r in out.rejects] == [(("bad_device_id",), None)]
