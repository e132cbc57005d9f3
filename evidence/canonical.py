"""One canonical byte encoding per record, so the same row always hashes to the same digest.

The encoding (specified in ``docs/evidence.md`` so the defence can re-implement it):

* UTF-8 JSON text of one object, keys sorted by code point, no insignificant whitespace
  (separators ``,`` and ``:``), non-ASCII characters written as themselves (not ``\\uXXXX``);
* ``null``, ``true``, ``false``, strings, integers (decimal, no exponent), arrays, objects;
* floats as Python's ``repr`` (the shortest text that reads back to the same IEEE-754 double, e.g.
  ``118.5``, ``37.43400001``, ``1e-07``); NaN and infinities are refused; an integral float keeps
  its ``.0`` (``118.0``), so ``118`` and ``118.0`` are different values;
* every instant as an integer count of milliseconds since 1970-01-01T00:00:00Z (UTC); a value that
  is not a whole millisecond is refused rather than rounded.

Each record carries a ``kind`` naming its type (``fix``, ``audit``, ``alert_event``,
``deposit_event``, ``seal``) so a record of one kind can never pose as another.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from json.encoder import encode_basestring
from typing import TypeAlias

from evidence.errors import CanonicalError

#: A value the canonical encoding accepts (after instants are turned into epoch milliseconds).
Value: TypeAlias = "bool | int | float | str | Sequence[Value] | Mapping[str, Value] | None"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def epoch_ms(at: datetime) -> int:
    """Milliseconds since the Unix epoch of an aware datetime; refuses naive or sub-ms values."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise CanonicalError(f"naive datetime {at.isoformat()} has no canonical instant")
    delta = at - _EPOCH
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    if micros % 1000:
        raise CanonicalError(f"{at.isoformat()} is not a whole millisecond")
    return micros // 1000


def _check(value: object, path: str) -> None:
    """Refuses anything without a canonical form, naming where it sits in the record."""
    if value is None or isinstance(value, bool | int | str):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise CanonicalError(f"{path}: {value!r} is not a finite number")
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise CanonicalError(f"{path}: key {key!r} is not a string")
            _check(item, f"{path}.{key}")
        return
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check(item, f"{path}[{i}]")
        return
    if isinstance(value, datetime):
        raise CanonicalError(f"{path}: convert datetimes with epoch_ms() first")
    raise CanonicalError(f"{path}: {type(value).__name__} has no canonical encoding")


def canonical_bytes(record: Mapping[str, Value]) -> bytes:
    """The canonical UTF-8 JSON bytes of ``record`` (see the module docstring)."""
    _check(record, "$")
    text = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def sha256(data: bytes) -> bytes:
    """SHA-256 digest (32 bytes)."""
    return hashlib.sha256(data).digest()


def content_hash(record: Mapping[str, Value]) -> bytes:
    """SHA-256 of the canonical bytes of ``record``: the digest every chain and seal is built on."""
    return sha256(canonical_bytes(record))


def float_text(v: float | None) -> str:
    """A float field as canonical JSON text (``null`` when absent)."""
    if v is None:
        return "null"
    f = float(v)
    if not math.isfinite(f):
        raise CanonicalError(f"{v!r} is not a finite number")
    return repr(f)


def int_text(v: int | None) -> str:
    """An integer field as canonical JSON text (``null`` when absent)."""
    return "null" if v is None else str(int(v))


def string_text(v: str) -> str:
    """A string as canonical JSON text (UTF-8 kept, quotes and controls escaped as ``json``)."""
    if not isinstance(v, str):
        raise CanonicalError(f"{v!r} is not a string")
    return encode_basestring(v)


def _opt_float(v: float | None) -> float | None:
    return None if v is None else float(v)


def _opt_int(v: int | None) -> int | None:
    return None if v is None else int(v)


@dataclass(frozen=True, slots=True)
class Fix:
    """One stored position fix (WGS84), as it is sealed: the row of ``pings`` minus ``case_id`` and
    ``received_at`` (our receive time is not the defendant's position and may be re-derived).

    ``fix_time_ms`` is epoch milliseconds UTC; the key order is ``(device_id, fix_time_ms, seq)``.
    """

    device_id: str
    fix_time_ms: int
    seq: int
    lon: float
    lat: float
    acc: float | None
    src: str
    alt: float | None = None
    spd: float | None = None
    hdg: float | None = None
    batt: int | None = None
    sat: int | None = None

    @property
    def key(self) -> tuple[str, int, int]:
        """The table's natural key, which also orders the leaves of a day seal."""
        return (self.device_id, self.fix_time_ms, self.seq)

    def record(self) -> dict[str, Value]:
        """The record whose canonical bytes are this fix's Merkle leaf.

        Measurements are always written as floats (an integral ``118`` becomes ``118.0``) and counts
        as integers, whatever Python type the caller held, so a round trip through CSV or GeoJSON
        gives the same bytes.
        """
        return {
            "kind": "fix",
            "device_id": self.device_id,
            "fix_time_ms": int(self.fix_time_ms),
            "seq": int(self.seq),
            "lon": float(self.lon),
            "lat": float(self.lat),
            "acc": _opt_float(self.acc),
            "src": self.src,
            "alt": _opt_float(self.alt),
            "spd": _opt_float(self.spd),
            "hdg": _opt_float(self.hdg),
            "batt": _opt_int(self.batt),
            "sat": _opt_int(self.sat),
        }

    def leaf(self) -> bytes:
        """The canonical bytes hashed as this fix's Merkle leaf: exactly
        ``canonical_bytes(self.record())``, written out field by field because a year's track is
        half a million leaves (the tests hold the two equal)."""
        return (
            f'{{"acc":{float_text(self.acc)},"alt":{float_text(self.alt)},"batt":{int_text(self.batt)},'
            f'"device_id":{string_text(self.device_id)},"fix_time_ms":{int(self.fix_time_ms)},'
            f'"hdg":{float_text(self.hdg)},"kind":"fix","lat":{float_text(self.lat)},'
            f'"lon":{float_text(self.lon)},"sat":{int_text(self.sat)},"seq":{int(self.seq)},'
            f'"spd":{float_text(self.spd)},"src":{string_text(self.src)}}}'
        ).encode()


def audit_record(
    *,
    at_ms: int,
    actor: str,
    action: str,
    case_id: int | None,
    purpose: str | None,
    detail: Mapping[str, Value],
) -> dict[str, Value]:
    """An audit row (a read of positions or a decision) as a canonical record."""
    return {
        "kind": "audit",
        "at_ms": at_ms,
        "actor": actor,
        "action": action,
        "case_id": case_id,
        "purpose": purpose,
        "detail": dict(detail),
    }


def alert_event_record(
    *,
    alert_id: int,
    at_ms: int,
    event: str,
    actor: str | None,
    detail: Mapping[str, Value],
) -> dict[str, Value]:
    """One step of an alert's lifecycle (raised, acknowledged, disposed, ...) as a record."""
    return {
        "kind": "alert_event",
        "alert_id": alert_id,
        "at_ms": at_ms,
        "event": event,
        "actor": actor,
        "detail": dict(detail),
    }


def deposit_event_record(
    *,
    deposit_id: int,
    at_ms: int,
    event: str,
    amount_fen: int,
    actor: str | None,
    detail: Mapping[str, Value],
) -> dict[str, Value]:
    """A deposit or escrow event; money is an integer number of fen, never a float."""
    return {
        "kind": "deposit_event",
        "deposit_id": deposit_id,
        "at_ms": at_ms,
        "event": event,
        "amount_fen": amount_fen,
        "actor": actor,
        "detail": dict(detail),
    }
