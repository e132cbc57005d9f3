"""Positions served in the datum a client's map draws in: WGS84 (stored, the default), GCJ-02
(AMap/Gaode, Tencent) or BD-09 (Baidu). A WGS84 fix pasted into AMap or Baidu lands ~500 m off.

Pure: the conversions are ``geofence.datum``'s, vectorised over a block of fixes; accuracy radii
are metres on the ground and do not change. The streamed exports are converted block by block as
PostgreSQL's COPY writes them (``whole_lines`` first cuts the stream at row ends), so a month of
fixes still never sits in memory.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from typing import Annotated

import numpy as np
from fastapi import Query

from geofence.datum import Datum, FloatArray, from_wgs84

__all__ = [
    "Datum",
    "DatumQuery",
    "convert",
    "csv_in_datum",
    "gpx_in_datum",
    "gpx_rows_in_datum",
    "whole_lines",
]

DatumQuery = Annotated[
    Datum,
    Query(
        description=(
            "datum of the coordinates in the response: wgs84 (stored; GPS, Tianditu), gcj02 "
            "(AMap/Gaode, Tencent) or bd09 (Baidu); accuracy radii are unchanged"
        )
    ),
]

#: The CSV export's latitude and longitude columns (0-based; ``store.positions.EXPORT_CSV``):
#: time_local, time_utc, device_id, seq, lat, lon, ... The fields before them hold no comma
#: (ISO times, device ids matching ``[A-Za-z0-9_.-]``, integers), so a plain split finds them.
CSV_LAT, CSV_LON = 4, 5

#: The start of each GPX ``trkpt`` line the export writes.
_TRKPT = re.compile(rb'<trkpt lat="([^"]*)" lon="([^"]*)">')


def convert(
    datum: Datum, lon: Sequence[float] | FloatArray, lat: Sequence[float] | FloatArray
) -> tuple[FloatArray, FloatArray]:
    """WGS84 (lon, lat) degrees converted to ``datum``, as float64 arrays of the same length."""
    x = np.asarray(lon, dtype=np.float64)
    y = np.asarray(lat, dtype=np.float64)
    if datum is Datum.WGS84 or x.size == 0:
        return x, y
    return from_wgs84(datum, x, y)


def _text(values: FloatArray) -> list[bytes]:
    """Each value as the shortest text that reads back as the same double (as PostgreSQL
    prints them)."""
    return [repr(v).encode() for v in values.tolist()]


async def whole_lines(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The same bytes, re-cut so every block ends at a line end (a row of COPY's output); a
    trailing piece without a line end, if any, comes last as it is."""
    rest = b""
    async for chunk in chunks:
        data = rest + chunk
        cut = data.rfind(b"\n") + 1
        rest = data[cut:]
        if cut:
            yield data[:cut]
    if rest:
        yield rest


def csv_rows_in_datum(block: bytes, datum: Datum) -> bytes:
    """CSV rows (LF-ended, whole) with lat and lon converted from WGS84 to ``datum`` and the
    ``datum`` column appended."""
    suffix = b"," + datum.value.encode()
    if datum is Datum.WGS84:
        return block.replace(b"\n", suffix + b"\n")
    rows = [line.split(b",", CSV_LON + 1) for line in block.split(b"\n")[:-1]]
    lon, lat = convert(datum, [float(r[CSV_LON]) for r in rows], [float(r[CSV_LAT]) for r in rows])
    for row, x, y in zip(rows, _text(lon), _text(lat), strict=True):
        row[CSV_LON], row[CSV_LAT] = x, y
    return b"".join(b",".join(row) + suffix + b"\n" for row in rows)


async def csv_in_datum(chunks: AsyncIterator[bytes], datum: Datum) -> AsyncIterator[bytes]:
    """The CSV export (header first, LF line ends) with a last column ``datum`` and every row's
    lat/lon in ``datum``."""
    header = True
    async for block in whole_lines(chunks):
        if header:
            head, _, block = block.partition(b"\n")
            yield head + b",datum\n"
            header = False
            if not block:
                continue
        yield csv_rows_in_datum(block, datum)


def gpx_rows_in_datum(block: bytes, datum: Datum) -> bytes:
    """GPX ``trkpt`` lines with their lat/lon attributes converted from WGS84 to ``datum``."""
    if datum is Datum.WGS84:
        return block
    found = _TRKPT.findall(block)
    lon, lat = convert(datum, [float(x) for _, x in found], [float(y) for y, _ in found])
    points = iter(zip(_text(lat), _text(lon), strict=True))

    def replace(_: re.Match[bytes]) -> bytes:
        y, x = next(points)
        return b'<trkpt lat="' + y + b'" lon="' + x + b'">'

    return _TRKPT.sub(replace, block)


async def gpx_in_datum(chunks: AsyncIterator[bytes], datum: Datum) -> AsyncIterator[bytes]:
    """The export's ``trkpt`` lines with coordinates in ``datum``."""
    if datum is Datum.WGS84:
        async for chunk in chunks:
            yield chunk
        return
    async for block in whole_lines(chunks):
        yield gpx_rows_in_datum(block, datum)
