"""SQL of evaluation inside the ingest transaction: per-device locks, rule states, tracks,
protected persons' positions and device conditions. Locks are taken in device order."""

from __future__ import annotations

from store.alert_config import PERMIT_HAD_EFFECT

#: Serialise evaluation per device across ingesters ($1 device ids, sorted).
LOCK_DEVICES = """
SELECT pg_advisory_xact_lock(hashtext(d)) FROM unnest($1::text[]) AS d ORDER BY d
"""

#: Row versions (``xmin``) of the states of the cases $1, locked for this transaction.
SELECT_STATE_VERSIONS = """
SELECT case_id, rule_id, xmin::text::bigint AS v FROM geofence_state
WHERE case_id = ANY($1::bigint[]) ORDER BY case_id, rule_id FOR UPDATE
"""

#: States of the keys ($1 case, $2 rule) with their watermarks and row versions.
SELECT_STATES_BY_KEY = """
SELECT g.case_id, g.rule_id, g.state, g.watermark_ms, g.xmin::text::bigint AS v
FROM unnest($1::bigint[], $2::bigint[]) AS k(c, r)
JOIN geofence_state g ON g.case_id = k.c AND g.rule_id = k.r
"""

#: States from arrays ($1 case, $2 rule, $3 state json, $4 watermark ms); returns the new row
#: versions.
UPSERT_STATES = """
INSERT INTO geofence_state AS g (case_id, rule_id, state, watermark_ms, updated_at)
SELECT u.c, u.r, u.s, u.w, now()
FROM unnest($1::bigint[], $2::bigint[], $3::jsonb[], $4::bigint[]) AS u(c, r, s, w)
ORDER BY 1, 2
ON CONFLICT (case_id, rule_id) DO UPDATE SET state = EXCLUDED.state,
    watermark_ms = EXCLUDED.watermark_ms, updated_at = now()
RETURNING case_id, rule_id, xmin::text::bigint AS v
"""

#: Watermarks of existing states ($1 case, $2 rule, $3 watermark ms); returns the row versions.
UPDATE_WATERMARKS = """
UPDATE geofence_state AS g SET watermark_ms = u.w, updated_at = now()
FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS u(c, r, w)
WHERE g.case_id = u.c AND g.rule_id = u.r
RETURNING g.case_id, g.rule_id, g.xmin::text::bigint AS v
"""

#: Last in-order fix of devices $1.
SELECT_TRACKS = """
SELECT device_id, t_ms, seq, lon, lat, radius_m FROM geofence_tracks
WHERE device_id = ANY($1::text[])
"""

#: Tracks from arrays ($1 device, $2 t_ms, $3 seq, $4 lon, $5 lat, $6 radius).
UPSERT_TRACKS = """
INSERT INTO geofence_tracks AS t (device_id, t_ms, seq, lon, lat, radius_m)
SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::float8[], $5::float8[],
                     $6::float8[])
ORDER BY 1
ON CONFLICT (device_id) DO UPDATE SET t_ms = EXCLUDED.t_ms, seq = EXCLUDED.seq,
    lon = EXCLUDED.lon, lat = EXCLUDED.lat, radius_m = EXCLUDED.radius_m
WHERE EXCLUDED.t_ms >= t.t_ms
"""

#: Latest positions of devices $1 (protected persons).
SELECT_POSITIONS = """
SELECT device_id, last_fix_time, last_lon, last_lat, coalesce(last_acc, 50) AS last_acc, last_src,
       last_seen_at
FROM device_status WHERE device_id = ANY($1::text[]) AND last_fix_time IS NOT NULL
"""

#: Conditions of the cases $1 that are open, and every condition of the cases $2 (those with
#: observations that may open one), locked for this transaction.
SELECT_CONDITIONS = """
SELECT case_id, kind, device_id, open, episode_key, since, changed_at FROM device_conditions
WHERE case_id = ANY($1::bigint[]) AND (open OR case_id = ANY($2::bigint[]))
ORDER BY case_id, kind FOR UPDATE
"""

#: Conditions from arrays ($1 case, $2 kind, $3 device, $4 open, $5 key, $6 since, $7 changed).
UPSERT_CONDITIONS = """
INSERT INTO device_conditions AS d (case_id, kind, device_id, open, episode_key, since, changed_at)
SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::boolean[], $5::text[],
                     $6::timestamptz[], $7::timestamptz[])
ORDER BY 1, 2
ON CONFLICT (case_id, kind) DO UPDATE SET device_id = EXCLUDED.device_id, open = EXCLUDED.open,
    episode_key = EXCLUDED.episode_key, since = EXCLUDED.since, changed_at = EXCLUDED.changed_at
WHERE EXCLUDED.changed_at >= d.changed_at
"""

#: For each fix ($1 device, $2 fix time, $3 seq; its position ``i`` from 1 in the arrays), the
#: stored fix of the device just before it in (fix time, seq) order, no older than $4 seconds.
SELECT_PREVIOUS_FIXES = """
SELECT k.i, p.fix_time, p.lon, p.lat, p.acc::float8 AS acc
FROM unnest($1::text[], $2::timestamptz[], $3::bigint[]) WITH ORDINALITY AS k(device_id, t, seq, i)
CROSS JOIN LATERAL (
    SELECT p.fix_time, p.lon, p.lat, p.acc FROM pings p
    WHERE p.device_id = k.device_id AND (p.fix_time, p.seq) < (k.t, k.seq)
      AND p.fix_time >= k.t - make_interval(secs => $4)
    ORDER BY p.fix_time DESC, p.seq DESC LIMIT 1
) p
"""

#: Row versions (``xmin``) of the zones evaluation uses (as ``alert_config.SELECT_ZONES``): a
#: reload fetches and parses only the zones whose version moved.
SELECT_ZONE_VERSIONS = f"""
SELECT z.id, z.xmin::text::bigint AS v FROM zones z
WHERE z.id IN (SELECT zone_id FROM case_rules WHERE active AND zone_id IS NOT NULL
               UNION SELECT destination_zone_id FROM leave_permits
               WHERE {PERMIT_HAD_EFFECT} AND destination_zone_id IS NOT NULL)
"""

#: Zones $1 with their row versions.
SELECT_ZONES_BY_ID = """
SELECT z.id, z.name, z.kind, z.geometry, z.radius_m, z.width_m, z.xmin::text::bigint AS v
FROM zones z WHERE z.id = ANY($1::bigint[])
"""
