"""Geofence engine benchmark: ``python -m bench.geofence``.

10,000 devices (one case each) with 1-3 rules: every case must stay inside the city (the Dongying
boundary from ``data/boundaries/dongying.geojson`` when present, else a generated 1,500-vertex
polygon of the same size); half must stay out of a 100-500 m circle (a victim's home, 2-9 km from
theirs); a fifth must stay out of one of five 4 km corridors 200 m wide. 1,000,000 fixes (GNSS,
Wi-Fi and cell-tower accuracies mixed, a few devices living near the city line) are evaluated in
batches of 1,000.

The baseline is ``geofence.reference.ReferenceEngine`` (same semantics, one fix and one rule at a
time with scalar shapely/pyproj calls), timed on the first 20,000 fixes only so the run stays short;
on that subset both produce the same events, which the bench checks. Batches are built in memory
before timing. The last line is one JSON object.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from geofence.batch import FixBatch
from geofence.engine import GeofenceEngine
from geofence.errors import ZoneError
from geofence.models import Fix, Grace, Rule, RuleKind, Zone, utc_from_ms
from geofence.reference import ReferenceEngine
from geofence.zones import parse_zone

DEVICES = 10_000
FIXES = 1_000_000
BATCH = 1_000
BASELINE_FIXES = 20_000
CENTRE = (118.58, 37.45)
RADIUS_DEG = 0.42
BOUNDARY = Path("data/boundaries/dongying.geojson")
T0_MS = 1_714_960_800_000  # 2024-05-06T02:00Z
INTERVAL_MS = 30_000


def _generated_city(rng: np.random.Generator) -> dict[str, Any]:
    theta = np.linspace(0.0, 2.0 * np.pi, 1500, endpoint=False)
    r = RADIUS_DEG * (
        1.0
        + 0.15 * np.sin(3 * theta)
        + 0.08 * np.sin(11 * theta + 1.0)
        + 0.01 * rng.standard_normal(theta.size)
    )
    lon = CENTRE[0] + r * np.cos(theta) / np.cos(np.radians(CENTRE[1]))
    lat = CENTRE[1] + r * np.sin(theta)
    ring = np.column_stack((lon, lat))
    return {"type": "Polygon", "coordinates": [np.vstack((ring, ring[:1])).tolist()]}


def city_zone(rng: np.random.Generator) -> tuple[Zone, str]:
    """The city zone and where it came from."""
    if BOUNDARY.exists():
        data = json.loads(BOUNDARY.read_text(encoding="utf-8"))
        features = data.get("features", [data])
        for feature in features:
            try:
                return parse_zone(1, feature, datum="wgs84", name="city"), str(BOUNDARY)
            except ZoneError:
                continue
    return parse_zone(1, _generated_city(rng), datum="wgs84", name="city"), "generated"


def build(rng: np.random.Generator) -> tuple[list[Rule], list[Zone], np.ndarray, np.ndarray]:
    """Rules and zones for all cases, and each device's home (lon, lat)."""
    city, _ = city_zone(rng)
    area = city.geometry
    minx, miny, maxx, maxy = area.bounds
    homes: list[tuple[float, float]] = []
    while len(homes) < DEVICES:
        cand = np.column_stack(
            (rng.uniform(minx, maxx, 4 * DEVICES), rng.uniform(miny, maxy, 4 * DEVICES))
        )
        ok = shapely.contains_xy(area, cand[:, 0], cand[:, 1])
        homes.extend(map(tuple, cand[ok][: DEVICES - len(homes)]))
    home = np.asarray(homes)
    # 2% of devices live on the city line, so that violations and uncertainty happen.
    edge = rng.choice(DEVICES, DEVICES // 50, replace=False)
    boundary_pts = shapely.line_interpolate_point(
        area.exterior if area.geom_type == "Polygon" else area.geoms[0].exterior,
        rng.uniform(0, 1, edge.size),
        normalized=True,
    )
    home[edge] = shapely.get_coordinates(boundary_pts)
    zones: list[Zone] = [city]
    for k in range(5):
        lon, lat = home[k * 997]
        line = {
            "type": "LineString",
            "coordinates": [[lon - 0.02, lat - 0.01], [lon, lat + 0.005], [lon + 0.025, lat]],
        }
        zones.append(parse_zone(10 + k, line, datum="wgs84", width_m=200.0))
    grace = Grace(2, 0.0, 2, 0.0)
    rules: list[Rule] = []
    for case in range(DEVICES):
        rules.append(Rule(1, case, RuleKind.STAY_INSIDE, 1, grace))
        if case % 2 == 0:
            bearing, dist = rng.uniform(0, 2 * np.pi), rng.uniform(0.02, 0.08)
            lon, lat = home[case] + dist * np.array([np.cos(bearing), np.sin(bearing)])
            zone_id = 1000 + case
            zones.append(
                parse_zone(
                    zone_id,
                    {"type": "Point", "coordinates": [lon, lat]},
                    datum="wgs84",
                    radius_m=float(rng.uniform(100, 500)),
                )
            )
            rules.append(Rule(2, case, RuleKind.STAY_OUTSIDE, zone_id, Grace(1, 0.0, 2, 0.0)))
        if case % 5 == 0:
            rules.append(Rule(3, case, RuleKind.STAY_OUTSIDE, 10 + case % 5, grace))
    return rules, zones, home[:, 0], home[:, 1]


def batches(rng: np.random.Generator, home_lon: np.ndarray, home_lat: np.ndarray) -> list[FixBatch]:
    """1,000,000 fixes in batches of 1,000, each device reporting every 30 s around its home."""
    names = np.array([f"w{i}" for i in range(DEVICES)], dtype=object)
    out = []
    per_round = DEVICES // BATCH
    walk_lon = home_lon.copy()
    walk_lat = home_lat.copy()
    for b in range(FIXES // BATCH):
        rnd, part = divmod(b, per_round)
        dev = np.arange(part * BATCH, (part + 1) * BATCH)
        walk_lon[dev] += rng.normal(0, 0.0004, BATCH)
        walk_lat[dev] += rng.normal(0, 0.0003, BATCH)
        walk_lon[dev] += 0.05 * (home_lon[dev] - walk_lon[dev])
        walk_lat[dev] += 0.05 * (home_lat[dev] - walk_lat[dev])
        src = rng.random(BATCH)
        acc = np.where(
            src < 0.85,
            rng.uniform(5, 25, BATCH),
            np.where(src < 0.95, rng.uniform(20, 80, BATCH), rng.uniform(300, 1500, BATCH)),
        )
        t = T0_MS + rnd * INTERVAL_MS + rng.integers(0, INTERVAL_MS, BATCH)
        out.append(
            FixBatch(
                names[dev],
                dev.astype(np.int64),
                t.astype(np.int64),
                np.full(BATCH, rnd, dtype=np.int64),
                walk_lon[dev].copy(),
                walk_lat[dev].copy(),
                acc,
            )
        )
    return out


def to_fixes(batch: FixBatch) -> list[Fix]:
    """The same rows as ``Fix`` values (for the per-fix baseline)."""
    return [
        Fix(
            str(batch.device_id[i]),
            int(batch.case_id[i]),
            utc_from_ms(int(batch.t_ms[i])),
            int(batch.seq[i]),
            float(batch.lon[i]),
            float(batch.lat[i]),
            float(batch.acc[i]),
            "gnss",
            utc_from_ms(int(batch.t_ms[i])),
        )
        for i in range(len(batch))
    ]


def main() -> None:
    rng = np.random.default_rng(20240506)
    started = time.perf_counter()
    _, source = city_zone(np.random.default_rng(1))
    rules, zones, home_lon, home_lat = build(rng)
    data = batches(rng, home_lon, home_lat)
    city_vertices = shapely.get_num_coordinates(zones[0].geometry)
    print(
        f"city boundary: {source}, {city_vertices} vertices; {len(zones)} zones, "
        f"{len(rules)} rules, {DEVICES} devices; data built in "
        f"{time.perf_counter() - started:.1f} s"
    )

    engine = GeofenceEngine()
    t = time.perf_counter()
    engine.set_rules(rules, zones)
    print(f"rules compiled in {time.perf_counter() - t:.2f} s")

    evaluations = events = late = 0
    t, cpu = time.perf_counter(), time.process_time()
    for batch in data:
        result = engine.evaluate(batch)
        evaluations += result.evaluations
        events += len(result.events)
        late += result.late_pairs
    elapsed, cpu_s = time.perf_counter() - t, time.process_time() - cpu
    fixes_per_s = FIXES / elapsed
    evals_per_s = evaluations / elapsed
    print(
        f"engine: {FIXES} fixes, {evaluations} fix-rule evaluations in {elapsed:.2f} s: "
        f"{fixes_per_s:,.0f} fixes/s, {evals_per_s:,.0f} fix-rule evaluations/s, "
        f"{events} events; CPU {cpu_s:.2f} s ({FIXES / cpu_s:,.0f} fixes per CPU second: "
        "wall time above it is time other processes took from this one)"
    )

    subset = data[: BASELINE_FIXES // BATCH]
    as_fixes = [to_fixes(b) for b in subset]
    reference = ReferenceEngine()
    reference.set_rules(rules, zones)
    t = time.perf_counter()
    expected = [e for fixes in as_fixes for e in reference.evaluate(fixes)]
    base_elapsed = time.perf_counter() - t
    baseline_per_s = BASELINE_FIXES / base_elapsed
    check = GeofenceEngine()
    check.set_rules(rules, zones)
    got = [e for b in subset for e in check.evaluate(b).events]
    same = sorted(e.key for e in got) == sorted(e.key for e in expected)
    print(
        f"baseline (per-fix loop, first {BASELINE_FIXES} fixes): {base_elapsed:.2f} s, "
        f"{baseline_per_s:,.0f} fixes/s; same events as the engine on that subset: {same} "
        f"({len(expected)} events)"
    )
    speedup = fixes_per_s / baseline_per_s
    print(f"speedup: {speedup:.1f}x")
    print(
        json.dumps(
            {
                "fixes_per_s": round(fixes_per_s),
                "baseline_fixes_per_s": round(baseline_per_s),
                "speedup": round(speedup, 1),
                "fix_rule_evals_per_s": round(evals_per_s),
                "fixes_per_cpu_s": round(FIXES / cpu_s),
            }
        )
    )


if __name__ == "__main__":
    main()
