"""Validate stage: small named checks over decoded records; every failing check is a reason.

A fix (``Ping``) is refused with all the reasons that apply (``PING_CHECKS``, in this order), and
a status or event from a device we do not know is refused as ``unknown_device``. Refused records
become dead letters (with the original payload) and are counted per reason; the others of the
same message go on. The only state is the last accepted fix per device, for the speed check.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from ingest.directory import DeviceDirectory
from ingest.models import Ping, Reject

_EARTH_RADIUS_M = 6_371_008.8

#: Radius of a fix's position disk in units of its reported accuracy. ``acc`` is a 68% radius
#: (the device contract): a third of honest fixes lie outside it, so it cannot bound a jump. Two
#: of it hold ~99% of a Gaussian error and ~95% of real ones; the geofence engine calls a fix
#: certain at the same radius (``geofence.relation.K_SIGMA``, kept equal by a test).
ACC_DISK_FACTOR = 2.0


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in metres between two WGS84 points in degrees."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True)
class Limits:
    """Thresholds (from ``IngestSettings``): seconds, days, metres per second."""

    future_tolerance_s: float
    max_age_days: float
    max_speed_mps: float


@dataclass(slots=True)
class Anchor:
    """The reference fix of a device for the speed check, and refusals in a row against it."""

    t: float
    lat: float
    lon: float
    acc: float
    strikes: int = 0


@dataclass
class CheckContext:
    """What the checks read: limits, the device directory, the speed anchors, and the fix
    under check's times (set by :func:`check_ping` once, so each check does not recompute)."""

    limits: Limits
    directory: DeviceDirectory
    anchors: dict[str, Anchor] = field(default_factory=dict)
    #: Fix time of the fix under check, epoch seconds.
    t: float = 0.0
    #: Receive time minus fix time of the fix under check, seconds.
    age: float = 0.0


PingCheck = Callable[[Ping, CheckContext], bool]


def coords_out_of_range(p: Ping, ctx: CheckContext) -> bool:
    """Latitude outside [-90, 90] or longitude outside [-180, 180] (or not a finite number)."""
    return not (-90.0 <= p.lat <= 90.0 and -180.0 <= p.lon <= 180.0)


def null_island(p: Ping, ctx: CheckContext) -> bool:
    """Exactly (0, 0): the position of a receiver that has no fix."""
    return p.lat == 0.0 and p.lon == 0.0


def future_fix(p: Ping, ctx: CheckContext) -> bool:
    """Fix time later than receipt by more than the clock-skew tolerance."""
    return -ctx.age > ctx.limits.future_tolerance_s


def stale_fix(p: Ping, ctx: CheckContext) -> bool:
    """Fix time older than the horizon (watches buffer days, not months)."""
    return ctx.age > ctx.limits.max_age_days * 86_400


def unknown_device(p: Ping, ctx: CheckContext) -> bool:
    """Not in ``devices``, or retired."""
    return ctx.directory.get(p.device_id) is None


def unassigned_device(p: Ping, ctx: CheckContext) -> bool:
    """Known, but assigned to no case at the fix's time."""
    entry = ctx.directory.get(p.device_id)
    return entry is not None and entry.case_at(ctx.t) is None


#: After this many refusals in a row against one anchor, the anchor itself is presumed wrong
#: (an accepted outlier) and moves to the latest refused fix, so a track cannot be locked out.
MAX_STRIKES = 3


def impossible_speed(p: Ping, ctx: CheckContext) -> bool:
    """Faster than ``max_speed_mps`` from the device's anchor fix, after subtracting both fix
    disks (``ACC_DISK_FACTOR`` times the accuracy: a coarse LBS fix, off by more than its 68%
    radius as often as not, does not count as a jump). Uses |dt|, at least 1 s."""
    anchor = ctx.anchors.get(p.device_id)
    if anchor is None:
        return False
    dt = max(abs(ctx.t - anchor.t), 1.0)
    slack = ACC_DISK_FACTOR * (anchor.acc + (p.acc or 0.0))
    dist = distance_m(anchor.lat, anchor.lon, p.lat, p.lon) - slack
    return dist / dt > ctx.limits.max_speed_mps


#: The checks of a fix, in order; the name is the reason stored and counted.
PING_CHECKS: tuple[tuple[str, PingCheck], ...] = (
    ("coords_out_of_range", coords_out_of_range),
    ("null_island", null_island),
    ("future_fix", future_fix),
    ("stale_fix", stale_fix),
    ("unknown_device", unknown_device),
    ("unassigned_device", unassigned_device),
    ("impossible_speed", impossible_speed),
)


def check_ping(p: Ping, ctx: CheckContext) -> tuple[str, ...]:
    """Every reason ``p`` is refused (empty: accepted); moves the speed anchor."""
    ctx.t = t = p.fix_time.timestamp()
    ctx.age = p.received_at.timestamp() - t
    reasons = tuple([name for name, check in PING_CHECKS if check(p, ctx)])
    _move_anchor(p, reasons, ctx)
    return reasons


def _move_anchor(p: Ping, reasons: tuple[str, ...], ctx: CheckContext) -> None:
    t = ctx.t
    anchor = ctx.anchors.get(p.device_id)
    if not reasons:
        if anchor is None or t >= anchor.t:
            ctx.anchors[p.device_id] = Anchor(t, p.lat, p.lon, p.acc or 0.0)
        elif anchor is not None:
            anchor.strikes = 0
    elif reasons == ("impossible_speed",) and anchor is not None:
        anchor.strikes += 1
        if anchor.strikes >= MAX_STRIKES:
            ctx.anchors[p.device_id] = Anchor(t, p.lat, p.lon, p.acc or 0.0)


def ping_reject(p: Ping, reasons: tuple[str, ...], topic: str, payload: bytes,
                index: int | None) -> Reject:  # fmt: skip
    """The dead letter of a refused fix: the message's bytes, which element, the values."""
    detail = {"fix_time": p.fix_time.isoformat(), "seq": p.seq, "lat": p.lat, "lon": p.lon}
    return Reject(topic, payload, p.received_at, reasons, p.device_id, index, detail)


def sort_key(p: Ping) -> tuple[str, datetime, int]:
    """Per device, fix-time order (then seq): the order checks and evaluation see fixes in."""
    return (p.device_id, p.fix_time, p.seq)


def order_for_checks(pings: Sequence[tuple[int, Ping]]) -> list[tuple[int, Ping]]:
    """(position, ping) pairs sorted by :func:`sort_key`."""
    return sorted(pings, key=lambda item: sort_key(item[1]))
