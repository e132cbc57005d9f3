"""Rows of ``case_rules``, ``zones``, ``leave_permits`` and assignments to the engine's types.

Pure: takes mappings as the store returns them (jsonb already decoded) and builds the
``geofence`` values, so the conversion is tested without a database. A row that cannot be used
(unknown kind, bad zone, bad schedule) is left out and named in ``Ruleset.problems``: one broken
rule must not stop the evaluation of every other case.

Grace json: ``{"open_after_fixes", "open_after_s", "clear_after_fixes", "clear_after_s"}`` (each
optional). Schedule json: ``{"timezone": "Asia/Shanghai", "windows": [{"days": [0, 4],
"start": "22:00", "end": "06:00"}]}`` with days 0 = Monday; the time zone defaults to the case's.
A rule may carry ``params.notify_wearer = {"text": ..., "vibrate": true}``: the command sent to
the watch when an episode of that rule opens. Device rules (no_signal, strap_open,
battery_critical, power_off, impossible_speed) are kept per case as ``geofence.device``
``DeviceRule``s; their semantics are that module's.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, time
from functools import cached_property
from typing import Any

from geofence.device import DevicePolicy, DeviceRule, device_rule, suspend_by_permits
from geofence.errors import GeofenceError
from geofence.models import (
    Grace,
    LeavePermit,
    Rule,
    RuleKind,
    Severity,
    Weekday,
    WeeklySchedule,
    Window,
)
from geofence.models import Zone as GeoZone
from geofence.zones import parse_zone

Row = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class CaseInfo:
    """What alerts need of a case: routing (supervising unit) and its no-signal limit (s)."""

    case_id: int
    unit_id: int
    timezone: str
    no_signal_limit_s: float


@dataclass(frozen=True, slots=True)
class Assignment:
    """A device reporting for a case over ``[start, end)`` (epoch seconds; end may be inf)."""

    case_id: int
    role: str
    start: float
    end: float


@dataclass
class Ruleset:
    """Everything evaluation reads from configuration, at one ``version``."""

    version: int
    rules: list[Rule] = field(default_factory=list)
    zones: list[GeoZone] = field(default_factory=list)
    permits: list[LeavePermit] = field(default_factory=list)
    cases: dict[int, CaseInfo] = field(default_factory=dict)
    assignments: dict[str, list[Assignment]] = field(default_factory=dict)
    #: Devices assigned (at some time) as a protected person's.
    protected_persons: set[str] = field(default_factory=set)
    #: Per case: its device rules (in id order), and the cases with an alerting speed limit.
    device_rules: dict[int, list[DeviceRule]] = field(default_factory=dict)
    speed_limited: set[int] = field(default_factory=set)
    #: Per rule id: the rule's own severity (None: the alert kind's default) and wearer command.
    rule_severity: dict[int, str | None] = field(default_factory=dict)
    wearer_command: dict[int, dict[str, Any]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def case_of(self, device_id: str, t: float, role: str = "defendant") -> int | None:
        """The case ``device_id`` reported for in ``role`` at epoch second ``t``."""
        for a in self.assignments.get(device_id, ()):
            if a.role == role and a.start <= t < a.end:
                return a.case_id
        return None

    def device_policy(self, case_id: int, battery_critical_pct: float) -> DevicePolicy:
        """How ``case_id``'s watch is watched: its device rules over the defaults (its own
        no-signal limit, the deployment's battery threshold ``battery_critical_pct``)."""
        case = self.cases.get(case_id)
        return DevicePolicy(
            tuple(self.device_rules.get(case_id, ())),
            no_signal_after_s=case.no_signal_limit_s if case else None,
            battery_critical_pct=battery_critical_pct,
        )

    @cached_property
    def positional_cases(self) -> frozenset[int]:
        """Cases with at least one positional rule (computed once per ruleset)."""
        return frozenset(r.case_id for r in self.rules)

    @cached_property
    def crossing_cases(self) -> frozenset[int]:
        """Cases with a stay_outside rule: the only ones whose previous fix matters (a segment
        between two fixes can cross an exclusion zone), so only their devices' tracks are kept
        in the database."""
        return frozenset(r.case_id for r in self.rules if r.kind is RuleKind.STAY_OUTSIDE)

    @cached_property
    def unit_of_case(self) -> dict[int, int]:
        """Supervising unit of each case."""
        return {case_id: info.unit_id for case_id, info in self.cases.items()}

    def protected_devices(self, case_ids: Iterable[int]) -> set[str]:
        """Devices of protected persons named by keep_away_from rules of ``case_ids``."""
        wanted = set(case_ids)
        return {
            str(r.params["protected_device_id"])
            for r in self.rules
            if r.kind is RuleKind.KEEP_AWAY_FROM and r.case_id in wanted
        }


