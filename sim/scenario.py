"""The demo scenario in Dongying: one source of truth for the seed and the simulator.

Units, users (with demo passwords), fictional persons, cases with their zones and rules, and
watches. Three cases are hand-written (DY-2026-001..003); when more watches are asked for, extra
background cases (DY-2026-004...) roam inside their home county so the map is lively, with homes
drawn at random (seeded) inside the county. Boundaries come from
``data/boundaries/dongying.geojson`` (WGS84, converted from Amap's GCJ-02; adcode 370500 city,
370502 东营区, 370503 河口区, 370505 垦利区, 370522 利津县, 370523 广饶县).

Coordinates are WGS84 ``(lon, lat)`` degrees; radii metres. Names, phone numbers and addresses are
invented; the points are plausible street locations, not anyone's home.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_BOUNDARIES = ROOT / "data" / "boundaries" / "dongying.geojson"
CITY_ADCODE = "370500"
TIMEZONE = "Asia/Shanghai"

#: Hysteresis of every demo rule: 3 fixes and 60 s to open, the same to clear.
GRACE = {"open_after_fixes": 3, "open_after_s": 60, "clear_after_fixes": 3, "clear_after_s": 60}
#: DY-2026-002's curfew: 22:00-06:00 local, every day (0 = Monday), crossing midnight.
CURFEW = {
    "timezone": TIMEZONE,
    "windows": [{"days": [0, 1, 2, 3, 4, 5, 6], "start": "22:00", "end": "06:00"}],
}


@dataclass(frozen=True)
class Boundary:
    """One administrative area: GeoJSON geometry (WGS84) and its shapely shape."""

    adcode: str
    name: str
    name_en: str
    level: str
    geometry: dict[str, Any]
    shape: BaseGeometry
    source_datum: str
    source: str


def load_boundaries(path: Path = DEFAULT_BOUNDARIES) -> dict[str, Boundary]:
    """The areas of the boundary file, by adcode."""
    data = json.loads(path.read_text(encoding="utf-8"))
    out = {}
    for feature in data["features"]:
        props = feature["properties"]
        geom = shape(feature["geometry"])
        shapely.prepare(geom)
        out[str(props["adcode"])] = Boundary(
            adcode=str(props["adcode"]),
            name=str(props["name"]),
            name_en=str(props.get("name_en", "")),
            level=str(props.get("level", "")),
            geometry=feature["geometry"],
            shape=geom,
            source_datum=str(props.get("source_datum", "wgs84")),
            source=str(props.get("source", path.name)),
        )
    return out


class Behaviour(StrEnum):
    """How a case's watch moves in the simulator."""

    roam = "roam"
    curfew = "curfew"
    wander = "wander"


@dataclass(frozen=True)
class UnitSpec:
    code: str
    name: str
    kind: str
    parent_code: str | None = None


@dataclass(frozen=True)
class UserSpec:
    username: str
    display_name: str
    role: str
    unit_code: str
    password: str


@dataclass(frozen=True)
class PersonSpec:
    full_name: str
    birth_date: date
    phone: str
    address: str


@dataclass(frozen=True)
class ZoneSpec:
    """A zone owned by ``unit_code``; (unit, name) is its natural key.

    Polygons reference a boundary by ``adcode``; circles have ``centre`` and ``radius_m``.
    """

    unit_code: str
    name: str
    kind: str
    adcode: str | None = None
    centre: tuple[float, float] | None = None
    radius_m: float | None = None
    purpose: str = ""
    address: str = ""


@dataclass(frozen=True)
class RuleSpec:
    """A rule of a case; (case, name) is its natural key (the name is kept in ``params``)."""

    name: str
    kind: str
    zone: ZoneSpec
    severity: str
    schedule: dict[str, Any] | None = None
    grace: dict[str, Any] = field(default_factory=lambda: dict(GRACE))


@dataclass(frozen=True)
class CaseSpec:
    case_number: str
    measure: str
    person: PersonSpec
    supervising_unit: str
    procuratorate_unit: str
    prosecutor: str
    period: tuple[date, date]
    home: tuple[float, float]
    home_adcode: str
    device_id: str
    behaviour: Behaviour
    rules: tuple[RuleSpec, ...]
    conditions: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Scenario:
    units: tuple[UnitSpec, ...]
    users: tuple[UserSpec, ...]
    cases: tuple[CaseSpec, ...]
    boundaries: dict[str, Boundary]

    @property
    def zones(self) -> list[ZoneSpec]:
        """Distinct zones of all rules, in first-use order."""
        seen: dict[tuple[str, str], ZoneSpec] = {}
        for case in self.cases:
            for rule in case.rules:
                seen.setdefault((rule.zone.unit_code, rule.zone.name), rule.zone)
        return list(seen.values())

    @property
    def device_ids(self) -> list[str]:
        return [c.device_id for c in self.cases]


