"""Streamed exports of a track: CSV and GPX 1.1, written row by row from a server-side cursor so
a month of fixes never sits in memory."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

CSV_HEADER = (
    "time_local", "time_utc", "device_id", "seq", "lat", "lon", "acc_m", "src", "speed_mps",
    "heading_deg", "battery_pct", "received_utc",
)  # fmt: skip


def _num(value: float | int | None) -> str:
    return "" if value is None else repr(value) if isinstance(value, float) else str(value)


def csv_row(row: Mapping[str, Any], tz: ZoneInfo) -> tuple[str, ...]:
    """One fix as CSV fields (times ISO 8601; empty for unknown values)."""
    fix_time: datetime = row["fix_time"]
    return (
        fix_time.astimezone(tz).isoformat(), fix_time.isoformat(), row["device_id"],
        str(row["seq"]), _num(row["lat"]), _num(row["lon"]), _num(row["acc"]), row["src"],
        _num(row["spd"]), _num(row["hdg"]), _num(row["batt"]), row["received_at"].isoformat(),
    )  # fmt: skip


async def csv_lines(
    rows: AsyncIterator[list[Mapping[str, Any]]], tz: ZoneInfo
) -> AsyncIterator[str]:
    """CSV text in chunks, header first (RFC 4180, CRLF line ends)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    async for chunk in rows:
        writer.writerows(csv_row(r, tz) for r in chunk)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def gpx_head(case_number: str) -> str:
    name = escape(case_number)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<gpx version="1.1" creator="bailwatch" xmlns="http://www.topografix.com/GPX/1/1">\n'
        f"<trk><name>{name}</name><trkseg>\n"
    )


GPX_TAIL = "</trkseg></trk>\n</gpx>\n"


def gpx_point(row: Mapping[str, Any]) -> str:
    """One fix as a GPX ``trkpt`` (time in UTC; accuracy as horizontal dilution is not exact, so
    it goes to ``desc`` in metres)."""
    t = row["fix_time"].strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    acc = _num(row["acc"])
    return (
        f'<trkpt lat="{row["lat"]!r}" lon="{row["lon"]!r}"><time>{t}</time>'
        f"<src>{escape(row['src'])}</src><desc>acc_m={acc} seq={row['seq']}</desc></trkpt>\n"
    )


async def gpx_lines(
    rows: AsyncIterator[list[Mapping[str, Any]]], case_number: str
) -> AsyncIterator[str]:
    yield gpx_head(case_number)
    async for chunk in rows:
        yield "".join(gpx_point(r) for r in chunk)
    yield GPX_TAIL
