"""Tracks and latest positions in the datum of a Chinese web map: the streamed CSV/GPX rewriting
(any cut of the stream, coordinates exactly ``geofence.datum``'s, every other byte unchanged) and
the published reference points the datum module is tested against."""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
from collections.abc import AsyncIterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.tracks import datums, exports
from api.tracks.datums import Datum
from geofence import datum as geodatum

#: (lon, lat) WGS84 and the same point in GCJ-02 / BD-09, from tests/unit/test_datum.py's
#: references (eviltransform "shanghai"; coordtransform's (116.404, 39.915) in BD-09).
SHANGHAI_WGS, SHANGHAI_GCJ = (121.5272106, 31.1774276), (121.531541859215, 31.17530398364597)
BEIJING_WGS, BEIJING_BD = (116.404, 39.915), (116.41662724378733, 39.922699552216216)

HEADER = (
    b"time_local,time_utc,device_id,seq,lat,lon,acc_m,src,speed_mps,heading_deg,battery_pct,"
    b"received_utc,verdict\n"
)


def csv_row(i: int, lon: float, lat: float) -> bytes:
    return (
        f"2026-11-01T08:00:{i % 60:02d}+08:00,2026-11-01T00:00:{i % 60:02d}+00:00,W-{i}.a_b,{i},"
        f"{lat!r},{lon!r},8,gnss,,,,2026-11-01T00:00:01+00:00,compliant\n"
    ).encode()


def gpx_row(i: int, lon: float, lat: float) -> bytes:
    return (
        f'<trkpt lat="{lat!r}" lon="{lon!r}"><time>2026-11-01T00:00:{i % 60:02d}.000Z</time>'
        f"<desc>acc_m=8 seq={i}</desc><src>gnss</src><type>compliant</type></trkpt>\n"
    ).encode()


async def _stream(parts: list[bytes]) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def _collect(stream: AsyncIterator[bytes]) -> bytes:
    async def run() -> bytes:
        return b"".join([chunk async for chunk in stream])

    return asyncio.run(run())


def _cut(data: bytes, cuts: list[int]) -> list[bytes]:
    """``data`` cut at the given offsets (sorted, deduplicated, clipped)."""
    points = sorted({min(c, len(data)) for c in cuts})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges)]


china = st.tuples(st.floats(73.0, 135.0), st.floats(18.0, 53.0))
points = st.lists(china, min_size=1, max_size=30)
cuts = st.lists(st.integers(0, 5000), max_size=12)


@pytest.mark.parametrize(
    ("d", "wgs", "expected"),
    [(Datum.GCJ02, SHANGHAI_WGS, SHANGHAI_GCJ), (Datum.BD09, BEIJING_WGS, BEIJING_BD)],
)
def test_known_points_in_csv_gpx_and_convert(
    d: Datum, wgs: tuple[float, float], expected: tuple[float, float]
) -> None:
    lon, lat = datums.convert(d, [wgs[0]], [wgs[1]])
    assert (lon[0], lat[0]) == pytest.approx(expected, abs=1e-8)  # ~1 mm
    text = _collect(datums.csv_in_datum(_stream([HEADER + csv_row(1, *wgs)]), d)).decode()
    (row,) = csv.DictReader(io.StringIO(text))
    assert (float(row["lon"]), float(row["lat"])) == pytest.approx(expected, abs=1e-8)
    assert row["datum"] == d.value
    assert row["acc_m"] == "8"  # accuracy radii are metres on the ground: unchanged
    out = datums.gpx_rows_in_datum(gpx_row(1, *wgs), d)
    assert out.startswith(f'<trkpt lat="{float(lat[0])!r}" lon="{float(lon[0])!r}">'.encode())


@given(points, cuts, st.sampled_from(list(Datum)))
def test_csv_rows_are_converted_exactly_for_any_cut_of_the_stream(
    pts: list[tuple[float, float]], at: list[int], d: Datum
) -> None:
    body = HEADER + b"".join(csv_row(i, lon, lat) for i, (lon, lat) in enumerate(pts))
    text = _collect(datums.csv_in_datum(_stream(_cut(body, at)), d)).decode()
    original = list(csv.DictReader(io.StringIO(body.decode())))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == len(pts)
    for before, after, (lon, lat) in zip(original, rows, pts, strict=True):
        want = geodatum.from_wgs84(d, lon, lat)
        assert (float(after["lon"]), float(after["lat"])) == want  # bit for bit
        assert after.pop("datum") == d.value
        assert {k: v for k, v in after.items() if k not in ("lon", "lat")} == {
            k: v for k, v in before.items() if k not in ("lon", "lat")
        }


@given(points, cuts, st.sampled_from(list(Datum)))
def test_gpx_rows_are_converted_exactly_for_any_cut_of_the_stream(
    pts: list[tuple[float, float]], at: list[int], d: Datum
) -> None:
    body = b"".join(gpx_row(i, lon, lat) for i, (lon, lat) in enumerate(pts))
    out = _collect(datums.gpx_in_datum(_stream(_cut(body, at)), d))
    want = b"".join(
        gpx_row(i, *geodatum.from_wgs84(d, lon, lat)) for i, (lon, lat) in enumerate(pts)
    )
    assert out == want


@given(st.binary(max_size=300), cuts)
def test_whole_lines_keeps_every_byte_and_cuts_only_at_line_ends(
    data: bytes, at: list[int]
) -> None:
    blocks = _collect_list(datums.whole_lines(_stream(_cut(data, at))))
    assert b"".join(blocks) == data
    assert all(b.endswith(b"\n") for b in blocks[:-1])
    assert all(b for b in blocks)


def _collect_list(stream: AsyncIterator[bytes]) -> list[bytes]:
    async def run() -> list[bytes]:
        return [chunk async for chunk in stream]

    return asyncio.run(run())


def test_empty_csv_export_keeps_its_header_with_the_datum_column() -> None:
    text = _collect(datums.csv_in_datum(_stream([HEADER]), Datum.GCJ02))
    assert text == HEADER[:-1] + b",datum\n"


@pytest.mark.parametrize("d", list(Datum))
def test_gpx_metadata_names_the_datum(d: Datum) -> None:
    head = exports.gpx_head("A<1>", d).decode()
    assert f"<keywords>datum={d.value}</keywords>" in head
    assert "<name>A&lt;1&gt;</name>" in head
    assert head.index("<metadata>") < head.index("<trk>")