UNITS = (
    UnitSpec("DY-PSB", "东营市公安局", "police"),
    UnitSpec("DY-PSB-DYQ", "东营市公安局东营分局", "police", "DY-PSB"),
    UnitSpec("DY-PSB-KLQ", "东营市公安局垦利分局", "police", "DY-PSB"),
    UnitSpec("DY-PSB-GRX", "广饶县公安局", "police", "DY-PSB"),
    UnitSpec("DY-PROC-DYQ", "东营市东营区人民检察院", "procuratorate"),
    UnitSpec("DY-NOTARY", "山东省东营市东信公证处", "notary"),
)

#: Demo logins; the passwords are printed by the seed and are for the local demo only.
USERS = (
    UserSpec("police.dyq", "王磊 (东营分局民警)", "police", "DY-PSB-DYQ", "demo-police-dyq"),
    UserSpec(
        "supervisor.dyq", "刘洋 (东营分局所长)", "supervisor", "DY-PSB-DYQ", "demo-supervisor"
    ),
    UserSpec("police.klq", "周涛 (垦利分局民警)", "police", "DY-PSB-KLQ", "demo-police-klq"),
    UserSpec("police.grx", "吴静 (广饶县公安局民警)", "police", "DY-PSB-GRX", "demo-police-grx"),
    UserSpec(
        "prosecutor.dyq", "郑敏 (东营区检察院)", "prosecutor", "DY-PROC-DYQ", "demo-prosecutor"
    ),
    UserSpec("notary.dy", "孙丽 (东信公证处)", "notary", "DY-NOTARY", "demo-notary"),
    UserSpec("admin", "系统管理员", "admin", "DY-PSB", "demo-admin"),
    UserSpec("auditor", "审计员", "auditor", "DY-PSB", "demo-auditor"),
)

#: The police unit of each county that has one in the demo, and the zone name used for it.
COUNTY_UNITS = {"370502": "DY-PSB-DYQ", "370505": "DY-PSB-KLQ", "370523": "DY-PSB-GRX"}


def county_zone(boundaries: dict[str, Boundary], adcode: str, unit_code: str) -> ZoneSpec:
    """The boundary of ``adcode`` as a polygon zone owned by ``unit_code``."""
    return ZoneSpec(unit_code, boundaries[adcode].name, "polygon", adcode=adcode)


def _main_cases(b: dict[str, Boundary]) -> list[CaseSpec]:
    period = (date(2026, 10, 15), date(2027, 10, 14))
    victim = ZoneSpec(
        "DY-PSB-DYQ",
        "DY-2026-001 被害人住所 300 m",
        "circle",
        centre=(118.5195, 37.4475),
        radius_m=300.0,
        purpose="victim_home",
        address="东营区文汇街道 东二路 锦华小区 (示例地址)",
    )
    home2 = (118.5480, 37.5870)
    home_zone = ZoneSpec(
        "DY-PSB-KLQ",
        "DY-2026-002 住所 150 m",
        "circle",
        centre=home2,
        radius_m=150.0,
        purpose="residence",
        address="垦利区垦利街道 民丰路 胜利小区 (示例地址)",
    )
    return [
        CaseSpec(
            "DY-2026-001",
            "bail",
            PersonSpec(
                "孙志强", date(1986, 3, 14), "13800000001", "东营区西城街道 济南路 (示例地址)"
            ),
            "DY-PSB-DYQ",
            "DY-PROC-DYQ",
            "prosecutor.dyq",
            period,
            home=(118.4936, 37.4617),
            home_adcode="370502",
            device_id="dw-0001",
            behaviour=Behaviour.roam,
            rules=(
                RuleSpec(
                    "不得离开东营区", "stay_inside", county_zone(b, "370502", "DY-PSB-DYQ"), "high"
                ),
                RuleSpec("不得接近被害人住所", "stay_outside", victim, "critical"),
            ),
            conditions={"summary": "未经批准不得离开东营区；不得接近被害人住所 300 米以内"},
        ),
        CaseSpec(
            "DY-2026-002",
            "residential_surveillance",
            PersonSpec("刘桂芳", date(1979, 8, 2), "13800000002", home_zone.address),
            "DY-PSB-KLQ",
            "DY-PROC-DYQ",
            "prosecutor.dyq",
            (date(2026, 11, 1), date(2027, 4, 30)),
            home=home2,
            home_adcode="370505",
            device_id="dw-0002",
            behaviour=Behaviour.curfew,
            rules=(
                RuleSpec(
                    "不得离开垦利区", "stay_inside", county_zone(b, "370505", "DY-PSB-KLQ"), "high"
                ),
                RuleSpec("22:00-06:00 在住所", "be_inside_during", home_zone, "high", CURFEW),
            ),
            conditions={"summary": "监视居住：不得离开垦利区；每日 22:00 至次日 06:00 须在住所"},
        ),
        CaseSpec(
            "DY-2026-003",
            "bail",
            PersonSpec("陈海涛", date(1991, 11, 23), "13800000003", "广饶县大码头镇 (示例地址)"),
            "DY-PSB-GRX",
            "DY-PROC-DYQ",
            "prosecutor.dyq",
            (date(2026, 9, 20), date(2027, 9, 19)),
            home=(118.3660, 37.0600),
            home_adcode="370523",
            device_id="dw-0003",
            behaviour=Behaviour.wander,
            rules=(
                RuleSpec(
                    "不得离开东营市",
                    "stay_inside",
                    county_zone(b, CITY_ADCODE, "DY-PSB-GRX"),
                    "high",
                ),
            ),
            conditions={"summary": "未经批准不得离开东营市"},
        ),
    ]


