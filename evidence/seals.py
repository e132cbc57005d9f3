"""Day seals: per device and calendar day, the Merkle root over that day's fixes in key order.

A seal record (canonical, ``kind`` = ``seal``) names the device, the day (in the case's zone), the
half-open instant range ``[from_ms, to_ms)`` that day covers (so a verifier needs no time-zone
data), how many fixes it covers and their Merkle root (hex). Each device's seals form a hash chain
(``evidence.chain``) in the order they were made. A late fix that arrives after its day was sealed
is recorded by a new seal of the same day later in the chain (an amendment): the latest seal of a
device-day is the one the track must match; the earlier ones stay in the chain, never changed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from evidence import chain, merkle
from evidence.canonical import Fix, Value, content_hash


@dataclass(frozen=True, slots=True)
class Seal:
    """One day seal of one device, with its link in the device's seal chain."""

    device_id: str
    day: str
    from_ms: int
    to_ms: int
    count: int
    root: str
    link: str

    def record(self) -> dict[str, Value]:
        """The sealed content (everything but the link) as a canonical record."""
        return {
            "kind": "seal",
            "device_id": self.device_id,
            "day": self.day,
            "from_ms": self.from_ms,
            "to_ms": self.to_ms,
            "count": self.count,
            "root": self.root,
        }


def day_bounds(day: date, zone: tzinfo) -> tuple[int, int]:
    """``[from_ms, to_ms)`` of a calendar day in ``zone`` (23 or 25 hours long across DST)."""
    start = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return (start - epoch) // timedelta(milliseconds=1), (end - epoch) // timedelta(milliseconds=1)


def local_day(fix_time_ms: int, zone: tzinfo) -> date:
    """The calendar day in ``zone`` of an instant given in epoch milliseconds."""
    at = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=fix_time_ms)
    return at.astimezone(zone).date()


def day_root(fixes: Iterable[Fix]) -> tuple[int, bytes]:
    """How many fixes and the Merkle root over their canonical leaves, sorted by key first."""
    leaves = [f.leaf() for f in sorted(fixes, key=lambda f: f.key)]
    return len(leaves), merkle.root(leaves)


def seal_days(
    fixes: Iterable[Fix],
    zone: tzinfo,
    starts: Mapping[str, bytes] | None = None,
) -> list[Seal]:
    """Seals every device-day present in ``fixes``, chained per device in day order.

    ``starts`` gives a device's last seal link before these (GENESIS when absent). This is the pure
    step of the nightly seal job: it is given only days past the late-data horizon.
    """
    by_day: dict[tuple[str, date], list[Fix]] = defaultdict(list)
    for f in fixes:
        by_day[(f.device_id, local_day(f.fix_time_ms, zone))].append(f)
    previous = dict(starts or {})
    seals: list[Seal] = []
    for device_id, day in sorted(by_day):
        seal = make_seal(
            device_id, day, zone, by_day[(device_id, day)], previous.get(device_id, chain.GENESIS)
        )
        previous[device_id] = bytes.fromhex(seal.link)
        seals.append(seal)
    return seals


def make_seal(
    device_id: str, day: date, zone: tzinfo, fixes: Sequence[Fix], previous: bytes
) -> Seal:
    """The seal of one device-day following ``previous`` in the device's chain (also used for an
    amendment: the same day sealed again over all its fixes, late ones included)."""
    from_ms, to_ms = day_bounds(day, zone)
    count, root = day_root(fixes)
    draft = Seal(device_id, day.isoformat(), from_ms, to_ms, count, root.hex(), link="")
    return Seal(
        device_id,
        draft.day,
        from_ms,
        to_ms,
        count,
        draft.root,
        chain.link(previous, content_hash(draft.record())).hex(),
    )
