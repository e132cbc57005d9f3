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
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any

from evidence.canonical import Fix, float_text, int_text, string_text

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

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


def _fcell(v: float | None) -> str:
    return "" if v is None else repr(float(v))


def _icell(v: int | None) -> str:
    return "" if v is None else str(int(v))


class _LocalClock:
    """Epoch milliseconds as ISO 8601 text in a zone; the zone's offset is looked up once per
    quarter hour (every real offset change falls on one), not once per fix."""

    def __init__(self, zone: tzinfo) -> None:
        self._zone = zone
        self._offsets: dict[int, timezone] = {}

    def text(self, ms: int) -> str:
        at = _EPOCH + timedelta(milliseconds=ms)
        bucket = ms // 900_000
        offset = self._offsets.get(bucket)
        if offset is None:
            delta = at.astimezone(self._zone).utcoffset() or timedelta(0)
            offset = self._offsets[bucket] = timezone(delta)
        return at.astimezone(offset).isoformat(timespec="milliseconds")


def to_csv(fixes: Iterable[Fix], zone: tzinfo = UTC) -> bytes:
    """The fixes as UTF-8 CSV (RFC 4180: CRLF line ends; header, then one row per fix, in order)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow((*CSV_COLUMNS, "fix_time_local"))
    clock = _LocalClock(zone)
    writer.writerows(
        (
            f.device_id,
            int(f.fix_time_ms),
            int(f.seq),
            repr(float(f.lon)),
            repr(float(f.lat)),
            _fcell(f.acc),
            f.src,
            _fcell(f.alt),
            _fcell(f.spd),
            _fcell(f.hdg),
            _icell(f.batt),
            _icell(f.sat),
            clock.text(f.fix_time_ms),
        )
        for f in fixes
    )
    return out.getvalue().encode("utf-8")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is not a finite number")
    return value


def _opt(conv: Callable[[str], Any], text: str) -> Any:
    return None if text == "" else conv(text)


def _row_fix(cells: list[str], at: tuple[int, ...]) -> Fix:
    device_id, t, seq, lon, lat, acc, src, alt, spd, hdg, batt, sat = (cells[i] for i in at)
    return Fix(
        device_id=device_id,
        fix_time_ms=int(t),
        seq=int(seq),
        lon=_finite(lon),
        lat=_finite(lat),
        acc=_opt(_finite, acc),
        src=src,
        alt=_opt(_finite, alt),
        spd=_opt(_finite, spd),
        hdg=_opt(_finite, hdg),
        batt=_opt(int, batt),
        sat=_opt(int, sat),
    )


def from_csv(data: bytes, name: str) -> tuple[list[Fix], list[TrackProblem]]:
    """The fixes of a track CSV and, for every row that is not a valid fix, where and why.

    Columns are found by the header's names; blank lines are skipped.
    """
    fixes: list[Fix] = []
    problems: list[TrackProblem] = []
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return [], [TrackProblem(name, f"not UTF-8 at byte {exc.start}")]
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, [])
        missing = set(CSV_COLUMNS) - set(header)
        if missing:
            return [], [TrackProblem(name, f"missing columns {sorted(missing)}")]
        at = tuple(header.index(c) for c in CSV_COLUMNS)
        for cells in reader:
            if not cells:
                continue
            try:
                if len(cells) != len(header):
                    raise ValueError(f"{len(cells)} cells under a header of {len(header)}")
                fixes.append(_row_fix(cells, at))
            except (ValueError, TypeError) as exc:
                problems.append(TrackProblem(f"{name} line {reader.line_num}", f"not a fix: {exc}"))
    except csv.Error as exc:
        problems.append(TrackProblem(f"{name} line {reader.line_num}", f"not CSV: {exc}"))
    return fixes, problems


def to_geojson(fixes: Iterable[Fix]) -> bytes:
    """The fixes as a GeoJSON FeatureCollection of Points (WGS84 lon, lat), one feature a line.

    Written out directly (the same value texts as the canonical encoding) because a year's track
    is half a million features.
    """
    features = ",\n".join(
        '{"type":"Feature","geometry":{"type":"Point","coordinates":'
        f"[{float_text(f.lon)},{float_text(f.lat)}]}},"
        f'"properties":{{"device_id":{string_text(f.device_id)},"fix_time_ms":{int(f.fix_time_ms)},'
        f'"seq":{int(f.seq)},"acc":{float_text(f.acc)},"src":{string_text(f.src)},'
        f'"alt":{float_text(f.alt)},"spd":{float_text(f.spd)},"hdg":{float_text(f.hdg)},'
        f'"batt":{int_text(f.batt)},"sat":{int_text(f.sat)}}}}}'
        for f in fixes
    )
    return f'{{"type":"FeatureCollection","features":[\n{features}\n]}}\n'.encode()


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


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a finite number")


def from_geojson(data: bytes, name: str) -> tuple[list[Fix], list[TrackProblem]]:
    """The fixes of a track GeoJSON and, for every feature that is not a fix, where and why."""
    try:
        doc = json.loads(data.decode("utf-8"), parse_constant=_refuse_constant)
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
