"""Checks of data/boundaries/dongying.geojson (built by data/boundaries/build.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import shapely
from pyproj import Geod
from shapely.geometry import MultiPolygon, Point, Polygon, shape
from shapely.geometry.base import BaseGeometry

BOUNDARIES = Path(__file__).resolve().parents[2] / "data" / "boundaries" / "dongying.geojson"
CITY = "370500"
COUNTIES = {
    "370502": "东营区",
    "370503": "河口区",
    "370505": "垦利区",
    "370522": "利津县",
    "370523": "广饶县",
}
# Approximate seat of the Dongying municipal government (WGS84), in 东营区; not a surveyed point.
GOVERNMENT = Point(118.674, 37.434)
# Binzhou city centre, the neighbouring prefecture to the west: outside Dongying.
BINZHOU = Point(117.97, 37.38)


@pytest.fixture(scope="module")
def features() -> dict[str, tuple[dict[str, object], BaseGeometry]]:
    collection = json.loads(BOUNDARIES.read_text(encoding="utf-8"))
    assert collection["type"] == "FeatureCollection"
    return {
        f["properties"]["adcode"]: (f["properties"], shape(f["geometry"]))
        for f in collection["features"]
    }


def test_six_areas_with_properties(features) -> None:
    assert set(features) == {CITY, *COUNTIES}
    for adcode, (props, geom) in features.items():
        assert props["datum"] == "wgs84"
        assert props["source_datum"] == "gcj02"
        assert props["level"] == ("city" if adcode == CITY else "county")
        assert props["name"] == ("东营市" if adcode == CITY else COUNTIES[adcode])
        assert isinstance(props["name_en"], str)
        assert props["name_en"]
        assert props["vertex_count"] == shapely.get_num_coordinates(geom)


def test_valid_polygons_in_the_dongying_area(features) -> None:
    for _, geom in features.values():
        assert isinstance(geom, Polygon | MultiPolygon)
        assert geom.is_valid
        min_lon, min_lat, max_lon, max_lat = geom.bounds
        assert 118.0 <= min_lon < max_lon <= 119.5
        assert 36.9 <= min_lat < max_lat <= 38.2


def test_counties_lie_within_the_city(features) -> None:
    city = features[CITY][1]
    for adcode in COUNTIES:
        county = features[adcode][1]
        outside = county.difference(city).area / county.area
        assert outside < 1e-4, adcode


def test_counties_cover_the_city(features) -> None:
    city = features[CITY][1]
    union = shapely.union_all([features[adcode][1] for adcode in COUNTIES])
    assert union.symmetric_difference(city).area / city.area < 0.01


def test_city_is_real_sized(features) -> None:
    city = features[CITY][1]
    # The full, unsimplified Amap boundary has 1,485 coordinates (closing vertices included):
    # just under the ~1,500 asked for; no vertices are invented to reach it.
    assert shapely.get_num_coordinates(city) >= 1_480
    area_km2 = abs(Geod(ellps="WGS84").geometry_area_perimeter(city)[0]) / 1e6
    assert 7_000 < area_km2 < 9_000  # 7,853 km² of land in this data (the sea is excluded)


def test_known_points(features) -> None:
    assert features[CITY][1].contains(GOVERNMENT)
    assert features["370502"][1].contains(GOVERNMENT)
    for adcode in set(COUNTIES) - {"370502"}:
        assert not features[adcode][1].contains(GOVERNMENT)
    assert not features[CITY][1].contains(BINZHOU)


def test_file_is_small() -> None:
    assert BOUNDARIES.stat().st_size < 2_000_000
