"""Device rules: how a case's watch is watched for no signal, strap opened, battery critical,
power off and impossible movement at a given moment. Pure.

Every active case is watched for all five conditions by default: no signal after the case's own
limit (``cases.no_signal_limit_s``), battery critical at or below the deployment's threshold
(``AlertsSettings.battery_critical_pct``), strap opened and powered off always, impossible movement
whenever ingest refuses a fix as faster than its global limit (``IngestSettings.max_speed_mps``).

A case rule of one of these kinds (``case_rules.kind`` no_signal, strap_open, battery_critical,
power_off, impossible_speed) replaces the default of its kind while it applies, that is while it
is active and the moment judged lies in ``[valid_from, valid_to)``:

- its threshold parameter, when given, replaces the default threshold (no_signal
  ``no_signal_after_s`` seconds, battery_critical ``battery_critical_pct`` percent,
  impossible_speed ``max_speed_mps`` metres a second); without one the default threshold stays;
- its severity, when given, replaces the alert kind's default severity;
- ``enabled: false`` switches the condition off for the rule's period (a known faulty strap
  sensor until the watch is replaced, a hospital stay with the watch off): the condition is
  then never said to hold, so an open one clears at the device's next report, and nothing new
  opens. Switching a default off takes a rule an officer has to create, with its period, and it
  stays on the case's record;
- of several rules of one kind that apply at the same moment, the newest (highest id) decides:
  a later order supersedes an earlier one;
- an approved leave permit that names the rule (``suspended_rule_ids``) switches it off for the
  permit's window ``[window_start, window_end)`` (ended early when the permit is cancelled),
  as ``enabled: false`` would: a medical procedure that needs the strap open, a stay where the
  watch cannot report. The defaults have no rule to name, so a permit relaxes a device condition
  only through a rule of the case.

A rule is judged at the moment of the observation it is applied to: a status or fix at its own
device time (so a watch's offline buffer uploaded late is judged by the rules of the time it was
recorded), the no-signal watchdog at the time it runs.

Impossible movement with a case's ``max_speed_mps`` lowers only the *alerting* threshold: ingest
still stores every fix it accepts and refuses (quarantines) only fixes faster than its global
limit, which always count as impossible movement while the condition is enabled. An accepted fix
whose implied speed from the fix stored just before it (in fix time) exceeds the case's limit
opens the condition too. A case limit above the ingest limit therefore changes nothing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import numpy as np

from geofence.errors import RuleError
from geofence.geodesy import geodesic_distance_m
from geofence.models import LeavePermit, RuleKind, Severity
from geofence.relation import disk_radius

#: The device rule kinds (the rest are positional, evaluated by the engine).
DEVICE_KINDS = frozenset(
    {
        RuleKind.NO_SIGNAL,
        RuleKind.STRAP_OPEN,
        RuleKind.BATTERY_CRITICAL,
        RuleKind.POWER_OFF,
        RuleKind.IMPOSSIBLE_SPEED,
    }
)

#: The parameter that sets each thresholded kind's threshold, and its allowed range (inclusive).
THRESHOLDS: Mapping[RuleKind, tuple[str, float, float]] = {
    RuleKind.NO_SIGNAL: ("no_signal_after_s", 1.0, 30 * 86_400.0),
    RuleKind.BATTERY_CRITICAL: ("battery_critical_pct", 0.0, 100.0),
    RuleKind.IMPOSSIBLE_SPEED: ("max_speed_mps", 1.0, 1_000.0),
}

#: The smallest step of a ``datetime``: "just before" a moment.
_INSTANT = timedelta(microseconds=1)

#: The parameter that switches a condition off (``false``) for the rule's period.
ENABLED = "enabled"

#: Shortest time step (s) a speed is measured over: two fixes taken a few milliseconds apart
#: differ by their noise, not by movement, and must not divide it into a speed.
MIN_STEP_S = 1.0


@dataclass(frozen=True, slots=True)
class DeviceRule:
    """One case rule of a device kind, as it watches the case while it applies.

    ``threshold`` is in the unit of the kind's parameter (None: the default threshold);
    ``severity`` None keeps the alert kind's default; ``valid_to`` is exclusive.
    """

    rule_id: int
    kind: RuleKind
    enabled: bool = True
    threshold: float | None = None
    severity: Severity | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    #: ``[start, end)`` windows of approved leave permits naming the rule (it is off then).
    suspended: tuple[tuple[datetime, datetime], ...] = ()

    def applies_at(self, at: datetime) -> bool:
        """Whether ``at`` lies in the rule's validity period ``[valid_from, valid_to)``."""
        return (self.valid_from is None or self.valid_from <= at) and (
            self.valid_to is None or at < self.valid_to
        )

    def enabled_at(self, at: datetime) -> bool:
        """Whether the rule watches its condition at ``at``: enabled, and no permit window
        holds ``at``."""
        return self.enabled and not any(start <= at < end for start, end in self.suspended)


def suspend_by_permits(
    rules: Iterable[DeviceRule], permits: Iterable[LeavePermit]
) -> list[DeviceRule]:
    """``rules`` with the windows of the ``permits`` that name them (rules and permits of one
    case; permits as the engine gets them: approved, or ended by a cancellation)."""
    windows: dict[int, list[tuple[datetime, datetime]]] = {}
    for permit in permits:
        for rule_id in permit.rule_ids:
            windows.setdefault(rule_id, []).append((permit.valid_from, permit.valid_to))
    return [
        replace(r, suspended=(*r.suspended, *windows[r.rule_id])) if r.rule_id in windows else r
        for r in rules
    ]


