"""Streamed exports of a track, CSV and GPX 1.1: the rows, each fix with its verdict, are
formatted by PostgreSQL (``store.positions.EXPORT_CSV`` / ``EXPORT_GPX`` through COPY) and framed
here, chunk by chunk, so a month of fixes never sits in memory and no Python object is made per
fix."""

from __future__ import annotations

from collections.abc import AsyncIterator
from xml.sax.saxutils import escape

from geofence.datum import Datum


async def csv_body(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The CSV as COPY writes it (RFC 4180 quoting, header first) with RFC 4180's CRLF line ends
    instead of COPY's LF. No field holds a line break (device ids and sources are validated on
    input; times and numbers have none), so every LF ends a row."""
    async for chunk in chunks:
        yield chunk.replace(b"\n", b"\r\n")


#: What the GPX metadata says of each datum (GPX 1.1 itself assumes WGS84).
DATUM_NOTES = {
    Datum.WGS84: "coordinates in WGS84",
    Datum.GCJ02: "coordinates in GCJ-02 (AMap/Gaode, Tencent), not WGS84",
    Datum.BD09: "coordinates in BD-09 (Baidu), not WGS84",
}


def gpx_head(case_number: str, datum: Datum = Datum.WGS84) -> bytes:
    """The document up to the first ``trkpt``; ``metadata`` names the coordinates' datum in
    ``desc`` (for people) and ``keywords`` (``datum=gcj02``, for programs)."""
    name = escape(case_number)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<gpx version="1.1" creator="bailwatch" xmlns="http://www.topografix.com/GPX/1/1">\n'
        f"<metadata><desc>{DATUM_NOTES[datum]}</desc><keywords>datum={datum.value}</keywords>"
        "</metadata>\n"
        f"<trk><name>{name}</name><trkseg>\n"
    ).encode()


GPX_TAIL = b"</trkseg></trk>\n</gpx>\n"


async def gpx_body(
    chunks: AsyncIterator[bytes], case_number: str, datum: Datum = Datum.WGS84
) -> AsyncIterator[bytes]:
    """A GPX 1.1 document with one track segment: the ``trkpt`` lines COPY writes, framed."""
    yield gpx_head(case_number, datum)
    async for chunk in chunks:
        yield chunk
    yield GPX_TAIL