def grace_from(data: Mapping[str, Any] | None) -> Grace:
    """A ``Grace`` from the rule's grace json (missing keys keep the engine's defaults)."""
    d = Grace()
    g = data or {}
    return Grace(
        open_after_fixes=int(g.get("open_after_fixes", d.open_after_fixes)),
        open_after_s=float(g.get("open_after_s", d.open_after_s)),
        clear_after_fixes=int(g.get("clear_after_fixes", d.clear_after_fixes)),
        clear_after_s=float(g.get("clear_after_s", d.clear_after_s)),
    )


def _clock(text: str) -> time:
    hours, _, minutes = str(text).partition(":")
    return time(int(hours) % 24, int(minutes or 0))


def schedule_from(data: Mapping[str, Any] | None, default_tz: str) -> WeeklySchedule | None:
    """A ``WeeklySchedule`` from the rule's schedule json (None when there is none)."""
    if not data:
        return None
    windows = tuple(
        Window(Weekday(int(day)), _clock(w["start"]), _clock(w["end"]))
        for w in data.get("windows", ())
        for day in w.get("days", range(7))
    )
    return WeeklySchedule(windows, tz=str(data.get("timezone") or default_tz))


def _scalars(params: Mapping[str, Any]) -> dict[str, float | str]:
    return {
        k: v
        for k, v in params.items()
        if isinstance(v, int | float | str) and not isinstance(v, bool)
    }


def rule_from(row: Row, case_tz: str) -> Rule:
    """One ``case_rules`` row as an engine ``Rule`` (raises ``GeofenceError``/``ValueError``)."""
    return Rule(
        rule_id=int(row["id"]),
        case_id=int(row["case_id"]),
        kind=RuleKind(row["kind"]),
        zone_id=row["zone_id"],
        grace=grace_from(row["grace"]),
        schedule=schedule_from(row["schedule"], case_tz),
        valid_from=row["valid_from"],
        valid_to=row["valid_to"],
        severity=Severity(row["severity"] or "high"),
        params=_scalars(row["params"] or {}),
    )


def device_rule_from(row: Row) -> DeviceRule:
    """One ``case_rules`` row of a device kind (raises ``RuleError``/``ValueError``)."""
    return device_rule(
        int(row["id"]),
        RuleKind(row["kind"]),
        row["params"] or {},
        severity=Severity(row["severity"]) if row["severity"] else None,
        valid_from=row["valid_from"],
        valid_to=row["valid_to"],
    )


def no_signal_rules(rows: Iterable[Row]) -> tuple[dict[int, list[DeviceRule]], list[str]]:
    """No_signal rule rows (as ``store.watchdog`` selects them: with the windows of the permits
    that suspend each) per case, and the problems of the rows left out (their case keeps its
    default)."""
    found: dict[int, list[DeviceRule]] = {}
    problems: list[str] = []
    for row in rows:
        try:
            windows = tuple(zip(row["suspended_from"], row["suspended_to"], strict=True))
            rule = replace(device_rule_from(row), suspended=windows)
        except (GeofenceError, ValueError, KeyError, TypeError) as exc:
            problems.append(f"rule {row['id']}: {exc}")
            continue
        found.setdefault(int(row["case_id"]), []).append(rule)
    return found, problems


def zone_from(row: Row) -> GeoZone:
    """One ``zones`` row (stored WGS84) as an engine ``Zone``."""
    return parse_zone(
        int(row["id"]),
        row["geometry"],
        datum="wgs84",
        radius_m=row["radius_m"],
        width_m=row["width_m"],
        name=str(row["name"]),
    )


