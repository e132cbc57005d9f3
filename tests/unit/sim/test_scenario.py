"""The scenario: three cases with real zones in Dongying, users of every role, extra watches."""

from __future__ import annotations

import shapely

from api.auth.models import Role
from sim.scenario import CURFEW, GRACE, Boundary, Scenario, build_scenario


def test_three_main_cases(scenario: Scenario) -> None:
    cases = {c.case_number: c for c in scenario.cases[:3]}
    assert list(cases) == ["DY-2026-001", "DY-2026-002", "DY-2026-003"]
    one, two, three = cases.values()
    assert one.measure == "bail"
    assert two.measure == "residential_surveillance"
    assert [(r.kind, r.zone.adcode) for r in one.rules] == [
        ("stay_inside", "370502"),
        ("stay_outside", None),
    ]
    assert one.rules[1].zone.radius_m == 300.0
    assert [(r.kind, r.zone.adcode) for r in two.rules] == [
        ("stay_inside", "370505"),
        ("be_inside_during", None),
    ]
    assert two.rules[1].schedule == CURFEW
    assert two.rules[1].zone.radius_m == 150.0
    assert two.rules[1].zone.centre == two.home
    assert [(r.kind, r.zone.adcode) for r in three.rules] == [("stay_inside", "370500")]
    assert all(r.grace == GRACE for c in scenario.cases for r in c.rules)


def test_points_are_in_the_right_counties(scenario: Scenario) -> None:
    b = scenario.boundaries
    for case in scenario.cases:
        assert b[case.home_adcode].shape.contains(shapely.Point(case.home)), case.case_number
        for rule in case.rules:
            if rule.zone.centre is not None:
                assert b[case.home_adcode].shape.contains(shapely.Point(rule.zone.centre))


def test_roles_and_units(scenario: Scenario) -> None:
    roles = {u.role for u in scenario.users}
    assert roles == {r.value for r in Role}  # a demo login for every role
    codes = {u.code for u in scenario.units}
    assert {"DY-PSB-DYQ", "DY-PSB-KLQ", "DY-PROC-DYQ"} <= codes
    assert all(u.unit_code in codes for u in scenario.users)
    assert len({u.username for u in scenario.users}) == len(scenario.users)


def test_extra_watches_are_background_cases(boundaries: dict[str, Boundary]) -> None:
    sc = build_scenario(boundaries, devices=50, seed=3)
    assert len(sc.cases) == 50
    assert sc.device_ids[:4] == ["dw-0001", "dw-0002", "dw-0003", "dw-0004"]
    assert len(set(sc.device_ids)) == 50
    assert len({c.case_number for c in sc.cases}) == 50
    assert sc == build_scenario(boundaries, devices=50, seed=3), "deterministic for a seed"
    zones = {(z.unit_code, z.name) for z in sc.zones}
    assert len(zones) == len(sc.zones) <= 6, "county zones are shared by the unit's cases"
