"""Table-driven decoder tests over real payload samples in tests/fixtures/ingest/."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingest.decode import Decoder
from ingest.models import Event, Ping, Status

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "ingest"
RECEIVED = datetime(2025, 11, 22, 2, 0, 30, tzinfo=UTC)
V1 = "bw/v1/dev/w-0042"
OT = "owntracks/phone-7/iphone"

# (sample, topic, pings, statuses, events, reject reasons (by element index or None), ignored)
CASES = [
    ("v1_single.json", f"{V1}/loc", 1, 0, [], [], False),
    ("v1_array.json", f"{V1}/loc", 4, 0, [], [], False),
    ("v1_array_one_bad.json", f"{V1}/loc", 2, 0, [], [(1, "wrong_types")], False),
    ("v1_empty_array.json", f"{V1}/loc", 0, 0, [], [(None, "no_fixes")], False),
    ("v1_wrong_types.json", f"{V1}/loc", 0, 0, [], [(None, "wrong_types")], False),
    ("v1_truncated.json", f"{V1}/loc", 0, 0, [], [(None, "malformed_json")], False),
    ("garbage.bin", f"{V1}/loc", 0, 0, [], [(None, "malformed_json")], False),
    ("v1_status.json", f"{V1}/status", 0, 1, [], [], False),
    ("v1_event_strap_open.json", f"{V1}/event", 0, 1, ["strap_open"], [], False),
    ("v1_single.json", f"{V1}/cmd", 0, 0, [], [(None, "unknown_topic")], False),
    ("v1_single.json", "bw/v1/dev/bad id!/loc", 0, 0, [], [(None, "bad_device_id")], False),
    ("owntracks_location.json", OT, 1, 1, [], [], False),
    ("owntracks_transition.json", f"{OT}/event", 0, 0, ["transition"], [], False),
    ("owntracks_lwt.json", OT, 0, 0, ["lwt"], [], False),
    ("owntracks_waypoints.json", f"{OT}/waypoints", 0, 0, ["ignored:waypoints"], [], True),
    ("owntracks_unknown_type.json", OT, 0, 0, [], [(None, "unknown_type")], False),
    ("garbage.bin", OT, 0, 0, [], [(None, "malformed_json")], False),
    ("v1_single.json", "some/other/topic", 0, 0, [], [(None, "unknown_topic")], False),
]


@pytest.mark.parametrize(
    ("sample", "topic", "n_pings", "n_status", "events", "rejects", "ignored"),
    CASES,
    ids=[f"{c[0]}@{c[1]}" for c in CASES],
)
def test_decode_samples(
    sample: str,
    topic: str,
    n_pings: int,
    n_status: int,
    events: list[str],
    rejects: list[tuple[int | None, str]],
    ignored: bool,
) -> None:
    payload = (FIXTURES / sample).read_bytes()
    out = Decoder(max_payload_bytes=64 * 1024).decode(topic, payload, RECEIVED)
    assert sum(isinstance(r, Ping) for r in out.records) == n_pings
    assert sum(isinstance(r, Status) for r in out.records) == n_status
    assert [r.kind for r in out.records if isinstance(r, Event)] == events
    assert [(r.index, *r.reasons) for r in out.rejects] == rejects
    assert out.ignored is ignored
    assert all(r.payload == payload and r.topic == topic for r in out.rejects)


def test_v1_fix_fields_and_times() -> None:
    payload = (FIXTURES / "v1_single.json").read_bytes()
    (ping,) = Decoder(max_payload_bytes=4096).decode(f"{V1}/loc", payload, RECEIVED).records
    assert ping == Ping(
        "w-0042", datetime(2025, 11, 22, 2, 0, 0, 123000, tzinfo=UTC), 4211, RECEIVED,
        121.473701, 31.230416, 6.5, "gnss", 12.0, 1.2, 87.0, 81, 9,
    )  # fmt: skip


def test_owntracks_location_units() -> None:
    payload = (FIXTURES / "owntracks_location.json").read_bytes()
    ping, status = Decoder(max_payload_bytes=4096).decode(OT, payload, RECEIVED).records
    assert isinstance(ping, Ping)
    assert isinstance(status, Status)
    assert ping.device_id == "phone-7"
    assert ping.fix_time == datetime(2025, 11, 22, 2, 0, 0, tzinfo=UTC)
    assert ping.spd == pytest.approx(4 / 3.6)  # km/h -> m/s
    assert (status.battery_pct, status.charging) == (72, False)


def test_oversized_payload_is_refused_before_parsing() -> None:
    out = Decoder(max_payload_bytes=256).decode(f"{V1}/loc", b"[" + b" " * 300 + b"]", RECEIVED)
    assert [r.reasons for r in out.rejects] == [("oversized_payload",)]
    assert out.rejects[0].detail == {"size": 302}


def test_strap_open_event_implies_a_status_change() -> None:
    payload = (FIXTURES / "v1_event_strap_open.json").read_bytes()
    event, status = Decoder(max_payload_bytes=4096).decode(f"{V1}/event", payload, RECEIVED).records
    assert isinstance(event, Event)
    assert event.data["sensor"] == "hall"
    assert isinstance(status, Status)
    assert status.strap_closed is False
    assert status.derived
