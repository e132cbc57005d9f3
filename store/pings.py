"""SQL for ``pings``: the shared queries, identical on native partitions and TimescaleDB.

Writes go through a per-connection temporary staging table filled with COPY, then one
``INSERT .. ON CONFLICT DO NOTHING`` on the natural key ``(device_id, fix_time, seq)``, so a QoS 1
redelivery or a watch re-sending its buffer is stored once. The case a fix belongs to is resolved
in SQL from ``device_assignments`` at the fix's own time.
"""

from __future__ import annotations

#: Columns a writer supplies, in COPY order. ``case_id`` is resolved by the insert.
PING_COLUMNS = (
    "device_id", "fix_time", "seq", "received_at", "lon", "lat",
    "acc", "src", "alt", "spd", "hdg", "batt", "sat",
)  # fmt: skip

CREATE_STAGE = """
CREATE TEMP TABLE IF NOT EXISTS pings_stage (
    device_id text, fix_time timestamptz, seq bigint, received_at timestamptz,
    lon double precision, lat double precision, acc real, src text, alt real, spd real,
    hdg real, batt smallint, sat smallint
) ON COMMIT DELETE ROWS
"""

_CASE_AT_FIX_TIME = """
    (SELECT a.case_id FROM device_assignments a
      WHERE a.device_id = s.device_id AND a.valid_from <= s.fix_time
        AND (a.valid_to IS NULL OR s.fix_time < a.valid_to)
      ORDER BY a.valid_from DESC LIMIT 1)
"""

#: Move the staged batch into ``pings``; the command tag counts the new rows (not duplicates).
INSERT_FROM_STAGE = f"""
INSERT INTO pings (device_id, fix_time, seq, case_id, received_at, lon, lat, acc, src,
                   alt, spd, hdg, batt, sat)
SELECT s.device_id, s.fix_time, s.seq, {_CASE_AT_FIX_TIME}, s.received_at, s.lon, s.lat,
       s.acc, s.src, s.alt, s.spd, s.hdg, s.batt, s.sat
FROM pings_stage s
ORDER BY s.device_id, s.fix_time, s.seq
ON CONFLICT (device_id, fix_time, seq) DO NOTHING
"""

#: The same insert from arrays ($1..$13 in ``PING_COLUMNS`` order), for small batches and for
#: servers without COPY.
INSERT_ARRAYS = f"""
INSERT INTO pings (device_id, fix_time, seq, case_id, received_at, lon, lat, acc, src,
                   alt, spd, hdg, batt, sat)
SELECT s.device_id, s.fix_time, s.seq, {_CASE_AT_FIX_TIME}, s.received_at, s.lon, s.lat,
       s.acc, s.src, s.alt, s.spd, s.hdg, s.batt, s.sat
FROM unnest($1::text[], $2::timestamptz[], $3::bigint[], $4::timestamptz[],
            $5::float8[], $6::float8[], $7::real[], $8::text[], $9::real[], $10::real[],
            $11::real[], $12::smallint[], $13::smallint[])
     AS s(device_id, fix_time, seq, received_at, lon, lat, acc, src, alt, spd, hdg, batt, sat)
ON CONFLICT (device_id, fix_time, seq) DO NOTHING
RETURNING device_id, fix_time, seq, case_id
"""

#: Daily partitions covering [$1, $2] (UTC dates); a no-op under TimescaleDB.
ENSURE_PARTITIONS = "SELECT bw_ensure_ping_partitions($1::date, $2::date)"

#: Drop partitions older than $1 days; returns their names (none under TimescaleDB).
DROP_OLD_PARTITIONS = "SELECT * FROM bw_drop_ping_partitions($1::integer)"

#: 'native' or 'timescaledb'.
SELECT_STORAGE = "SELECT bw_pings_storage()"

#: A case's fixes in [$2, $3), in fix-time order.
SELECT_TRACK = """
SELECT device_id, fix_time, seq, received_at, lon, lat, acc, src, spd, hdg, batt
FROM pings
WHERE case_id = $1 AND fix_time >= $2 AND fix_time < $3
ORDER BY fix_time, seq
"""

#: Set the session time zone (an IANA name, $1) to the end of the transaction: ``to_char`` shows
#: local times and offsets in it.
SET_LOCAL_TIMEZONE = "SELECT set_config('TimeZone', $1, true)"


def _iso(local: str, utc: bool = False) -> str:
    """SQL text of the timestamptz expression ``local`` as Python's ``datetime.isoformat()``
    prints it: in the session's zone with its ``+HH:MM`` offset (``utc``: in UTC, "+00:00"),
    microseconds only when there are some."""
    if utc:
        text = f"""to_char({local} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '+00:00'"""
    else:
        text = f"""to_char({local}, 'YYYY-MM-DD"T"HH24:MI:SS.USTZH:TZM')"""
    return f"replace({text}, '.000000', '')"


#: ``SELECT_TRACK`` as the rows of the CSV export, for ``COPY .. TO STDOUT (FORMAT csv, HEADER)``:
#: the column names are the header; local times in the session's zone (``SET_LOCAL_TIMEZONE``),
#: numbers as PostgreSQL prints them (the shortest text that reads back as the stored value),
#: unknown values empty.
EXPORT_CSV = f"""
SELECT {_iso("f.fix_time")} AS time_local, {_iso("f.fix_time", utc=True)} AS time_utc,
       f.device_id, f.seq, f.lat, f.lon, f.acc AS acc_m, f.src, f.spd AS speed_mps,
       f.hdg AS heading_deg, f.batt AS battery_pct,
       {_iso("f.received_at", utc=True)} AS received_utc
FROM ({SELECT_TRACK}) f
ORDER BY f.fix_time, f.seq
"""

