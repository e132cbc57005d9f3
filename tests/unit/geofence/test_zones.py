"""Zone input validation, datum conversion, antimeridian and relation tables."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
import shapely

from geofence.datum import Datum, from_wgs84
from geofence.errors import ZoneError
from geofence.geodesy import geodesic_distance_m
from geofence.models import Zone, ZoneKind
from geofence.relation import INSIDE, OUTSIDE, UNCERTAIN, CompiledArea, disk_radius
from geofence.zones import parse_zone
from tests.unit.geofence.helpers import LAT0, LON0

SQUARE = [[118.0, 37.0], [118.1, 37.0], [118.1, 37.1], [118.0, 37.1], [118.0, 37.0]]


def polygon(*rings: Sequence[Sequence[object]]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [list(r) for r in rings]}


@pytest.mark.parametrize(
    ("name", "geojson", "reason"),
    [
        ("bow-tie", polygon([[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]), "intersects itself"),
        ("not closed", polygon(SQUARE[:-1]), "not closed"),
        ("too few positions", polygon([[0, 0], [1, 1], [0, 0]]), "at least 4"),
        ("longitude out of range", polygon([[181, 0], [182, 0], [182, 1], [181, 0]]), "longitude"),
        ("latitude near the pole", polygon([[0, 86], [1, 86], [1, 87], [0, 86]]), "latitude"),
        ("not a number", polygon([[0, 0], ["a", 0], [1, 1], [0, 0]]), "numbers"),
        ("non-finite", polygon([[0, 0], [float("nan"), 0], [1, 1], [0, 0]]), "finite"),
        ("unsupported type", {"type": "GeometryCollection", "geometries": []}, "unsupported"),
        ("too large", polygon([[0, 0], [30, 0], [30, 1], [0, 0]]), "larger than"),
    ],
)
def test_refused_with_a_reason(name, geojson, reason):
    with pytest.raises(ZoneError, match=reason):
        parse_zone(1, geojson, datum="wgs84")


def test_unknown_datum_refused():
    with pytest.raises(ZoneError, match="unknown datum"):
        parse_zone(1, polygon(SQUARE), datum="osgb36")


def test_clockwise_ring_is_reoriented():
    zone = parse_zone(1, polygon(SQUARE[::-1]), datum="wgs84")
    assert zone.geometry.exterior.is_ccw


def test_spike_is_repaired_without_changing_the_area():
    spiky = [[0, 0], [2, 0], [2, 2], [1, 2], [1, 3], [1, 2], [0, 2], [0, 0]]
    zone = parse_zone(1, polygon(spiky), datum="wgs84")
    assert zone.geometry.is_valid
    assert zone.geometry.area == pytest.approx(4.0)


def test_gcj02_zone_is_moved_to_wgs84():
    lon, lat = from_wgs84(Datum.GCJ02, LON0, LAT0)
    zone = parse_zone(1, {"type": "Point", "coordinates": [lon, lat]}, datum="gcj02", radius_m=50)
    assert zone.kind is ZoneKind.CIRCLE
    assert zone.datum is Datum.GCJ02
    shift = float(geodesic_distance_m(lon, lat, LON0, LAT0))
    assert shift > 300  # the datum offset is real and large
    assert float(geodesic_distance_m(zone.geometry.x, zone.geometry.y, LON0, LAT0)) < 0.01


def test_circle_and_corridor_sizes_from_properties_and_checked():
    feature = {
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": [[118.0, 37.0], [118.05, 37.02]]},
        "properties": {"width_m": 200},
    }
    assert parse_zone(3, feature, datum="wgs84").width_m == 200
    with pytest.raises(ZoneError, match="radius_m"):
        parse_zone(4, {"type": "Point", "coordinates": [118.0, 37.0]}, datum="wgs84")
    with pytest.raises(ZoneError, match="two distinct"):
        parse_zone(
            5, {"type": "LineString", "coordinates": [[1, 1], [1, 1]]}, datum="wgs84", width_m=10
        )


def relate(zone: Zone, lon: float, lat: float, acc: float = 5.0) -> int:
    area = CompiledArea(zone)
    return int(area.relate(np.array([lon]), np.array([lat]), disk_radius(np.array([acc])))[0])


ACROSS_180 = [[179.9, -17.0], [-179.9, -17.0], [-179.9, -16.9], [179.9, -16.9], [179.9, -17.0]]
SPLIT_AT_180 = {
    "type": "MultiPolygon",
    "coordinates": [
        [[[179.9, -17.0], [180.0, -17.0], [180.0, -16.9], [179.9, -16.9], [179.9, -17.0]]],
        [[[-180.0, -17.0], [-179.9, -17.0], [-179.9, -16.9], [-180.0, -16.9], [-180.0, -17.0]]],
    ],
}


@pytest.mark.parametrize("geojson", [polygon(ACROSS_180), SPLIT_AT_180], ids=["wrapped", "split"])
@pytest.mark.parametrize(
    ("lon", "lat", "expected"),
    [
        (179.95, -16.95, INSIDE),
        (-179.95, -16.95, INSIDE),
        (180.0, -16.95, INSIDE),  # on the seam of the split form: not a boundary
        (-179.8, -16.95, OUTSIDE),
        (179.8, -16.95, OUTSIDE),
        (0.0, -16.95, OUTSIDE),
    ],
)
def test_antimeridian_zone(geojson, lon, lat, expected):
    zone = parse_zone(1, geojson, datum="wgs84")
    assert zone.geometry.geom_type == "Polygon"
    assert relate(zone, lon, lat) == expected


def test_multipolygon_with_a_hole_relations():
    outer = [[118.0, 37.0], [118.2, 37.0], [118.2, 37.2], [118.0, 37.2], [118.0, 37.0]]
    hole = [[118.05, 37.05], [118.05, 37.15], [118.15, 37.15], [118.15, 37.05], [118.05, 37.05]]
    other = [[119.0, 37.0], [119.1, 37.0], [119.1, 37.1], [119.0, 37.0]]
    zone = parse_zone(
        1, {"type": "MultiPolygon", "coordinates": [[outer, hole], [other]]}, datum="wgs84"
    )
    assert relate(zone, 118.02, 37.1) == INSIDE
    assert relate(zone, 118.1, 37.1) == OUTSIDE  # in the hole
    assert relate(zone, 118.05, 37.1) == UNCERTAIN  # on the hole's edge
    assert relate(zone, 119.07, 37.02) == INSIDE
    assert relate(zone, 118.5, 37.1) == OUTSIDE


def test_corridor_is_the_buffered_line():
    line = {"type": "LineString", "coordinates": [[118.0, 37.0], [118.1, 37.0]]}
    zone = parse_zone(1, line, datum="wgs84", width_m=200)
    deg_60m = 60 / 111_000
    assert relate(zone, 118.05, 37.0 + deg_60m) == INSIDE  # 60 m from the line, limit 100 m
    assert relate(zone, 118.05, 37.0 + 3 * deg_60m) == OUTSIDE
    assert relate(zone, 118.05, 37.0 + deg_60m, acc=30) == UNCERTAIN
    assert shapely.get_num_coordinates(zone.geometry) == 2
