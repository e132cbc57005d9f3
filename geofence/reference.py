"""A plain per-fix evaluator with the engine's semantics: the test oracle and the bench baseline.

It walks the fixes one at a time (per device in fix-time order), and for each rule of the fix's
case computes the relation with scalar calls (a shapely ``Point`` against the projected zone, the
exact geodesic distance for circles and protected persons, calendar arithmetic for schedules), then
applies the same pure ``hysteresis`` functions. Nothing is vectorised or cached beyond the zones'
projection, so it is easy to check by reading, and slow.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import shapely

from geofence.crossings import MAX_CROSSING_GAP_S, MAX_CROSSING_SPEED_MPS
from geofence.events import GeofenceEvent
from geofence.geodesy import geodesic_distance_m
from geofence.hysteresis import Observation, late_findings, update
from geofence.models import (
    Fix,
    FixRef,
    LeavePermit,
    Relation,
    Rule,
    RuleKind,
    Verdict,
    Zone,
    ZoneKind,
    epoch_ms,
)
from geofence.pairs import REASONS
from geofence.permits import ALLOWS_DESTINATION, PermitIndex
from geofence.relation import K_SIGMA, circle_crossings
from geofence.results import coalesce
from geofence.rulebook import ZoneCache
from geofence.schedule import is_active
from geofence.state import RuleState


@dataclass(frozen=True, slots=True)
class _Last:
    fix: Fix
    radius: float


def _classify(signed_distance: float, radius: float) -> Relation:
    if signed_distance > radius:
        return Relation.INSIDE
    if -signed_distance > radius:
        return Relation.OUTSIDE
    return Relation.UNCERTAIN


class ReferenceEngine:
    """Same inputs and events as ``GeofenceEngine``, evaluated one (fix, rule) at a time."""

    def __init__(self) -> None:
        self._cache = ZoneCache()
        self._rules: dict[int, list[Rule]] = defaultdict(list)
        self._zones: dict[int, Zone] = {}
        self._permits = PermitIndex()
        self._states: dict[tuple[int, int], RuleState] = {}
        self._last: dict[str, _Last] = {}
        self._protected: dict[str, Fix] = {}

    def set_rules(self, rules: Sequence[Rule], zones: Iterable[Zone]) -> None:
        """Install rules and zones."""
        self._rules = defaultdict(list)
        for rule in sorted(rules, key=lambda r: r.rule_id):
            if rule.kind.positional:
                self._rules[rule.case_id].append(rule)
        self._zones = {z.zone_id: z for z in zones}

    def set_permits(self, permits: Sequence[LeavePermit]) -> None:
        """Install approved leave permits."""
        self._permits = PermitIndex(permits)

    def observe_protected(self, fixes: Iterable[Fix]) -> None:
        """Record protected persons' positions (newest per device)."""
        for fix in fixes:
            known = self._protected.get(fix.device_id)
            if known is None or fix.fix_time > known.fix_time:
                self._protected[fix.device_id] = fix

    def state(self, case_id: int, rule_id: int) -> RuleState:
        """Current state of one (case, rule)."""
        return self._states.get((case_id, rule_id), RuleState(case_id, rule_id))

    def evaluate(self, fixes: Sequence[Fix]) -> list[GeofenceEvent]:
        """Evaluate fixes one by one; events grouped per (case, rule) like the engine's."""
        ordered = sorted(set(fixes), key=lambda f: (f.device_id, f.fix_time, f.seq))
        seen: set[tuple[str, object, int]] = set()
        per_rule: dict[tuple[int, int], list[GeofenceEvent]] = defaultdict(list)
        late: dict[tuple[int, int], list[Observation]] = defaultdict(list)
        for fix in ordered:
            if (fix.device_id, fix.fix_time, fix.seq) in seen:
                continue
            seen.add((fix.device_id, fix.fix_time, fix.seq))
            last = self._last.get(fix.device_id)
            in_order = last is None or fix.fix_time > last.fix.fix_time
            for rule in self._rules.get(fix.case_id, []):
                key = (rule.case_id, rule.rule_id)
                state = self.state(*key)
                obs = self._observe(rule, fix, last if in_order else None)
                wm = state.watermark_ms
                if wm is not None and epoch_ms(fix.fix_time) <= wm:
                    late[key].append(obs)
                    continue
                self._states[key], events = update(state, obs, rule)
                per_rule[key].extend(events)
            if in_order:
                self._last[fix.device_id] = _Last(fix, K_SIGMA * fix.acc)
        for key, observations in late.items():
            rule = next(r for r in self._rules[key[0]] if r.rule_id == key[1])
            self._states[key], events = late_findings(self.state(*key), observations, rule)
            per_rule[key].extend(events)
        return [e for key in sorted(per_rule) for e in coalesce(per_rule[key])]

    def _relation(self, zone: Zone, fix: Fix) -> Relation:
        radius = K_SIGMA * fix.acc
        if zone.kind is ZoneKind.CIRCLE:
            assert zone.radius_m is not None
            d = float(geodesic_distance_m(fix.lon, fix.lat, zone.geometry.x, zone.geometry.y))
            return _classify(zone.radius_m - d, radius)
        area = self._cache.area(zone)
        x, y = area.project(np.array([fix.lon]), np.array([fix.lat]))
        point = shapely.Point(float(x[0]), float(y[0]))
        distance = area.boundary.distance(point)
        return _classify(distance if area.area.contains(point) else -distance, radius)

    def _verdict(self, rule: Rule, fix: Fix, last: _Last | None) -> tuple[Verdict, str]:
        if rule.kind is RuleKind.KEEP_AWAY_FROM:
            other = self._protected.get(str(rule.params["protected_device_id"]))
            max_age = rule.number("max_protected_age_s", 300.0)
            if other is None or abs((fix.fix_time - other.fix_time).total_seconds()) > max_age:
                return Verdict.NOT_APPLICABLE, "no_protected_position"
            d = float(geodesic_distance_m(fix.lon, fix.lat, other.lon, other.lat))
            radius = K_SIGMA * (fix.acc + other.acc)
            close = _classify(rule.number("min_distance_m", 0.0) - d, radius)
            return _FROM_RELATION[close][1], ""
        assert rule.zone_id is not None
        zone = self._zones[rule.zone_id]
        relation = self._relation(zone, fix)
        outside = rule.kind is RuleKind.STAY_OUTSIDE
        verdict = _FROM_RELATION[relation][int(outside)]
        crossing = outside and verdict is Verdict.COMPLIANT and last is not None
        if crossing and last is not None and self._crossed(zone, last, fix):
            return Verdict.VIOLATING, "crossing"
        return verdict, ""

    def _crossed(self, zone: Zone, last: _Last, fix: Fix) -> bool:
        dt = (fix.fix_time - last.fix.fix_time).total_seconds()
        if dt > MAX_CROSSING_GAP_S:
            return False
        radius = K_SIGMA * fix.acc
        d = float(geodesic_distance_m(last.fix.lon, last.fix.lat, fix.lon, fix.lat))
        if d - radius - last.radius > MAX_CROSSING_SPEED_MPS * dt:
            return False
        before = Fix(
            last.fix.device_id,
            0,
            last.fix.fix_time,
            0,
            last.fix.lon,
            last.fix.lat,
            last.fix.acc,
            "",
            last.fix.received_at,
        )
        if self._relation(zone, before) is not Relation.OUTSIDE:
            return False
        widest = np.array([max(radius, last.radius)])
        lon0, lat0 = np.array([last.fix.lon]), np.array([last.fix.lat])
        lon1, lat1 = np.array([fix.lon]), np.array([fix.lat])
        if zone.kind is ZoneKind.CIRCLE:
            assert zone.radius_m is not None
            c = (
                np.array([zone.geometry.x]),
                np.array([zone.geometry.y]),
                np.array([zone.radius_m]),
            )
            return bool(circle_crossings(lon0, lat0, lon1, lat1, widest, *c)[0])
        area = self._cache.area(zone)
        x0, y0 = area.project(lon0, lat0)
        x1, y1 = area.project(lon1, lat1)
        return bool(area.crosses_xy(x0, y0, x1, y1, widest)[0])

    def _observe(self, rule: Rule, fix: Fix, last: _Last | None) -> Observation:
        t = epoch_ms(fix.fix_time)
        ref = FixRef(fix.device_id, fix.fix_time, fix.seq)
        verdict, reason = self._verdict(rule, fix, last)
        if (rule.valid_from and fix.fix_time < rule.valid_from) or (
            rule.valid_to and fix.fix_time >= rule.valid_to
        ):
            verdict, reason = Verdict.NOT_APPLICABLE, "not_valid"
        elif rule.schedule is not None and not is_active(rule.schedule, fix.fix_time):
            verdict, reason = Verdict.NOT_APPLICABLE, "schedule"
        found = self._permits.covering(rule.case_id, rule.rule_id, t)
        permit = None if found is None else (found[0].permit_id, found[1])
        if found is not None and verdict is not Verdict.NOT_APPLICABLE:
            dest = found[0].destination_zone_id
            if dest is None or rule.kind not in ALLOWS_DESTINATION:
                verdict, reason = Verdict.NOT_APPLICABLE, "suspended"
            else:
                at_dest = self._relation(self._zones[dest], fix)
                if at_dest is Relation.INSIDE:
                    verdict = Verdict.COMPLIANT
                elif at_dest is Relation.UNCERTAIN and verdict is Verdict.VIOLATING:
                    verdict = Verdict.UNCERTAIN
        refs: tuple[FixRef, ...] = (ref,)
        if reason == "crossing" and last is not None:
            refs = (FixRef(last.fix.device_id, last.fix.fix_time, last.fix.seq), ref)
        assert reason in REASONS
        return Observation(t, verdict, refs, reason, permit)


# Verdict for (stay-inside-like, stay-outside-like) rules by relation; keep_away uses the second.
_FROM_RELATION = {
    Relation.INSIDE: (Verdict.COMPLIANT, Verdict.VIOLATING),
    Relation.OUTSIDE: (Verdict.VIOLATING, Verdict.COMPLIANT),
    Relation.UNCERTAIN: (Verdict.UNCERTAIN, Verdict.UNCERTAIN),
}
