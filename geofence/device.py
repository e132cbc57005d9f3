"""Device rules: no signal, strap open, battery critical, power off, impossible speed.

Pure functions over status samples, fixes and a clock value. ``silent_devices`` needs nothing but
``now`` and each device's last contact, so the alerts watchdog can call it on a timer: a watch that
has gone silent sends nothing that could trigger a check.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise

import numpy as np

from geofence.geodesy import geodesic_distance_m
from geofence.models import DeviceStatusSample, Fix, FixRef, RuleKind
from geofence.relation import disk_radius

DEFAULT_NO_SIGNAL_AFTER_S = 900.0
DEFAULT_BATTERY_CRITICAL_PCT = 10.0
DEFAULT_MAX_SPEED_MPS = 70.0


@dataclass(frozen=True, slots=True)
class DeviceFinding:
    """A device condition found at ``at``; ``evidence`` names the fixes behind a speed finding."""

    device_id: str
    kind: RuleKind
    at: datetime
    detail: str
    evidence: tuple[FixRef, ...] = ()


def silent_devices(
    last_seen: Mapping[str, datetime],
    limits: Mapping[str, float] | float,
    now: datetime,
) -> list[DeviceFinding]:
    """Devices whose last contact is more than their limit (seconds) before ``now``.

    ``limits`` is one limit for all devices or a per-device mapping (devices missing from it use
    ``DEFAULT_NO_SIGNAL_AFTER_S``). Sorted by device id.
    """
    found = []
    for device_id in sorted(last_seen):
        limit = (
            limits.get(device_id, DEFAULT_NO_SIGNAL_AFTER_S)
            if isinstance(limits, Mapping)
            else limits
        )
        silent_s = (now - last_seen[device_id]).total_seconds()
        if silent_s > limit:
            found.append(
                DeviceFinding(
                    device_id,
                    RuleKind.NO_SIGNAL,
                    now,
                    f"no contact for {silent_s:.0f} s (limit {limit:.0f} s)",
                )
            )
    return found


def _conditions(sample: DeviceStatusSample, battery_critical_pct: float) -> dict[RuleKind, str]:
    found: dict[RuleKind, str] = {}
    if sample.strap_closed is False:
        found[RuleKind.STRAP_OPEN] = "strap open"
    if sample.powered_on is False:
        found[RuleKind.POWER_OFF] = "powered off"
    battery = sample.battery_pct
    if battery is not None and battery <= battery_critical_pct and not sample.charging:
        found[RuleKind.BATTERY_CRITICAL] = f"battery {battery:.0f}% and not charging"
    return found


def status_findings(
    samples: Sequence[DeviceStatusSample],
    *,
    previous: Mapping[str, DeviceStatusSample] | None = None,
    battery_critical_pct: float = DEFAULT_BATTERY_CRITICAL_PCT,
) -> list[DeviceFinding]:
    """Onsets of strap open, power off and critical battery (not charging) in status samples.

    Samples are taken per device in time order; a condition is reported when it appears, not again
    while it lasts. ``previous`` is each device's last sample before these (so that a condition
    already reported is not reported again after a restart).
    """
    last: dict[str, dict[RuleKind, str]] = {
        d: _conditions(s, battery_critical_pct) for d, s in (previous or {}).items()
    }
    found = []
    for sample in sorted(samples, key=lambda s: (s.device_id, s.at)):
        now = _conditions(sample, battery_critical_pct)
        before = last.get(sample.device_id, {})
        for kind, detail in now.items():
            if kind not in before:
                found.append(DeviceFinding(sample.device_id, kind, sample.at, detail))
        last[sample.device_id] = now
    return found


def impossible_speeds(
    fixes: Sequence[Fix], *, max_speed_mps: float = DEFAULT_MAX_SPEED_MPS
) -> list[DeviceFinding]:
    """Consecutive fixes of a device that imply a speed above ``max_speed_mps`` even at best.

    The implied speed uses the geodesic distance shrunk by both fix disks (so two coarse fixes far
    apart do not count) over the time between them; fixes at the same instant are skipped.
    """
    found = []
    ordered = sorted(fixes, key=lambda f: (f.device_id, f.fix_time, f.seq))
    for a, b in pairwise(ordered):
        if a.device_id != b.device_id:
            continue
        dt = (b.fix_time - a.fix_time).total_seconds()
        if dt <= 0:
            continue
        dist = float(geodesic_distance_m(a.lon, a.lat, b.lon, b.lat))
        slack = float(disk_radius(np.asarray(a.acc)) + disk_radius(np.asarray(b.acc)))
        speed = max(0.0, dist - slack) / dt
        if speed > max_speed_mps:
            found.append(
                DeviceFinding(
                    b.device_id,
                    RuleKind.IMPOSSIBLE_SPEED,
                    b.fix_time,
                    f"at least {speed:.0f} m/s between fixes (limit {max_speed_mps:.0f} m/s)",
                    (
                        FixRef(a.device_id, a.fix_time, a.seq),
                        FixRef(b.device_id, b.fix_time, b.seq),
                    ),
                )
            )
    return found
