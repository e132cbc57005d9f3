"""Watches for a scenario: each case's home, roaming area and planner, in the local plane.

The allowed area of a watch is its ``stay_inside`` zone shrunk by a margin, minus its
``stay_outside`` zones grown by one, so the simulated *true* path never breaks a rule (only the
reported fixes, with their noise, may look uncertain near an edge). The exceptions are deliberate:
DY-2026-003 (``wander``) drives out of the city, and DY-2026-002 (``curfew``) goes home for the
night.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from sim.fleet import Watch
from sim.paths import (
    DONGYING_PLANE,
    Area,
    CurfewPlanner,
    LocalPlane,
    Planner,
    RoamPlanner,
    WanderPlanner,
    allowed_area,
    parse_schedule,
    plan_excursion,
)
from sim.scenario import Behaviour, CaseSpec, Scenario


@dataclass(frozen=True)
class WanderTiming:
    """When DY-2026-003 leaves the city: ``after_s`` in, for ``out_s``, every ``every_s``."""

    after_s: float = 180.0
    out_s: float = 600.0
    every_s: float = 3600.0


#: Roaming radius around home by behaviour, metres.
RADIUS_M = {Behaviour.roam: 5000.0, Behaviour.curfew: 4000.0, Behaviour.wander: 1500.0}


class _Areas:
    """Allowed areas shared between watches with the same zones (buffering is the costly part)."""

    def __init__(self, scenario: Scenario, plane: LocalPlane) -> None:
        self.scenario = scenario
        self.plane = plane
        self._cache: dict[tuple[object, ...], BaseGeometry] = {}

    def for_case(self, case: CaseSpec) -> BaseGeometry:
        inside = [r.zone for r in case.rules if r.kind == "stay_inside"]
        outside = [r.zone for r in case.rules if r.kind == "stay_outside"]
        key = (tuple((z.unit_code, z.name) for z in inside), tuple(outside))
        if key not in self._cache:
            adcode = inside[0].adcode if inside else case.home_adcode
            assert adcode is not None
            zone = self.plane.geometry(self.scenario.boundaries[adcode].shape)
            exclusions = [
                Point(self.plane.point(*z.centre)).buffer(z.radius_m or 0.0)
                for z in outside
                if z.centre is not None
            ]
            self._cache[key] = allowed_area(zone, exclusions=exclusions)
        return self._cache[key]


def build_watches(
    scenario: Scenario,
    *,
    start_ms: int,
    wander: WanderTiming = WanderTiming(),
    plane: LocalPlane = DONGYING_PLANE,
    seed: int = 7,
) -> list[Watch]:
    """One watch per case of ``scenario`` with its planner; ``start_ms`` starts the wander clock."""
    areas = _Areas(scenario, plane)
    rng = np.random.default_rng(seed)
    watches = []
    for case in scenario.cases:
        home = plane.point(*case.home)
        area = Area(areas.for_case(case), home, RADIUS_M[case.behaviour])
        planner: Planner
        if case.behaviour is Behaviour.curfew:
            rule = next(r for r in case.rules if r.schedule is not None)
            assert rule.schedule is not None
            tz, windows = parse_schedule(rule.schedule)
            planner = CurfewPlanner(RoamPlanner(area, hop_m=(200.0, 1500.0)), tz, windows)
        elif case.behaviour is Behaviour.wander:
            city = plane.geometry(scenario.boundaries[case.rules[0].zone.adcode or ""].shape)
            roam = RoamPlanner(area, hop_m=(200.0, 1000.0), dwell_s=(20.0, 120.0))
            planner = WanderPlanner(
                roam,
                plan_excursion(city, home),
                start_ms,
                after_s=wander.after_s,
                out_s=wander.out_s,
                every_s=wander.every_s,
            )
        else:
            planner = RoamPlanner(area)
        watches.append(Watch(case.device_id, planner, float(rng.uniform(45.0, 100.0))))
    return watches
