"""SQL for ``device_status`` (latest, never moved backwards by late input) and its history."""

from __future__ import annotations

#: Columns of a device_status row as the writer supplies them (COPY order).
STATUS_COLUMNS = (
    "device_id", "last_seen_at", "last_fix_time", "last_lon", "last_lat", "last_acc", "last_src",
    "last_status_at", "battery_pct", "charging", "strap_closed", "signal", "firmware",
    "clock_skew_s",
)  # fmt: skip

#: Per-connection staging table for the status upsert (filled with COPY).
CREATE_STATUS_STAGE = """
CREATE TEMP TABLE IF NOT EXISTS device_status_stage (
    device_id text, last_seen_at timestamptz, last_fix_time timestamptz, last_lon float8,
    last_lat float8, last_acc real, last_src text, last_status_at timestamptz,
    battery_pct smallint, charging boolean, strap_closed boolean, signal smallint,
    firmware text, clock_skew_s float8
) ON COMMIT DELETE ROWS
"""

_ON_CONFLICT = """
ON CONFLICT (device_id) DO UPDATE SET
    last_seen_at = greatest(d.last_seen_at, EXCLUDED.last_seen_at),
    last_fix_time = greatest(d.last_fix_time, EXCLUDED.last_fix_time),
    last_lon = CASE WHEN d.last_fix_time IS NULL OR EXCLUDED.last_fix_time > d.last_fix_time
               THEN EXCLUDED.last_lon ELSE d.last_lon END,
    last_lat = CASE WHEN d.last_fix_time IS NULL OR EXCLUDED.last_fix_time > d.last_fix_time
               THEN EXCLUDED.last_lat ELSE d.last_lat END,
    last_acc = CASE WHEN d.last_fix_time IS NULL OR EXCLUDED.last_fix_time > d.last_fix_time
               THEN EXCLUDED.last_acc ELSE d.last_acc END,
    last_src = CASE WHEN d.last_fix_time IS NULL OR EXCLUDED.last_fix_time > d.last_fix_time
               THEN EXCLUDED.last_src ELSE d.last_src END,
    last_status_at = greatest(d.last_status_at, EXCLUDED.last_status_at),
    battery_pct = CASE WHEN d.last_status_at IS NULL OR EXCLUDED.last_status_at > d.last_status_at
                  THEN coalesce(EXCLUDED.battery_pct, d.battery_pct) ELSE d.battery_pct END,
    charging = CASE WHEN d.last_status_at IS NULL OR EXCLUDED.last_status_at > d.last_status_at
               THEN coalesce(EXCLUDED.charging, d.charging) ELSE d.charging END,
    strap_closed = CASE WHEN d.last_status_at IS NULL OR EXCLUDED.last_status_at > d.last_status_at
                   THEN coalesce(EXCLUDED.strap_closed, d.strap_closed) ELSE d.strap_closed END,
    signal = CASE WHEN d.last_status_at IS NULL OR EXCLUDED.last_status_at > d.last_status_at
             THEN coalesce(EXCLUDED.signal, d.signal) ELSE d.signal END,
    firmware = CASE WHEN d.last_status_at IS NULL OR EXCLUDED.last_status_at > d.last_status_at
               THEN coalesce(EXCLUDED.firmware, d.firmware) ELSE d.firmware END,
    clock_skew_s = coalesce(EXCLUDED.clock_skew_s, d.clock_skew_s),
    updated_at = now()
"""

#: One row per device from the staging table, sorted by device so that concurrent ingesters
#: lock rows in the same order. The position moves only to a newer fix time, the status fields
#: only to a newer status time; last_seen only forwards.
UPSERT_STATUS_FROM_STAGE = (
    """
INSERT INTO device_status AS d (
    device_id, last_seen_at, last_fix_time, last_lon, last_lat, last_acc, last_src,
    last_status_at, battery_pct, charging, strap_closed, signal, firmware, clock_skew_s,
    updated_at)
SELECT u.*, now() FROM device_status_stage u
ORDER BY u.device_id"""
    + _ON_CONFLICT
)

#: Status history from arrays ($1 device, $2 at, $3 received_at, $4 battery, $5 charging,
#: $6 strap_closed, $7 signal, $8 firmware); a redelivered status is stored once.
INSERT_STATUS_HISTORY = """
INSERT INTO device_status_history (device_id, at, received_at, battery_pct, charging,
                                   strap_closed, signal, firmware)
SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[], $4::smallint[],
                     $5::boolean[], $6::boolean[], $7::smallint[], $8::text[])
ORDER BY 1, 2
ON CONFLICT (device_id, at) DO NOTHING
"""

#: Events from arrays ($1 device, $2 at, $3 kind, $4 received_at, $5 source, $6 data).
INSERT_EVENTS = """
INSERT INTO device_events (device_id, at, kind, received_at, source, data)
SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::timestamptz[], $5::text[],
                     $6::jsonb[])
ORDER BY 1, 3, 2
ON CONFLICT (device_id, kind, at) DO NOTHING
"""

#: Latest status and position of one device.
SELECT_STATUS = "SELECT * FROM device_status WHERE device_id = $1"