def permit_from(row: Row) -> LeavePermit:
    """One ``leave_permits`` row in effect (``alert_config.SELECT_PERMITS``: its ``window_end``
    is the cancellation when it was cut short) as an engine ``LeavePermit``."""
    return LeavePermit(
        permit_id=int(row["id"]),
        case_id=int(row["case_id"]),
        valid_from=row["window_start"],
        valid_to=row["window_end"],
        rule_ids=frozenset(int(r) for r in row["suspended_rule_ids"]),
        destination_zone_id=row["destination_zone_id"],
    )


def _zone_parser(parsed: ParsedZones | None) -> Callable[[Row], GeoZone]:
    """``zone_from``, through ``parsed`` when given (keyed by zone id and row version)."""
    if parsed is None:
        return zone_from

    def zone_of(row: Row) -> GeoZone:
        known = parsed.get(int(row["id"]))
        if known is not None and known[0] == row["v"]:
            return known[1]
        zone = zone_from(row)
        parsed[int(row["id"])] = (int(row["v"]), zone)
        return zone

    return zone_of


def _epoch(moment: datetime | None, default: float) -> float:
    return default if moment is None else moment.timestamp()


#: Parsed zones kept between reloads: zone id -> (row version, zone).
ParsedZones = dict[int, tuple[int, GeoZone]]


def build_ruleset(
    version: int,
    *,
    cases: Iterable[Row],
    rules: Iterable[Row],
    zones: Iterable[Row],
    permits: Iterable[Row],
    assignments: Iterable[Row],
    parsed: ParsedZones | None = None,
) -> Ruleset:
    """The ruleset of active cases from the store's rows (bad rows listed in ``problems``).

    With ``parsed`` (zone rows carrying their version ``v``), a zone whose version is the one
    parsed before is reused as it is, the same object, so the engine's compiled zone cache
    recognises it without comparing geometries; ``parsed`` is updated."""
    rs = Ruleset(version)
    zone_of = _zone_parser(parsed)
    for c in cases:
        rs.cases[c["id"]] = CaseInfo(
            c["id"], c["supervising_unit_id"], c["timezone"], float(c["no_signal_limit_s"])
        )
    for a in assignments:
        if a["role"] == "protected_person":
            rs.protected_persons.add(a["device_id"])
        rs.assignments.setdefault(a["device_id"], []).append(
            Assignment(
                a["case_id"],
                a["role"],
                _epoch(a["valid_from"], 0.0),
                _epoch(a["valid_to"], math.inf),
            )
        )
    zone_rows = {z["id"]: z for z in zones}
    used_zones: dict[int, GeoZone] = {}
    for row in rules:
        case = rs.cases.get(row["case_id"])
        if case is None:
            continue
        try:
            kind = RuleKind(row["kind"])
            if not kind.positional:
                found = device_rule_from(row)
                rs.device_rules.setdefault(case.case_id, []).append(found)
                if found.kind is RuleKind.IMPOSSIBLE_SPEED and found.threshold is not None:
                    rs.speed_limited.add(case.case_id)
                continue
            rule = rule_from(row, case.timezone)
            for zid in (rule.zone_id,):
                if zid is not None and zid not in used_zones:
                    used_zones[zid] = zone_of(zone_rows[zid])
        except (GeofenceError, ValueError, KeyError, TypeError) as exc:
            rs.problems.append(f"rule {row['id']}: {exc}")
            continue
        rs.rules.append(rule)
        rs.rule_severity[rule.rule_id] = row["severity"]
        command = (row["params"] or {}).get("notify_wearer")
        if isinstance(command, Mapping):
            rs.wearer_command[rule.rule_id] = dict(command)
    for row in permits:
        try:
            permit = permit_from(row)
            dest = permit.destination_zone_id
            if dest is not None and dest not in used_zones:
                used_zones[dest] = zone_of(zone_rows[dest])
        except (GeofenceError, ValueError, KeyError, TypeError) as exc:
            rs.problems.append(f"permit {row['id']}: {exc}")
            continue
        rs.permits.append(permit)
    by_case: dict[int, list[LeavePermit]] = {}
    for permit in rs.permits:
        by_case.setdefault(permit.case_id, []).append(permit)
    for case_id, kept in rs.device_rules.items():
        if case_id in by_case:
            rs.device_rules[case_id] = suspend_by_permits(kept, by_case[case_id])
    rs.zones = list(used_zones.values())
    return rs
