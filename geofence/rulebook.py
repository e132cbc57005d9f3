"""The assignment of positional rules to cases, compiled into arrays for the engine.

A ``RuleBook`` is built when rules or zones change and reused for every batch until then. Each
positional rule gets a *slot*; per-slot arrays hold what the vectorised evaluation needs (kind,
zone, circle geometry, validity, schedule, distance parameters) and a CSR index maps a case to its
slots. Compiled zones (projection, prepared geometry, distance grid) are cached across rebuilds as
long as the zone itself is unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from geofence.errors import RuleError
from geofence.grid import GridStack
from geofence.models import Rule, RuleKind, WeeklySchedule, Zone, ZoneKind, epoch_ms
from geofence.prefilter import circle_box, circle_lon_metres
from geofence.relation import CompiledArea, disk_radius, relate_circles

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

NEVER_MS = np.iinfo(np.int64).min
FOREVER_MS = np.iinfo(np.int64).max
DEFAULT_PROTECTED_AGE_S = 300.0

KIND_CODES = {
    RuleKind.STAY_INSIDE: 0,
    RuleKind.STAY_OUTSIDE: 1,
    RuleKind.BE_INSIDE_DURING: 2,
    RuleKind.KEEP_AWAY_FROM: 3,
}
STAY_OUTSIDE_CODE = 1
KEEP_AWAY_CODE = 3


def present(codes: IntArray) -> list[int]:
    """The distinct non-negative codes (area, schedule indices) in ``codes``, ascending.

    ``np.unique`` costs ~50 us even on a handful of values; a bincount of small codes is ~1 us.
    """
    valid = codes[codes >= 0]
    return np.bincount(valid).nonzero()[0].tolist() if valid.size else []


class ZoneCache:
    """Compiled areas by zone id, recompiled only when the zone value changes."""

    def __init__(self) -> None:
        self._areas: dict[int, tuple[Zone, CompiledArea]] = {}

    def area(self, zone: Zone) -> CompiledArea:
        """The compiled form of a polygon or corridor zone."""
        cached = self._areas.get(zone.zone_id)
        if cached is None or (cached[0] is not zone and cached[0] != zone):
            cached = (zone, CompiledArea(zone))
            self._areas[zone.zone_id] = cached
        return cached[1]


def relate_zone(cache: ZoneCache, zone: Zone, lon: float, lat: float, acc: float) -> np.int8:
    """Relation code of one fix (degrees, 68% accuracy in metres) to any zone (scalar helper)."""
    lons, lats = np.array([lon]), np.array([lat])
    radius = disk_radius(np.array([acc]))
    if zone.kind is ZoneKind.CIRCLE:
        assert zone.radius_m is not None
        centre = (np.array([zone.geometry.x]), np.array([zone.geometry.y]))
        out = relate_circles(lons, lats, radius, *centre, np.array([zone.radius_m]))
    else:
        out = cache.area(zone).relate(lons, lats, radius)
    return np.int8(out[0])


class RuleBook:
    """Positional rules of all cases, by slot, with their zones compiled."""

    def __init__(self, rules: Sequence[Rule], zones: Mapping[int, Zone], cache: ZoneCache) -> None:
        self.rules = tuple(
            sorted((r for r in rules if r.kind.positional), key=lambda r: (r.case_id, r.rule_id))
        )
        self.zones = dict(zones)
        self.cache = cache
        n = len(self.rules)
        self.keys = [(r.case_id, r.rule_id) for r in self.rules]
        if len(set(self.keys)) != n:
            raise RuleError("duplicate (case_id, rule_id) among rules")
        self.slot_of_key = {k: i for i, k in enumerate(self.keys)}
        self.kind = np.array([KIND_CODES[r.kind] for r in self.rules], dtype=np.int8)
        self.stay_outside = self.kind == STAY_OUTSIDE_CODE
        self.keep_away = self.kind == KEEP_AWAY_CODE
        self.verdict_row = 3 * self.kind.astype(np.int64)
        """Per slot: where its kind's row of verdicts by relation code starts (engine)."""
        self.area_index = np.full(n, -1, dtype=np.int64)
        self.circle_lon = np.full(n, np.nan)
        self.circle_lat = np.full(n, np.nan)
        self.circle_m = np.full(n, np.nan)
        self.areas: list[CompiledArea] = []
        area_slots: dict[int, int] = {}
        for i, rule in enumerate(self.rules):
            if rule.zone_id is None:
                continue
            zone = self.zone(rule.zone_id, rule)
            if zone.kind is ZoneKind.CIRCLE:
                assert zone.radius_m is not None
                self.circle_lon[i] = zone.geometry.x
                self.circle_lat[i] = zone.geometry.y
                self.circle_m[i] = zone.radius_m
            else:
                if zone.zone_id not in area_slots:
                    area_slots[zone.zone_id] = len(self.areas)
                    self.areas.append(cache.area(zone))
                self.area_index[i] = area_slots[zone.zone_id]
        self.grids = GridStack([area.grid for area in self.areas])
        boxes = np.array([area.box for area in self.areas], dtype=np.float64).reshape(-1, 4)
        self.area_box = np.full((n, 4), np.nan)
        self.area_box[self.area_index >= 0] = boxes[self.area_index[self.area_index >= 0]]
        floors = np.array([area.cos_floor for area in self.areas], dtype=np.float64)
        self.area_cos_floor = np.where(self.area_index >= 0, 1.0, np.nan)
        self.area_cos_floor[self.area_index >= 0] = floors[self.area_index[self.area_index >= 0]]
        """Per slot: the zone's degree box (lon_mid, lon_half, lat_mid, lat_half); NaN if none."""
        self.is_circle = ~np.isnan(self.circle_m)
        self.circle_lon_m = circle_lon_metres(np.nan_to_num(self.circle_lat))
        """Per circle slot: fewest metres per degree of longitude near its centre."""
        half_lon, half_lat = circle_box(self.circle_lat, self.circle_m)
        self.cross_box = self.area_box.copy()
        self.cross_box[self.is_circle] = np.column_stack(
            (self.circle_lon, half_lon, self.circle_lat, half_lat)
        )[self.is_circle]
        """Per slot: a degree box (as ``area_box``) that a segment must meet to cross the zone;
        for circles ``prefilter.circle_box``, valid for segment ends near the centre's latitude."""
        self.valid_from = np.array(
            [NEVER_MS if r.valid_from is None else epoch_ms(r.valid_from) for r in self.rules],
            dtype=np.int64,
        )
        self.valid_to = np.array(
            [FOREVER_MS if r.valid_to is None else epoch_ms(r.valid_to) for r in self.rules],
            dtype=np.int64,
        )
        self.timed = (self.valid_from != NEVER_MS) | (self.valid_to != FOREVER_MS)
        """Per slot: the rule has a validity window or (below) a weekly schedule."""
        self.schedules: list[WeeklySchedule] = []
        schedule_slots: dict[WeeklySchedule, int] = {}
        self.schedule_index = np.full(n, -1, dtype=np.int64)
        for i, rule in enumerate(self.rules):
            if rule.schedule is not None:
                if rule.schedule not in schedule_slots:
                    schedule_slots[rule.schedule] = len(self.schedules)
                    self.schedules.append(rule.schedule)
                self.schedule_index[i] = schedule_slots[rule.schedule]
        self.timed |= self.schedule_index >= 0
        self.protected_id = [
            str(r.params["protected_device_id"]) if r.kind is RuleKind.KEEP_AWAY_FROM else ""
            for r in self.rules
        ]
        self.min_distance_m = np.array([r.number("min_distance_m", np.nan) for r in self.rules])
        self.protected_age_ms = np.array(
            [r.number("max_protected_age_s", DEFAULT_PROTECTED_AGE_S) * 1000 for r in self.rules]
        )
        case_ids = np.array([r.case_id for r in self.rules], dtype=np.int64)
        self.case_ids, starts = np.unique(case_ids, return_index=True)
        self.case_ptr = np.append(starts, n).astype(np.int64)
        # Per position of ``case_ids``, plus one past the end (what ``searchsorted`` returns for
        # a case above all): the case, its first slot and its number of slots.
        self._case_at = np.append(self.case_ids, self.case_ids[-1:])
        self._first_at = np.append(self.case_ptr[:-1], 0)
        self._count_at = np.append(np.diff(self.case_ptr), 0)
        # Case ids are database keys, dense enough for a table from case id to position
        # (``searchsorted`` of each case, ~10 ns a fix, is the fallback for sparse ones).
        first = int(self.case_ids[0]) if n else 0
        span = int(self.case_ids[-1]) - first + 1 if n else 0
        self._dense_first = first
        self._dense = (
            np.searchsorted(self.case_ids, np.arange(first, first + span))
            if span <= 4 * n
            else None
        )

    def zone(self, zone_id: int, rule: Rule | None = None) -> Zone:
        """The zone ``zone_id``; a rule or permit naming an unknown zone is an error."""
        try:
            return self.zones[zone_id]
        except KeyError:
            owner = f"rule {rule.rule_id}" if rule else "a permit"
            raise RuleError(f"{owner} names unknown zone {zone_id}") from None

    def pairs(self, case_id: IntArray) -> tuple[IntArray, IntArray]:
        """(fix row, slot) for every positional rule of every fix's case (vectorised CSR expand)."""
        if not len(self.case_ids):
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty
        if self._dense is None:
            pos = np.searchsorted(self.case_ids, case_id)
        else:
            # any position will do outside the table: the case check below gives no slots
            at = np.minimum(np.maximum(case_id - self._dense_first, 0), len(self._dense) - 1)
            pos = self._dense.take(at)
        counts = np.where(self._case_at[pos] == case_id, self._count_at[pos], 0)
        ends = counts.cumsum()
        rows = np.arange(len(case_id)).repeat(counts)
        first = (self._first_at[pos] - ends + counts).repeat(counts)
        return rows, first + np.arange(int(ends[-1]) if len(ends) else 0)
