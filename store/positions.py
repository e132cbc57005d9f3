"""SQL for the latest position of each case the caller may see (``device_status`` of the case's
open defendant assignment; the ingester keeps it at the newest fix time), and for the verdict each
fix of a track had (the alerts that cite it, the windows its positional rules were in force)."""

from __future__ import annotations

from store.cases import visible
from store.pings import _iso

#: Cases the caller sees ($1 role, $2 unit, $3 uid), not released, id below $4, at most $5;
#: $6 supervising unit or NULL. Position columns are NULL until the watch's first fix.
LATEST_VISIBLE = f"""
SELECT c.id, c.case_number, c.status, c.supervising_unit_id, a.device_id, s.last_fix_time,
       s.last_lon, s.last_lat, s.last_acc, s.last_src, s.last_seen_at, s.battery_pct,
       s.charging, s.strap_closed
FROM cases c
LEFT JOIN device_assignments a
       ON a.case_id = c.id AND a.role = 'defendant' AND a.valid_to IS NULL
LEFT JOIN device_status s ON s.device_id = a.device_id
WHERE {visible(1, 2, 3)} AND c.status <> 'released' AND c.id < $4
  AND ($6::bigint IS NULL OR c.supervising_unit_id = $6)
ORDER BY c.id DESC LIMIT $5
"""

#: Fix keys ``(device_id, fix_time, seq)`` in [$2, $3) that case $1's alerts of kinds $4 cite,
#: with ``certain``: whether one of them is of a kind in $5 (a certain violation; the others say
#: "location uncertain"). Cited means in the alert's evidence, in the evidence of its opening or
#: of an ``evidence_added`` entry of its timeline (all of them, past the alert's cap of 1000), or
#: held for a re-alert after its resolution (``alert_realert_pending``).
SELECT_CITED_FIXES = """
WITH a AS (
    SELECT id, episode_root, kind = ANY($5::text[]) AS certain, evidence FROM alerts
    WHERE case_id = $1 AND kind = ANY($4::text[])
), ev AS (
    SELECT a.certain, a.evidence AS list FROM a
    UNION ALL
    SELECT a.certain, e.data->'evidence' FROM a
    JOIN alert_events e ON e.alert_id = a.id AND e.kind IN ('opened', 'evidence_added')
    UNION ALL
    SELECT a.certain, p.evidence FROM a JOIN alert_realert_pending p ON p.after_alert_id = a.id
), fix AS (
    SELECT ev.certain, x->>'device_id' AS device_id, (x->>'fix_time')::timestamptz AS fix_time,
           (x->>'seq')::bigint AS seq
    FROM ev CROSS JOIN LATERAL jsonb_array_elements(
        CASE WHEN jsonb_typeof(ev.list) = 'array' THEN ev.list ELSE '[]'::jsonb END) x
    WHERE x ? 'device_id' AND x ? 'fix_time' AND x ? 'seq'
)
SELECT device_id, fix_time, seq, bool_or(certain) AS certain FROM fix
WHERE fix_time >= $2 AND fix_time < $3
GROUP BY device_id, fix_time, seq
"""

#: When case $1's active rules of kinds $2 (the positional ones) were in force: from the later of
#: their creation and ``valid_from`` to ``valid_to`` (NULL: open). A fix outside all of them was
#: judged by no positional rule. A rule switched off (``active`` false) is left out: when it was
#: switched off is not recorded, so the fixes it judged show as not judged rather than as
#: compliant.
SELECT_JUDGED_WINDOWS = """
SELECT greatest(created_at, coalesce(valid_from, created_at)) AS start, valid_to AS stop
FROM case_rules WHERE case_id = $1 AND active AND kind = ANY($2::text[])
"""

#: The verdict (``api.tracks.analysis.Verdict`` by name) of the fix ``f`` of case $1, from the
#: CTE ``cited`` (``SELECT_CITED_FIXES``: $4 cited kinds, $5 certain kinds) and the windows of
#: ``SELECT_JUDGED_WINDOWS`` ($6 positional rule kinds) as one multirange. No join: the cited
#: keys are hashed once and the windows computed once, so the fixes stream in index order.
_VERDICT = """CASE
    WHEN (f.device_id, f.fix_time, f.seq) IN (SELECT device_id, fix_time, seq FROM cited
                                              WHERE certain) THEN 'violation'
    WHEN (f.device_id, f.fix_time, f.seq) IN (SELECT device_id, fix_time, seq FROM cited)
        THEN 'uncertain'
    WHEN f.fix_time <@ (
        SELECT coalesce(range_agg(tstzrange(greatest(created_at, coalesce(valid_from, created_at)),
                                            valid_to)), '{}'::tstzmultirange)
        FROM case_rules WHERE case_id = $1 AND active AND kind = ANY($6::text[])) THEN 'compliant'
    ELSE 'not_judged' END"""

#: The CSV export of case $1's fixes in [$2, $3) (``COPY .. TO STDOUT (FORMAT csv, HEADER)``):
#: ``store.pings.EXPORT_CSV``'s columns and the fix's ``verdict`` last ($4..$6: see ``_VERDICT``).
EXPORT_CSV = f"""
WITH cited AS MATERIALIZED ({SELECT_CITED_FIXES})
SELECT {_iso("f.fix_time")} AS time_local, {_iso("f.fix_time", utc=True)} AS time_utc,
       f.device_id, f.seq, f.lat, f.lon, f.acc AS acc_m, f.src, f.spd AS speed_mps,
       f.hdg AS heading_deg, f.batt AS battery_pct,
       {_iso("f.received_at", utc=True)} AS received_utc, {_VERDICT} AS verdict
FROM pings f
WHERE f.case_id = $1 AND f.fix_time >= $2 AND f.fix_time < $3
ORDER BY f.fix_time, f.seq
"""

#: The GPX export (``COPY .. TO STDOUT``, text): ``store.pings.EXPORT_GPX``'s ``trkpt`` elements
#: with the fix's verdict in ``type`` ($4..$6: see ``_VERDICT``).
EXPORT_GPX = f"""
WITH cited AS MATERIALIZED ({SELECT_CITED_FIXES})
SELECT '<trkpt lat="' || f.lat || '" lon="' || f.lon || '"><time>'
       || to_char(f.fix_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS') || 'Z</time>'
       || '<desc>acc_m=' || coalesce(f.acc::text, '') || ' seq=' || f.seq || '</desc><src>'
       || replace(replace(replace(replace(f.src, '&', '&amp;'), '<', '&lt;'), '>', '&gt;'),
                  '\\', '&#92;')
       || '</src><type>' || {_VERDICT} || '</type></trkpt>'
FROM pings f
WHERE f.case_id = $1 AND f.fix_time >= $2 AND f.fix_time < $3
ORDER BY f.fix_time, f.seq
"""
