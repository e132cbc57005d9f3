"""SQL for the latest position of each case the caller may see (``device_status`` of the case's
open defendant assignment; the ingester keeps it at the newest fix time)."""

from __future__ import annotations

from store.cases import visible

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
