"""Decode stage: ``(topic, payload, received_at) -> Decoded``. Pure, and never raises.

Routes by topic to the v1 contract (``bw/v1/dev/{id}/loc|status|event``) or OwnTracks
(``owntracks/{user}/{device}[/...]``). Everything that cannot become a record becomes a
:class:`~ingest.models.Reject` with a reason: ``oversized_payload``, ``unknown_topic``,
``bad_device_id``, ``malformed_json``, ``wrong_types``, ``no_fixes``, ``unknown_type``.
In an array, each bad element is rejected on its own and the good ones are kept. Every reject
whose topic names a well-formed device id carries it (:func:`topic_device_id`), however
undecodable the bytes, so a device's dead letters can be found (and replayed) per device.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from geofence.models import utc_from_ms
from ingest import owntracks, v1
from ingest.models import Decoded, Event, Ping, Reject, Status

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DEVICE_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
V1_PREFIX = "bw/v1/dev/"
OWNTRACKS_PREFIX = "owntracks/"
#: Topic filters (without ``$share/{group}/``) the ingester subscribes to.
TOPIC_FILTERS = (
    "bw/v1/dev/+/loc",
    "bw/v1/dev/+/status",
    "bw/v1/dev/+/event",
    "owntracks/#",
)


def s_to_dt(s: int) -> datetime:
    """Epoch seconds to an aware UTC datetime."""
    return _EPOCH + timedelta(seconds=s)


def topic_device_id(topic: str) -> str | None:
    """The device id a topic names (``bw/v1/dev/{id}/...``, ``owntracks/{id}/...``, the id the
    decoders use), if it is well formed; else None. Pure."""
    if topic.startswith(V1_PREFIX):
        parts = topic.split("/", 4)
        candidate = parts[3] if len(parts) > 3 else ""
    elif topic.startswith(OWNTRACKS_PREFIX):
        parts = topic.split("/", 2)
        candidate = parts[1] if len(parts) > 2 and parts[2] else ""
    else:
        return None
    return candidate if _DEVICE_ID.match(candidate) else None


class Decoder:
    """Payload decoder with its size limit; one instance per process, reusable, stateless."""

    def __init__(self, *, max_payload_bytes: int) -> None:
        self.max_payload_bytes = max_payload_bytes

    def decode(self, topic: str, payload: bytes, received_at: datetime) -> Decoded:
        """Records and rejects of one message; never raises on any input."""
        try:
            return self._decode(topic, payload, received_at)
        except Exception as exc:  # a decoder bug must not lose the message: dead-letter it
            return _reject(topic, payload, received_at, "decoder_error",
                           device_id=topic_device_id(topic), error=repr(exc))  # fmt: skip

    def _decode(self, topic: str, payload: bytes, received_at: datetime) -> Decoded:
        if len(payload) > self.max_payload_bytes:
            return _reject(topic, payload, received_at, "oversized_payload",
                           device_id=topic_device_id(topic), size=len(payload))  # fmt: skip
        if topic.startswith(V1_PREFIX):
            parts = topic.split("/")
            if len(parts) != 5:
                return _reject(topic, payload, received_at, "unknown_topic",
                               device_id=topic_device_id(topic))  # fmt: skip
            device_id, kind = parts[3], parts[4]
            if not _DEVICE_ID.match(device_id):
                return _reject(topic, payload, received_at, "bad_device_id")
            if kind == "loc":
                return _decode_loc(topic, payload, received_at, device_id)
            if kind == "status":
                return _decode_status(topic, payload, received_at, device_id)
            if kind == "event":
                return _decode_event(topic, payload, received_at, device_id)
            return _reject(topic, payload, received_at, "unknown_topic", device_id=device_id)
        if topic.startswith(OWNTRACKS_PREFIX):
            parts = topic.split("/")
            if len(parts) < 3 or not parts[2]:
                return _reject(topic, payload, received_at, "unknown_topic",
                               device_id=topic_device_id(topic))  # fmt: skip
            if not _DEVICE_ID.match(parts[1]):
                return _reject(topic, payload, received_at, "bad_device_id")
            return _decode_owntracks(topic, payload, received_at, parts[1])
        return _reject(topic, payload, received_at, "unknown_topic")


def _reject(
    topic: str,
    payload: bytes,
    received_at: datetime,
    reason: str,
    *,
    device_id: str | None = None,
    index: int | None = None,
    **detail: Any,
) -> Decoded:
    return Decoded(
        rejects=[Reject(topic, payload, received_at, (reason,), device_id, index, detail)]
    )


def _fix_to_ping(device_id: str, f: v1.Fix, received_at: datetime) -> Ping:
    return Ping(
        device_id, utc_from_ms(f.ts), f.seq, received_at, f.lon, f.lat, f.acc, f.src,
        f.alt, f.spd, f.hdg, f.batt, f.sat,
    )  # fmt: skip


def _decode_loc(topic: str, payload: bytes, received_at: datetime, device_id: str) -> Decoded:
    try:
        fixes = v1.LOC_DECODER.decode(payload)
    except msgspec.ValidationError:
        return _decode_loc_slowly(topic, payload, received_at, device_id)
    except msgspec.DecodeError as exc:
        return _reject(topic, payload, received_at, "malformed_json", device_id=device_id,
                       error=str(exc))  # fmt: skip
    if isinstance(fixes, v1.Fix):
        return Decoded(records=[_fix_to_ping(device_id, fixes, received_at)])
    if not fixes:
        return _reject(topic, payload, received_at, "no_fixes", device_id=device_id)
    return Decoded(
        records=[_fix_to_ping(device_id, f, received_at) for f in fixes],
        positions=list(range(len(fixes))),
    )


def _decode_loc_slowly(
    topic: str, payload: bytes, received_at: datetime, device_id: str
) -> Decoded:
    """Typed decoding failed: keep the good elements of an array, reject the others one by one."""
    raw = v1.ANY_DECODER.decode(payload)
    if not isinstance(raw, list):
        try:
            msgspec.convert(raw, v1.Fix)
        except msgspec.ValidationError as exc:
            return _reject(topic, payload, received_at, "wrong_types", device_id=device_id,
                           error=str(exc))  # fmt: skip
        return _reject(topic, payload, received_at, "wrong_types", device_id=device_id)
    out = Decoded(positions=[])
    for i, element in enumerate(raw):
        try:
            fix = msgspec.convert(element, v1.Fix)
        except msgspec.ValidationError as exc:
            out.rejects.append(
                Reject(
                    topic, payload, received_at, ("wrong_types",), device_id, i, {"error": str(exc)}
                )
            )
        else:
            out.records.append(_fix_to_ping(device_id, fix, received_at))
            out.positions.append(i)  # type: ignore[union-attr]
    return out


def _decode_status(topic: str, payload: bytes, received_at: datetime, device_id: str) -> Decoded:
    try:
        s = v1.STATUS_DECODER.decode(payload)
    except msgspec.ValidationError as exc:
        return _reject(topic, payload, received_at, "wrong_types", device_id=device_id,
                       error=str(exc))  # fmt: skip
    except msgspec.DecodeError as exc:
        return _reject(topic, payload, received_at, "malformed_json", device_id=device_id,
                       error=str(exc))  # fmt: skip
    strap = None if s.strap is None else s.strap == "closed"
    status = Status(device_id, utc_from_ms(s.ts), received_at, s.batt, s.charging, strap,
                    s.signal, s.fw)  # fmt: skip
    return Decoded(records=[status])


def _decode_event(topic: str, payload: bytes, received_at: datetime, device_id: str) -> Decoded:
    try:
        e = v1.EVENT_DECODER.decode(payload)
    except msgspec.ValidationError as exc:
        return _reject(topic, payload, received_at, "wrong_types", device_id=device_id,
                       error=str(exc))  # fmt: skip
    except msgspec.DecodeError as exc:
        return _reject(topic, payload, received_at, "malformed_json", device_id=device_id,
                       error=str(exc))  # fmt: skip
    at = utc_from_ms(e.ts)
    data: dict[str, Any] = dict(e.data)
    if e.lat is not None and e.lon is not None:
        data.update(lat=e.lat, lon=e.lon, acc=e.acc)
    records: list[Ping | Status | Event] = [Event(device_id, at, e.kind, received_at, "v1", data)]
    if e.kind == "strap_open":
        records.append(Status(device_id, at, received_at, strap_closed=False, derived=True))
    return Decoded(records=records)


def _decode_owntracks(topic: str, payload: bytes, received_at: datetime, device_id: str) -> Decoded:
    try:
        msg = owntracks.DECODER.decode(payload)
    except msgspec.ValidationError as exc:
        return _owntracks_other(topic, payload, received_at, device_id, str(exc))
    except msgspec.DecodeError as exc:
        return _reject(topic, payload, received_at, "malformed_json", device_id=device_id,
                       error=str(exc))  # fmt: skip
    if isinstance(msg, owntracks.Location):
        spd = None if msg.vel is None else msg.vel / 3.6
        ping = Ping(device_id, s_to_dt(msg.tst), msg.tst, received_at, msg.lon, msg.lat,
                    msg.acc, "gnss", msg.alt, spd, msg.cog, msg.batt, None)  # fmt: skip
        records: list[Ping | Status | Event] = [ping]
        if msg.batt is not None or msg.bs is not None:
            charging = None if msg.bs is None else msg.bs in (2, 3)
            records.append(Status(device_id, ping.fix_time, received_at, msg.batt, charging))
        return Decoded(records=records)
    if isinstance(msg, owntracks.Transition):
        data = {k: v for k, v in msgspec.structs.asdict(msg).items() if v is not None}
        at = s_to_dt(msg.tst)
        return Decoded(records=[Event(device_id, at, "transition", received_at, "owntracks", data)])
    return Decoded(
        records=[Event(device_id, s_to_dt(msg.tst), "lwt", received_at, "owntracks", {})]
    )


def _owntracks_other(
    topic: str, payload: bytes, received_at: datetime, device_id: str, error: str
) -> Decoded:
    """Not a location/transition/lwt we can read: a known ignored type, or a reject."""
    raw = v1.ANY_DECODER.decode(payload)
    kind = raw.get("_type") if isinstance(raw, dict) else None
    if isinstance(kind, str) and kind in owntracks.IGNORED_TYPES:
        tst = raw.get("tst")
        at = s_to_dt(tst) if type(tst) is int and 0 <= tst <= 253_402_300_799 else received_at
        event = Event(device_id, at, f"ignored:{kind}", received_at, "owntracks", {"_type": kind})
        return Decoded(records=[event], ignored=True)
    if kind in ("location", "transition", "lwt"):
        return _reject(topic, payload, received_at, "wrong_types", device_id=device_id,
                       error=error)  # fmt: skip
    return _reject(topic, payload, received_at, "unknown_type", device_id=device_id,
                   type=str(kind)[:64])  # fmt: skip