_SURNAMES = "王李张刘陈杨黄赵周吴徐孙马朱胡郭何高林罗"
_GIVEN = ("伟", "芳", "娜", "敏", "静", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明", "超")


def _extra_cases(b: dict[str, Boundary], count: int, seed: int) -> list[CaseSpec]:
    """Background cases DY-2026-004...: stay inside the home county, homes drawn inside it."""
    rng = np.random.default_rng(seed)
    counties = list(COUNTY_UNITS)
    homes: dict[str, list[tuple[float, float]]] = {}
    for k, adcode in enumerate(counties):
        need = (count + len(counties) - 1 - k) // len(counties)
        homes[adcode] = _points_inside(b[adcode].shape.buffer(-0.01), need, rng)
    out = []
    for n in range(count):
        adcode = counties[n % len(counties)]
        unit = COUNTY_UNITS[adcode]
        number = n + 4
        name = _SURNAMES[n % len(_SURNAMES)] + _GIVEN[(n // len(_SURNAMES)) % len(_GIVEN)]
        name += _GIVEN[(n * 7 + 3) % len(_GIVEN)]
        home = homes[adcode][n // len(counties)]
        out.append(
            CaseSpec(
                f"DY-2026-{number:03d}",
                "bail",
                PersonSpec(name, date(1970 + n % 30, 1 + n % 12, 1 + n % 28), "", "(示例)"),
                unit,
                "DY-PROC-DYQ",
                "prosecutor.dyq",
                (date(2026, 10, 1), date(2027, 9, 30)),
                home=home,
                home_adcode=adcode,
                device_id=f"dw-{number:04d}",
                behaviour=Behaviour.roam,
                rules=(
                    RuleSpec(
                        f"不得离开{b[adcode].name}",
                        "stay_inside",
                        county_zone(b, adcode, unit),
                        "high",
                    ),
                ),
                conditions={"summary": f"未经批准不得离开{b[adcode].name}"},
            )
        )
    return out


def _points_inside(
    geom: BaseGeometry, count: int, rng: np.random.Generator
) -> list[tuple[float, float]]:
    """``count`` random points inside ``geom`` (degrees), by rejection from its bounding box."""
    minx, miny, maxx, maxy = geom.bounds
    shapely.prepare(geom)
    found: list[tuple[float, float]] = []
    while len(found) < count:
        xs = rng.uniform(minx, maxx, size=max(64, 3 * count))
        ys = rng.uniform(miny, maxy, size=max(64, 3 * count))
        ok = shapely.contains_xy(geom, xs, ys)
        found.extend(
            (round(float(x), 6), round(float(y), 6)) for x, y in zip(xs[ok], ys[ok], strict=True)
        )
    return found[:count]


def build_scenario(boundaries: dict[str, Boundary], *, devices: int = 3, seed: int = 7) -> Scenario:
    """The demo scenario with ``devices`` watches (at least the three main cases)."""
    missing = {CITY_ADCODE, *COUNTY_UNITS} - boundaries.keys()
    if missing:
        raise ValueError(f"boundary file lacks adcodes {sorted(missing)}")
    cases = _main_cases(boundaries)
    cases += _extra_cases(boundaries, max(0, devices - len(cases)), seed)
    return Scenario(UNITS, USERS, tuple(cases), boundaries)


def zone_geometry(zone: ZoneSpec, boundaries: dict[str, Boundary]) -> BaseGeometry:
    """The zone as a shapely geometry in WGS84 degrees (a circle's centre point for circles)."""
    if zone.adcode is not None:
        return boundaries[zone.adcode].shape
    assert zone.centre is not None
    return Point(zone.centre)