#: ``SELECT_TRACK`` as GPX 1.1 ``trkpt`` elements, one a row, for ``COPY .. TO STDOUT`` (text):
#: time in UTC to the millisecond, the accuracy radius (m) and sequence number in ``desc`` (GPX has
#: no exact field for them), the source in ``src``. XML's special characters in the source are
#: escaped, and a backslash is written as a character reference so COPY leaves every row as is.
EXPORT_GPX = f"""
SELECT '<trkpt lat="' || f.lat || '" lon="' || f.lon || '"><time>'
       || to_char(f.fix_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS') || 'Z</time>'
       || '<desc>acc_m=' || coalesce(f.acc::text, '') || ' seq=' || f.seq || '</desc><src>'
       || replace(replace(replace(replace(f.src, '&', '&amp;'), '<', '&lt;'), '>', '&gt;'),
                  '\\', '&#92;')
       || '</src></trkpt>'
FROM ({SELECT_TRACK}) f
ORDER BY f.fix_time, f.seq
"""

#: A device's hourly fix counts in [$2, $3).
SELECT_HOURLY_COUNTS = """
SELECT bucket, n FROM pings_hourly
WHERE device_id = $1 AND bucket >= $2 AND bucket < $3
ORDER BY bucket
"""

#: Fixes per hour for a case, bucketed with date_bin (identical on both storages).
SELECT_CASE_COVERAGE = """
SELECT date_bin(interval '1 hour', fix_time, timestamptz '2000-01-01 00:00:00+00') AS bucket,
       count(*) AS n
FROM pings
WHERE case_id = $1 AND fix_time >= $2 AND fix_time < $3
GROUP BY bucket ORDER BY bucket
"""

#: Alert evidence of case $1 as fix keys (``alerts.evidence``: [{device_id, fix_time, seq}]).
_EVIDENCE = """
    SELECT DISTINCT e->>'device_id' AS device_id, (e->>'fix_time')::timestamptz AS fix_time,
           (e->>'seq')::bigint AS seq
    FROM alerts a
    CROSS JOIN LATERAL jsonb_array_elements(
        CASE WHEN jsonb_typeof(a.evidence) = 'array' THEN a.evidence ELSE '[]'::jsonb END) e
    WHERE a.case_id = $1 AND e ? 'device_id' AND e ? 'fix_time' AND e ? 'seq'
"""

#: Fix keys ``(device_id, fix_time, seq)`` that case $1's alerts cite as evidence, within
#: [$2, $3). Few rows; the reader marks them in its arrays.
SELECT_EVIDENCE_KEYS = f"""
SELECT ev.device_id, ev.fix_time, ev.seq FROM ({_EVIDENCE}) ev
WHERE ev.fix_time >= $2 AND ev.fix_time < $3
"""

#: A case's fixes in [$2, $3) in (fix_time, seq, device_id) order, packed into one row so that
#: decoding creates no Python object per value: numeric columns are the concatenated big-endian
#: binary values (``timestamptz_send``: int8 microseconds since 2000-01-01 UTC; ``int8send``;
#: ``float8send``; ``float4send`` of ``acc``, 0 when unknown), read with ``numpy.frombuffer``;
#: the two text columns are joined with newlines, and ``n`` lets the reader check that no value
#: held one (else it reads ``SELECT_TRACK_TEXT``). All NULL when there is no fix. The rows are
#: sorted once in the subquery (by the covering index ``pings_case_track_idx``, no sort step);
#: the aggregates keep that order.
SELECT_TRACK_PACKED = r"""
SELECT count(*) AS n,
       string_agg(timestamptz_send(fix_time), '') AS t_us,
       string_agg(int8send(seq), '') AS seq,
       string_agg(float8send(lon), '') AS lon,
       string_agg(float8send(lat), '') AS lat,
       string_agg(float4send(coalesce(acc, 0)), '') AS acc,
       string_agg(device_id, E'\n') AS device_id,
       string_agg(src, E'\n') AS src
FROM (
    SELECT fix_time, seq, lon, lat, acc, device_id, src
    FROM pings
    WHERE case_id = $1 AND fix_time >= $2 AND fix_time < $3
    ORDER BY fix_time, seq, device_id
) f
"""

#: The text columns of ``SELECT_TRACK_PACKED`` as arrays, for the rare track whose values hold a
#: newline.
SELECT_TRACK_TEXT = """
SELECT coalesce(array_agg(device_id), '{}') AS device_id, coalesce(array_agg(src), '{}') AS src
FROM (
    SELECT device_id, src FROM pings
    WHERE case_id = $1 AND fix_time >= $2 AND fix_time < $3
    ORDER BY fix_time, seq, device_id
) f
"""

#: Delete a case's fixes (retention purge); returns the count.
DELETE_CASE_PINGS = """
WITH d AS (DELETE FROM pings WHERE case_id = $1 RETURNING 1) SELECT count(*) FROM d
"""
