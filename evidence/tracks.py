"""The track files of a case file: CSV and GeoJSON, written and read back losslessly.

Both carry every sealed field of every fix (see ``evidence.canonical.Fix``): floats as ``repr``
text, absent values as an empty CSV cell or JSON ``null``. Reading a file back gives the very
``Fix`` values that were written, so their Merkle leaves, and so the day seals, can be recomputed
from either file. The CSV's ``fix_time_local`` column (ISO 8601 in the case's zone) is for people
and is not sealed.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from evidence.canonical import Fix

CSV_COLUMNS = (
    "device_id",
    "fix_time_ms",
    "seq",
    "lon",
    "lat",
    "acc",
    "src",
    "alt",
    "spd",
    "hdg",
    "batt",
    "sat",
)
_FLOATS = ("acc", "alt", "spd", "hdg")
_INTS = ("batt", "sat")


@dataclass(frozen=True, slots=True)
class TrackProblem:
    """A line or feature of a track file that could not be read as a fix."""

    where: str
    message: str


def _cell(v: object) -> str:
    return "" if v is None else repr(v)


def to_csv(fixes: Iterable[Fix], zone: tzinfo = UTC) -> bytes:
    """The fixes as UTF-8 CSV (header, then one row per fix, in the order given)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow((*CSV_COLUMNS, "fix_time_local"))
    for f in fixes:
        r = f.record()
        local = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=f.fix_time_ms)
        numbers = [_cell(r[c]) for c in CSV_COLUMNS if c not in ("device_id", "src")]
        writer.writerow(
            (
                f.device_id,
                *numbers[:5],
                f.src,
                *numbers[5:],
                local.astimezone(zone).isoformat(timespec="milliseconds"),
            )
        )
    return out.getvalue().encode("utf-8")


def _opt(conv: Callable[[str], Any], text: str) -> Any:
    return None if text == "" else conv(text)


def from_csv(data: bytes, name: str) -> tuple[list[Fix], list[TrackProblem]]:
    """The fixes of a track CSV and, for every row that is not a valid fix, where and why."""
    fixes: list[Fix] = []
    problems: list[TrackProblem] = []
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return [], [TrackProblem(name, f"not UTF-8 at byte {exc.start}")]
    reader = csv.DictReader(io.StringIO(text))
    missing = set(CSV_COLUMNS) - set(reader.fieldnames or ())
    if missing:
        return [], [TrackProblem(name, f"missing columns {sorted(missing)}")]
    for row in reader:
        where = f"{name} line {reader.line_num}"
        try:
            fixes.append(
                Fix(
                    device_id=row["device_id"],
                    fix_time_ms=int(row["fix_time_ms"]),
                    seq=int(row["seq"]),
                    lon=float(row["lon"]),
                    lat=float(row["lat"]),
                    acc=_opt(float, row["acc"]),
                    src=row["src"],
                    alt=_opt(float, row["alt"]),
                    spd=_opt(float, row["spd"]),
                    hdg=_opt(float, row["hdg"]),
                    batt=_opt(int, row["batt"]),
                    sat=_opt(int, row["sat"]),
                )
            )
        except (ValueError, TypeError) as exc:
            problems.append(TrackProblem(where, f"not a fix: {exc}"))
    return fixes, problems


def to_geojson(fixes: Iterable[Fix]) -> bytes:
    """The fixes as a GeoJSON FeatureCollection of Points (WGS84 lon, lat), one per fix."""
    features = []
    for f in fixes:
        r = f.record()
        props = {k: v for k, v in r.items() if k not in ("kind", "lon", "lat")}
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [r["lon"], r["lat"]]},
                "properties": props,
            }
        )
    doc = {"type": "FeatureCollection", "features": features}
    return json.dumps(doc, ensure_ascii=False, allow_nan=False, indent=0).encode("utf-8")


def _feature_fix(feature: Any) -> Fix:
    props = feature["properties"]
    lon, lat = feature["geometry"]["coordinates"]
    for k in ("lon", "lat"):
        v = lon if k == "lon" else lat
        if not isinstance(v, float):
            raise ValueError(f"{k} {v!r} is not a float")
    for k in _FLOATS:
        if props[k] is not None and not isinstance(props[k], float):
            raise ValueError(f"{k} {props[k]!r} is not a float")
    for k in (*_INTS, "fix_time_ms", "seq"):
        if props[k] is not None and (isinstance(props[k], bool) or not isinstance(props[k], int)):
            raise ValueError(f"{k} {props[k]!r} is not an integer")
    if not isinstance(props["device_id"], str) or not isinstance(props["src"], str):
        raise ValueError("device_id and src must be strings")
    return Fix(
        device_id=props["device_id"],
        fix_time_ms=props["fix_time_ms"],
        seq=props["seq"],
        lon=lon,
        lat=lat,
        acc=props["acc"],
        src=props["src"],
        alt=props["alt"],
        spd=props["spd"],
        hdg=props["hdg"],
        batt=props["batt"],
        sat=props["sat"],
    )


def from_geojson(data: bytes, name: str) -> tuple[list[Fix], list[TrackProblem]]:
    """The fixes of a track GeoJSON and, for every feature that is not a fix, where and why."""
    try:
        doc = json.loads(data.decode("utf-8"))
        features: Sequence[Any] = doc["features"]
    except (UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        return [], [TrackProblem(name, f"not a GeoJSON FeatureCollection: {exc}")]
    fixes: list[Fix] = []
    problems: list[TrackProblem] = []
    for i, feature in enumerate(features):
        try:
            fixes.append(_feature_fix(feature))
        except (ValueError, KeyError, TypeError) as exc:
            problems.append(TrackProblem(f"{name} feature {i}", f"not a fix: {exc}"))
    return fixes, problems