def device_rule(
    rule_id: int,
    kind: RuleKind,
    params: Mapping[str, Any],
    *,
    severity: Severity | None = None,
    valid_from: datetime | None = None,
    valid_to: datetime | None = None,
) -> DeviceRule:
    """A ``DeviceRule`` from a rule's fields; raises ``RuleError`` saying what is wrong (the
    caller names the rule).

    ``params`` may hold the kind's threshold parameter (a number in its range) and ``enabled``
    (a boolean; 0 and 1 are taken for false and true). Another device kind's threshold
    parameter is refused, as a sign the rule is not the one its author meant.
    """
    if kind not in DEVICE_KINDS:
        raise RuleError(f"{kind.value} is not a device rule")
    if valid_from and valid_to and valid_to <= valid_from:
        raise RuleError("valid_to must be after valid_from")
    threshold = None
    for other, (name, low, high) in THRESHOLDS.items():
        if name not in params:
            continue
        if other is not kind:
            raise RuleError(f"{kind.value} takes no parameter {name}")
        value = params[name]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise RuleError(f"{name} must be a number")
        if not (math.isfinite(value) and low <= value <= high):
            raise RuleError(f"{name} must be between {low:g} and {high:g}")
        threshold = float(value)
    enabled = params.get(ENABLED, True)
    if enabled not in (True, False):  # also 1 and 0, as a JSON number may arrive
        raise RuleError(f"{ENABLED} must be true or false")
    return DeviceRule(rule_id, kind, bool(enabled), threshold, severity, valid_from, valid_to)


@dataclass(frozen=True, slots=True)
class Watch:
    """How one condition is watched for a case at one moment: on or off, its threshold (None:
    no threshold, or the kind takes none), its severity (None: the kind's default) and the
    rule that decided (None: the defaults)."""

    enabled: bool = True
    threshold: float | None = None
    severity: Severity | None = None
    rule_id: int | None = None


def applicable(rules: Sequence[DeviceRule], kind: RuleKind, at: datetime) -> DeviceRule | None:
    """The newest (highest id) rule of ``kind`` in ``rules`` that applies at ``at``."""
    found = [r for r in rules if r.kind is kind and r.applies_at(at)]
    return max(found, key=lambda r: r.rule_id) if found else None


def watch_of(
    rules: Sequence[DeviceRule], kind: RuleKind, at: datetime, default: float | None = None
) -> Watch:
    """How ``kind`` is watched at ``at``: by the applicable rule, else by the defaults
    (``default`` is the default threshold, in the kind's unit)."""
    rule = applicable(rules, kind, at)
    if rule is None:
        return Watch(threshold=default)
    threshold = default if rule.threshold is None else rule.threshold
    return Watch(rule.enabled_at(at), threshold, rule.severity, rule.rule_id)


@dataclass(frozen=True, slots=True)
class DevicePolicy:
    """A case's device rules with its defaults: the no-signal limit (s), the battery threshold
    (%) and the alerting speed limit (m/s; None: only ingest's refusals count)."""

    rules: tuple[DeviceRule, ...] = ()
    no_signal_after_s: float | None = None
    battery_critical_pct: float | None = None
    max_speed_mps: float | None = None

    def watch(self, kind: RuleKind, at: datetime) -> Watch:
        """How ``kind`` is watched for the case at ``at``."""
        default = {
            RuleKind.NO_SIGNAL: self.no_signal_after_s,
            RuleKind.BATTERY_CRITICAL: self.battery_critical_pct,
            RuleKind.IMPOSSIBLE_SPEED: self.max_speed_mps,
        }.get(kind)
        return watch_of(self.rules, kind, at, default)

    def silence_outlasted(self, start: datetime, end: datetime) -> float | None:
        """The no-signal limit (s) that a silence from ``start`` to ``end`` outlasted at some
        moment while no signal was watched, or None (the watchdog would not have opened "no
        signal"). The watch is constant between the no_signal rules' bounds (validity, permit
        windows), so it is judged just before each bound inside the silence and at its end,
        where the silence is longest under that watch."""
        bounds = {
            b
            for r in self.rules
            if r.kind is RuleKind.NO_SIGNAL
            for b in (r.valid_from, r.valid_to, *(t for w in r.suspended for t in w))
            if b is not None and start < b < end
        }
        for moment in sorted({*bounds, end}):
            before = moment - _INSTANT
            watch = self.watch(RuleKind.NO_SIGNAL, before)
            limit = watch.threshold
            if watch.enabled and limit is not None and (before - start).total_seconds() > limit:
                return limit
        return None


def battery_critical(pct: float | None, charging: bool | None, threshold: float) -> bool | None:
    """Battery at or below ``threshold`` percent and not charging; None when the report says
    neither (no level and not charging)."""
    if charging:
        return False
    if pct is None:
        return None
    return pct <= threshold


class Position(NamedTuple):
    """Where a fix put the watch: fix time, WGS84 degrees, 68% accuracy radius (m)."""

    at: datetime
    lon: float
    lat: float
    acc: float


def implied_speed_mps(a: Position, b: Position) -> float:
    """The least speed (m/s) the watch needed between two fixes: the geodesic distance less both
    fix disks (``relation.disk_radius``: the confidence the geofence engine uses), over the time
    between them but at least ``MIN_STEP_S``. Two coarse fixes far apart give 0."""
    dt = max(abs((b.at - a.at).total_seconds()), MIN_STEP_S)
    dist = float(geodesic_distance_m(a.lon, a.lat, b.lon, b.lat))
    slack = float(disk_radius(np.asarray(a.acc)) + disk_radius(np.asarray(b.acc)))
    return max(0.0, dist - slack) / dt
